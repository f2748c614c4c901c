// Parser: pflag syntax, every value type, list appending, durations, defaults.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_CLUSTER_ASN,
  FLAGS,
  defaultOptions,
  flagByName,
  formatGoDuration,
  parseFlags,
  parseGoDuration,
} from '../../src/cmd/options/index.js';

describe('flag table', () => {
  it('has the 79 kube-router v2.11 flags plus 2 deprecated ones, one per AgentOptions field', () => {
    assert.equal(FLAGS.length, 81);
    assert.equal(FLAGS.filter((f) => f.deprecated === undefined).length, 79);
    assert.deepEqual(
      FLAGS.filter((f) => f.deprecated !== undefined).map((f) => f.name).sort(),
      ['cluster-cidr', 'config-sync-period'],
    );
    assert.equal(new Set(FLAGS.map((f) => f.name)).size, 81, 'names are unique');
    assert.equal(new Set(FLAGS.map((f) => f.key)).size, 81, 'keys are unique');
    const opts = defaultOptions();
    assert.deepEqual(Object.keys(opts).sort(), FLAGS.map((f) => f.key).sort());
  });

  it('maps each flag name to its camelCase field', () => {
    for (const f of FLAGS) {
      const camel = f.name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
      assert.equal(f.key.toLowerCase(), camel.toLowerCase(), f.name);
    }
  });

  it('registers the shorthands -h, -V and -v', () => {
    assert.deepEqual(
      FLAGS.filter((f) => f.short !== undefined).map((f) => `${f.short}:${f.name}`).sort(),
      ['V:version', 'h:help', 'v:v'],
    );
  });

  it('defaults equal kube-router v2.11', () => {
    const o = parseFlags([]).options;
    assert.equal(o.runFirewall, true);
    assert.equal(o.runRouter, true);
    assert.equal(o.runServiceProxy, true);
    assert.equal(o.runLoadbalancer, false);
    assert.equal(o.cacheSyncTimeout, 60_000);
    assert.equal(o.ipvsSyncPeriod, 300_000);
    assert.equal(o.iptablesSyncPeriod, 300_000);
    assert.equal(o.routesSyncPeriod, 300_000);
    assert.equal(o.injectedRoutesSyncPeriod, 60_000);
    assert.equal(o.ipvsGracefulPeriod, 30_000);
    assert.equal(o.loadbalancerSyncPeriod, 60_000);
    assert.equal(o.bgpHoldtime, 90_000);
    assert.equal(o.bgpGracefulRestartTime, 90_000);
    assert.equal(o.bgpGracefulRestartDeferralTime, 360_000);
    assert.equal(o.bfdDesiredMinTxInterval, 1_000);
    assert.equal(o.serviceTcpTimeout, 0);
    assert.deepEqual(o.serviceClusterIpRange, ['10.96.0.0/12']);
    assert.deepEqual(o.serviceExternalIpRange, []);
    assert.equal(o.serviceNodePortRange, '30000-32767');
    assert.equal(o.healthPort, 20244);
    assert.equal(o.metricsPort, 0);
    assert.equal(o.metricsPath, '/metrics');
    assert.equal(o.bgpPort, 179);
    assert.equal(o.gobgpAdminAddress, '127.0.0.1');
    assert.equal(o.gobgpAdminPort, 50051);
    assert.equal(o.bfdPort, 3784);
    assert.equal(o.bfdDetectionMultiplier, 3);
    assert.equal(o.overlayType, 'subnet');
    assert.equal(o.overlayEncap, 'ipip');
    assert.equal(o.overlayEncapPort, 5555);
    assert.equal(o.strictExternalIpValidation, true);
    assert.equal(o.enableIpv4, true);
    assert.equal(o.enableIpv6, false);
    assert.equal(o.nodesFullMesh, true);
    assert.equal(o.advertisePodCidr, true);
    assert.equal(o.disableSourceDestCheck, true);
    assert.equal(o.ipvsPermitAll, true);
    assert.equal(o.loadbalancerDefaultClass, true);
    assert.equal(o.v, 0);
    assert.equal(o.help, false);
    // --cluster-asn defaults to 0 like kube-router; the parsed options carry its meaning, 64512.
    assert.equal(flagByName('cluster-asn')?.default, 0);
    assert.equal(o.clusterAsn, DEFAULT_CLUSTER_ASN);
    assert.equal(o.clusterAsn, 64512);
  });

  it('does not share default arrays between parses', () => {
    const a = parseFlags([]).options;
    a.serviceClusterIpRange.push('x');
    assert.deepEqual(parseFlags([]).options.serviceClusterIpRange, ['10.96.0.0/12']);
  });
});

