// Every bad input is a FlagError naming the flag, the value and what is expected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagError } from '../../src/errors.js';
import { parseFlags } from '../../src/cmd/options/index.js';

const PEERS = ['--peer-router-ips=192.0.2.1,192.0.2.2', '--peer-router-asns=65001,65002'];

/** Asserts argv is rejected with a FlagError about `flag` / `value` whose message says what is expected. */
function rejects(argv: string[], flag: string, value: string, expected: RegExp): void {
  assert.throws(
    () => parseFlags(argv),
    (err: unknown) => {
      assert.ok(err instanceof FlagError, `FlagError for ${argv.join(' ')}, got ${String(err)}`);
      assert.equal(err.code, 'KR_ERR_FLAG');
      assert.equal(err.context.field, flag, argv.join(' '));
      assert.equal(err.context.value, value, argv.join(' '));
      if (flag !== '(argument)') assert.ok(err.message.includes(flag), `message names the flag: ${err.message}`);
      if (value !== '') assert.ok(err.message.includes(`"${value}"`), `message names the value: ${err.message}`);
      assert.match(err.message, expected);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    },
  );
}

describe('bad input', () => {
  it('unknown flags', () => {
    rejects(['--no-such-flag'], '--no-such-flag', '', /unknown flag: --no-such-flag: expected one of the flags/);
    rejects(['--no-such-flag=3'], '--no-such-flag', '3', /unknown flag/);
    rejects(['-x'], '-x', '', /unknown flag: -x/);
    rejects(['--Kubeconfig=/a'], '--Kubeconfig', '/a', /unknown flag/);
  });

  it('stray positional arguments (kube-router v2.11 rejects them)', () => {
    rejects(['stray'], '(argument)', 'stray', /unexpected argument "stray"/);
    rejects(['--run-router', 'false'], '--run-router', 'false', /after bool flag --run-router: .* --run-router=false/);
    rejects(['--run-router', 'x'], '(argument)', 'x', /takes flags only/);
    rejects(['--', 'x'], '(argument)', 'x', /unexpected argument/);
  });

  it('missing value after a non-bool flag', () => {
    rejects(['--kubeconfig'], '--kubeconfig', '', /needs an argument/);
    rejects(['--ipvs-sync-period'], '--ipvs-sync-period', '', /needs an argument.*--ipvs-sync-period=5m/);
    rejects(['-v'], '-v', '', /needs an argument/);
    rejects(['--master', '--kubeconfig=/a'], '--master', '', /needs an argument/);
  });

  it('bad bools', () => {
    rejects(['--run-router=maybe'], '--run-router', 'maybe', /boolean/);
    rejects(['--run-router=yes'], '--run-router', 'yes', /boolean/);
    rejects(['-h=2'], '--help', '2', /boolean/);
  });

  it('--cluster-asn not a number or outside the private ranges', () => {
    const expected = /64512-65535 or 4200000000-4294967294/;
    rejects(['--cluster-asn=abc'], '--cluster-asn', 'abc', expected);
    rejects(['--cluster-asn=-1'], '--cluster-asn', '-1', expected);
    rejects(['--cluster-asn=100'], '--cluster-asn', '100', expected);
    rejects(['--cluster-asn=64511'], '--cluster-asn', '64511', expected);
    rejects(['--cluster-asn=65536'], '--cluster-asn', '65536', expected);
    rejects(['--cluster-asn=4199999999'], '--cluster-asn', '4199999999', expected);
    rejects(['--cluster-asn=4294967295'], '--cluster-asn', '4294967295', expected);
    for (const ok of ['64512', '65535', '4200000000', '4294967294']) {
      assert.equal(parseFlags([`--cluster-asn=${ok}`]).options.clusterAsn, Number(ok));
    }
  });

  it('zero or negative sync periods and timeouts', () => {
    for (const flag of ['ipvs-sync-period', 'iptables-sync-period', 'routes-sync-period', 'cache-sync-timeout',
      'injected-routes-sync-period', 'ipvs-graceful-period', 'loadbalancer-sync-period',
      'bgp-graceful-restart-time', 'bgp-graceful-restart-deferral-time', 'bfd-desired-min-tx-interval',
      'bfd-required-min-rx-interval']) {
      rejects([`--${flag}=0`], `--${flag}`, '0', /greater than 0/);
      rejects([`--${flag}=-5s`], `--${flag}`, '-5s', /greater than 0/);
    }
    rejects(['--service-tcp-timeout=-1s'], '--service-tcp-timeout', '-1s', /at least 0s/);
    rejects(['--ipvs-sync-period=5'], '--ipvs-sync-period', '5', /Go duration/);
    rejects(['--ipvs-sync-period=fast'], '--ipvs-sync-period', 'fast', /Go duration/);
  });

  it('BGP timer bounds', () => {
    rejects(['--bgp-holdtime=2s'], '--bgp-holdtime', '2s', /3s to 18h12m15s/);
    rejects(['--bgp-holdtime=18h12m16s'], '--bgp-holdtime', '18h12m16s', /3s to 18h12m15s/);
    rejects(['--bgp-graceful-restart-time=4096s'], '--bgp-graceful-restart-time', '4096s', /at most 1h8m15s/);
    rejects(['--bgp-graceful-restart-deferral-time=19h'], '--bgp-graceful-restart-deferral-time', '19h',
      /at most 18h0m0s/);
  });

  it('invalid CIDRs in every CIDR flag', () => {
    for (const flag of ['service-cluster-ip-range', 'service-external-ip-range', 'loadbalancer-ip-range',
      'excluded-cidrs', 'cluster-cidr']) {
      for (const bad of ['10.0.0.0', '10.0.0.0/33', '300.1.2.3/8', 'fd00::/129', 'abc/8', '10.0.0.0/', '10.0.0.0/+8',
        '10.0.0.0/8,nope']) {
        rejects([`--${flag}=${bad}`], `--${flag}`, bad, /CIDRs/);
      }
    }
  });

  it('--service-cluster-ip-range: at most two, one per family', () => {
    rejects(['--service-cluster-ip-range=10.96.0.0/12,10.97.0.0/16'], '--service-cluster-ip-range',
      '10.96.0.0/12,10.97.0.0/16', /one per IP family/);
    rejects(['--service-cluster-ip-range='], '--service-cluster-ip-range', '', /one or two CIDRs/);
  });

  it('invalid peer IPs', () => {
    rejects(['--peer-router-ips=192.0.2.300'], '--peer-router-ips', '192.0.2.300', /IP addresses/);
    rejects(['--peer-router-ips=192.0.2.1,router'], '--peer-router-ips', '192.0.2.1,router', /"router" is not one/);
    rejects(['--peer-router-ips=fe80::1%eth0'], '--peer-router-ips', 'fe80::1%eth0', /IP addresses/);
  });

  it('peer lists of different lengths', () => {
    rejects(['--peer-router-ips=192.0.2.1,192.0.2.2', '--peer-router-asns=65001'], '--peer-router-asns', '65001',
      /one ASN per --peer-router-ips entry \(got 1 ASNs for 2 IPs\)/);
    rejects(['--peer-router-asns=65001'], '--peer-router-asns', '65001', /got 1 ASNs for 0 IPs/);
    rejects([...PEERS, '--peer-router-ports=179,179,179'], '--peer-router-ports', '179,179,179',
      /one per --peer-router-ips entry/);
    rejects([...PEERS, '--peer-router-ports=179'], '--peer-router-ports', '179', /zero ports or one per/);
  });

  it('password list errors never echo the passwords', () => {
    assert.throws(
      () => parseFlags([...PEERS, '--peer-router-passwords=c2VjcmV0,b3RoZXI=,dGhpcmQ=']),
      (err: unknown) => {
        assert.ok(err instanceof FlagError);
        assert.equal(err.context.field, '--peer-router-passwords');
        assert.equal(err.context.value, '<3 passwords>');
        assert.match(err.message, /zero passwords or one per --peer-router-ips entry \(2\)/);
        assert.ok(!err.message.includes('c2VjcmV0'));
        return true;
      },
    );
    rejects(['--peer-router-passwords="oops'], '--peer-router-passwords', '[REDACTED]', /comma-separated/);
  });

  it('reserved peer ASNs', () => {
    rejects(['--peer-router-ips=192.0.2.1', '--peer-router-asns=0'], '--peer-router-asns', '0', /integers from 1/);
    rejects(['--peer-router-ips=192.0.2.1', '--peer-router-asns=23456'], '--peer-router-asns', '23456', /reserved/);
    rejects(['--peer-router-ips=192.0.2.1', '--peer-router-asns=x'], '--peer-router-asns', 'x', /integers/);
  });

  it('invalid port numbers', () => {
    rejects([...PEERS, '--peer-router-ports=179,70000'], '--peer-router-ports', '179,70000', /integers from 1 to 65535/);
    rejects([...PEERS, '--peer-router-ports=179,0'], '--peer-router-ports', '179,0', /integers from 1 to 65535/);
    rejects(['--health-port=65536'], '--health-port', '65536', /integer from 0 to 65535/);
    rejects(['--metrics-port=-1'], '--metrics-port', '-1', /integer from 0 to 65535/);
    rejects(['--metrics-port=http'], '--metrics-port', 'http', /integer/);
    rejects(['--bgp-port=0'], '--bgp-port', '0', /integer from 1 to 65535/);
    rejects(['--bgp-port=65536'], '--bgp-port', '65536', /integer from 1 to 65535/);
    rejects(['--gobgp-admin-port=99999'], '--gobgp-admin-port', '99999', /0 to 65535/);
    rejects(['--overlay-encap-port=1023'], '--overlay-encap-port', '1023', /1024 to 65535/);
    rejects(['--bfd-port=0'], '--bfd-port', '0', /1 to 65535/);
    rejects(['--peer-router-multihop-ttl=256'], '--peer-router-multihop-ttl', '256', /0 to 255/);
  });

  it('--overlay-type and --overlay-encap choices', () => {
    rejects(['--overlay-type=mesh'], '--overlay-type', 'mesh', /one of "subnet", "full"/);
    rejects(['--overlay-encap=vxlan'], '--overlay-encap', 'vxlan', /one of "ipip", "fou"/);
  });

  it('--service-node-port-range must be a-b or a:b with a < b', () => {
    for (const bad of ['30000', '30000-', '30000/32767', 'a-b', '32767-30000', '30000-30000', '1-70000']) {
      rejects([`--service-node-port-range=${bad}`], '--service-node-port-range', bad, /"a-b" or "a:b"/);
    }
  });

  it('-v must be a non-negative integer', () => {
    rejects(['-v', 'high'], '--v', 'high', /non-negative integer/);
    rejects(['--v=-1'], '--v', '-1', /non-negative integer/);
  });

  it('addresses, router-id and IP families', () => {
    rejects(['--router-id=router1'], '--router-id', 'router1', /IPv4 address, "generate"/);
    rejects(['--router-id=2001:db8::1'], '--router-id', '2001:db8::1', /IPv4/);
    assert.equal(parseFlags(['--router-id=generate']).options.routerId, 'generate');
    rejects(['--gobgp-admin-address='], '--gobgp-admin-address', '', /an IP address/);
    rejects(['--health-addr=localhost'], '--health-addr', 'localhost', /IP address or empty/);
    rejects(['--metrics-addr=0.0.0'], '--metrics-addr', '0.0.0', /IP address or empty/);
    rejects(['--enable-ipv4=false'], '--enable-ipv4', 'false', /at least one of --enable-ipv4/);
  });

  it('--help and --version skip the cross-flag checks but not type errors', () => {
    assert.equal(parseFlags(['--help', '--peer-router-asns=65001']).options.help, true);
    rejects(['--help', '--cluster-asn=abc'], '--cluster-asn', 'abc', /64512/);
  });
});