describe('pflag syntax', () => {
  it('accepts --flag=value and --flag value', () => {
    assert.equal(parseFlags(['--kubeconfig=/a']).options.kubeconfig, '/a');
    assert.equal(parseFlags(['--kubeconfig', '/b']).options.kubeconfig, '/b');
    assert.equal(parseFlags(['--master', 'https://x:6443']).options.master, 'https://x:6443');
    assert.equal(parseFlags(['--kubeconfig=']).options.kubeconfig, '');
    assert.equal(parseFlags(['--kubeconfig=a=b']).options.kubeconfig, 'a=b');
  });

  it('bool flags: --flag is true, --flag=false is false, Go spellings accepted', () => {
    assert.equal(parseFlags(['--masquerade-all']).options.masqueradeAll, true);
    assert.equal(parseFlags(['--run-router=false']).options.runRouter, false);
    for (const t of ['1', 't', 'T', 'true', 'TRUE', 'True']) {
      assert.equal(parseFlags([`--hairpin-mode=${t}`]).options.hairpinMode, true, t);
    }
    for (const f of ['0', 'f', 'F', 'false', 'FALSE', 'False']) {
      assert.equal(parseFlags([`--enable-cni=${f}`]).options.enableCni, false, f);
    }
  });

  it('a bool flag never takes the next argument', () => {
    const r = parseFlags(['--masquerade-all', '--kubeconfig', '/k']);
    assert.equal(r.options.masqueradeAll, true);
    assert.equal(r.options.kubeconfig, '/k');
  });

  it('-v N, -v=N, -vN, --v=N', () => {
    assert.equal(parseFlags(['-v', '3']).options.v, 3);
    assert.equal(parseFlags(['-v=4']).options.v, 4);
    assert.equal(parseFlags(['-v5']).options.v, 5);
    assert.equal(parseFlags(['--v=2']).options.v, 2);
    assert.equal(parseFlags(['--v', '1']).options.v, 1);
  });

  it('-h, -V, --help, --version and combined shorthands', () => {
    assert.equal(parseFlags(['-h']).options.help, true);
    assert.equal(parseFlags(['--help']).options.help, true);
    assert.equal(parseFlags(['-V']).options.version, true);
    assert.equal(parseFlags(['--version']).options.version, true);
    const both = parseFlags(['-hV']).options;
    assert.equal(both.help && both.version, true);
  });

  it('the last value of a scalar flag wins', () => {
    assert.equal(parseFlags(['--master=a', '--master=b']).options.master, 'b');
  });

  it('records which flags were set explicitly', () => {
    const r = parseFlags(['--run-router=true', '-v', '2']);
    assert.deepEqual([...r.explicit].sort(), ['run-router', 'v']);
  });

  it('-- ends the flags', () => {
    assert.equal(parseFlags(['--master=a', '--']).options.master, 'a');
  });
});

describe('value types', () => {
  it('uint, uint8, uint16, uint32 with Go base prefixes', () => {
    const o = parseFlags([
      '--cluster-asn=65000', '--peer-router-multihop-ttl=255', '--health-port=0', '--bgp-port=1790',
      '--metrics-port=0x1F90', '--peer-router-ips=192.0.2.1', '--peer-router-asns=65001',
    ]).options;
    assert.equal(o.clusterAsn, 65000);
    assert.equal(o.peerRouterMultihopTtl, 255);
    assert.equal(o.healthPort, 0);
    assert.equal(o.bgpPort, 1790);
    assert.equal(o.metricsPort, 8080);
    assert.equal(parseFlags(['--cluster-asn=4200000000']).options.clusterAsn, 4200000000);
    assert.equal(parseFlags(['--cluster-asn=0']).options.clusterAsn, 64512);
  });

  it('durations in Go syntax, stored in milliseconds', () => {
    const cases: Array<[string, number]> = [
      ['5s', 5_000], ['1m', 60_000], ['2h22m', 8_520_000], ['1h0m0s', 3_600_000], ['300ms', 300],
      ['1.5h', 5_400_000], ['90s', 90_000], ['1m30s', 90_000], ['1500us', 1.5], ['2000000ns', 2],
    ];
    for (const [text, ms] of cases) {
      assert.equal(parseFlags([`--ipvs-sync-period=${text}`]).options.ipvsSyncPeriod, ms, text);
    }
    assert.equal(parseFlags(['--service-tcp-timeout=0']).options.serviceTcpTimeout, 0);
    assert.equal(parseFlags(['--service-udp-timeout', '0s']).options.serviceUdpTimeout, 0);
  });

  it('string lists split on commas and append when repeated', () => {
    const o = parseFlags([
      '--peer-router-ips=192.0.2.1,192.0.2.2', '--peer-router-ips', '192.0.2.3',
      '--peer-router-asns=65001,65002', '--peer-router-asns=65003',
      '--peer-router-passwords=cHc=,', '--peer-router-passwords=eA==',
    ]).options;
    assert.deepEqual(o.peerRouterIps, ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    assert.deepEqual(o.peerRouterAsns, [65001, 65002, 65003]);
    assert.deepEqual(o.peerRouterPasswords, ['cHc=', '', 'eA==']);
  });

  it('a list flag given once replaces the default, then appends', () => {
    const o = parseFlags([
      '--service-cluster-ip-range=10.43.0.0/16', '--service-cluster-ip-range=fd00:43::/112',
    ]).options;
    assert.deepEqual(o.serviceClusterIpRange, ['10.43.0.0/16', 'fd00:43::/112']);
  });

  it('lists use CSV quoting like pflag StringSlice', () => {
    const o = parseFlags(['--peer-router-ips=192.0.2.1,192.0.2.2', '--peer-router-asns=1,2',
      '--peer-router-passwords="a,b",c']).options;
    assert.deepEqual(o.peerRouterPasswords, ['a,b', 'c']);
  });

  it('an empty list value gives an empty list', () => {
    assert.deepEqual(parseFlags(['--excluded-cidrs=']).options.excludedCidrs, []);
  });

  it('CIDR lists accept IPv4 and IPv6', () => {
    const o = parseFlags(['--excluded-cidrs=10.0.0.0/8,2001:db8::/32', '--loadbalancer-ip-range=192.0.2.0/24',
      '--service-external-ip-range=198.51.100.0/24']).options;
    assert.deepEqual(o.excludedCidrs, ['10.0.0.0/8', '2001:db8::/32']);
    assert.deepEqual(o.loadbalancerIpRange, ['192.0.2.0/24']);
    assert.deepEqual(o.serviceExternalIpRange, ['198.51.100.0/24']);
  });

  it('uint lists: peer ports', () => {
    const o = parseFlags(['--peer-router-ips=192.0.2.1,2001:db8::1', '--peer-router-asns=65001,65002',
      '--peer-router-ports=179,1179']).options;
    assert.deepEqual(o.peerRouterPorts, [179, 1179]);
  });

  it('string choices and node-port ranges', () => {
    assert.equal(parseFlags(['--overlay-type=full']).options.overlayType, 'full');
    assert.equal(parseFlags(['--overlay-encap=fou']).options.overlayEncap, 'fou');
    assert.equal(parseFlags(['--service-node-port-range=30000:31000']).options.serviceNodePortRange, '30000:31000');
  });

  it('deprecated --cluster-cidr and --config-sync-period are accepted', () => {
    const r = parseFlags(['--cluster-cidr=10.244.0.0/16', '--config-sync-period=1m']);
    assert.deepEqual(r.options.clusterCidr, ['10.244.0.0/16']);
    assert.equal(r.options.configSyncPeriod, 60_000);
  });
});

describe('Go durations', () => {
  it('parses Go syntax and rejects the rest', () => {
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('-1m'), -60_000);
    assert.equal(parseGoDuration('.5s'), 500);
    for (const bad of ['', '5', '1x', 's', '1m5', '.s', '1.2.3s', ' 5s', '5 s']) {
      assert.equal(parseGoDuration(bad), undefined, JSON.stringify(bad));
    }
  });

  it('formats like Go Duration.String()', () => {
    assert.equal(formatGoDuration(0), '0s');
    assert.equal(formatGoDuration(60_000), '1m0s');
    assert.equal(formatGoDuration(300_000), '5m0s');
    assert.equal(formatGoDuration(90_000), '1m30s');
    assert.equal(formatGoDuration(360_000), '6m0s');
    assert.equal(formatGoDuration(30_000), '30s');
    assert.equal(formatGoDuration(8_520_000), '2h22m0s');
    assert.equal(formatGoDuration(300), '300ms');
    assert.equal(formatGoDuration(1_500), '1.5s');
  });
});
