// "Not built yet" and deprecation warnings, node name lookup, --help and --version text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FLAGS,
  notBuiltWarnings,
  parseFlags,
  resolveNodeName,
  usageText,
  versionText,
} from '../../src/cmd/options/index.js';
import { defaultText } from '../../src/cmd/options/values.js';

const BUILT = ['kubeconfig', 'master', 'hostname-override', 'cache-sync-timeout', 'health-addr', 'health-port',
  'metrics-addr', 'metrics-port', 'metrics-path', 'v', 'help', 'version', 'run-router', 'run-service-proxy',
  'run-firewall', 'cleanup-config',
  // the firewall controller (issue 6)
  'iptables-sync-period', 'netpol-default-deny'];
/** The routing controller's flags (issue 4); BFD, fou and source-dest-check stay unbuilt. */
const ROUTING_BUILT = ['routes-sync-period', 'injected-routes-sync-period', 'cluster-asn', 'nodes-full-mesh', 'enable-ibgp',
  'peer-router-ips', 'peer-router-asns', 'peer-router-passwords', 'peer-router-passwords-file', 'peer-router-ports',
  'peer-router-multihop-ttl', 'advertise-cluster-ip', 'advertise-external-ip', 'advertise-loadbalancer-ip',
  'advertise-pod-cidr', 'override-nexthop', 'bgp-port', 'bgp-holdtime', 'bgp-graceful-restart', 'bgp-graceful-restart-time',
  'bgp-graceful-restart-deferral-time', 'router-id', 'gobgp-admin-address', 'gobgp-admin-port', 'enable-overlay',
  'overlay-type', 'enable-pod-egress', 'enable-cni', 'auto-mtu'];

describe('not built yet warnings', () => {
  it('only the general/process flags and the routing controller\'s are built', () => {
    const built = FLAGS.filter((f) => f.built).map((f) => f.name);
    for (const name of [...BUILT, ...ROUTING_BUILT]) assert.ok(built.includes(name), `--${name} is built`);
    for (const name of built.filter((n) => !BUILT.includes(n) && !ROUTING_BUILT.includes(n))) {
      // Flags of the other controllers, flipped by their own issues.
      assert.notEqual(FLAGS.find((f) => f.name === name)?.group, 'routing', `--${name} is not a routing flag built by mistake`);
    }
  });

  it('one warning per explicitly set unbuilt flag, naming it', () => {
    const r = parseFlags(['--enable-bfd', '--enable-bfd=true', '--kubeconfig=/k', '--enable-pprof=false']);
    assert.deepEqual(r.warnings, [
      'flag --enable-pprof is accepted but its feature is not built yet; it has no effect',
      'flag --enable-bfd is accepted but its feature is not built yet; it has no effect',
    ]);
    assert.deepEqual(notBuiltWarnings(new Set(['enable-bfd'])), [
      'flag --enable-bfd is accepted but its feature is not built yet; it has no effect',
    ]);
  });

  it('no warning for defaults or built flags', () => {
    assert.deepEqual(parseFlags([]).warnings, []);
    assert.deepEqual(parseFlags(['--kubeconfig=/k', '-v', '3', '--run-router=false', '--health-port=0']).warnings, []);
  });

  it('deprecated flags warn once with their history, not as unbuilt', () => {
    const r = parseFlags(['--cluster-cidr=10.244.0.0/16', '--cluster-cidr=10.245.0.0/16', '--config-sync-period=30s']);
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings[0], /^flag --cluster-cidr is deprecated: removed from kube-router in v1\.1\.0, /);
    assert.match(r.warnings[1], /^flag --config-sync-period is deprecated: removed from kube-router in v0\.2\.0.*ignored/);
  });
});

describe('resolveNodeName', () => {
  it('--hostname-override, then NODE_NAME, then the hostname', () => {
    assert.equal(resolveNodeName({ hostnameOverride: 'a' }, { NODE_NAME: 'b' }, 'c'), 'a');
    assert.equal(resolveNodeName({ hostnameOverride: '' }, { NODE_NAME: 'b' }, 'c'), 'b');
    assert.equal(resolveNodeName({ hostnameOverride: '' }, { NODE_NAME: '' }, 'c'), 'c');
    assert.equal(resolveNodeName({ hostnameOverride: '' }, {}, 'c'), 'c');
    const o = parseFlags(['--hostname-override=node-1']).options;
    assert.equal(resolveNodeName(o, { NODE_NAME: 'x' }, 'y'), 'node-1');
  });
});

describe('--help and --version text', () => {
  it('lists every flag with its type and default, grouped by controller', () => {
    const text = usageText();
    for (const title of ['General:', 'Service proxy:', 'Routing/BGP/CNI:', 'Firewall:', 'Load balancer allocator:',
      'Deprecated:']) {
      assert.ok(text.includes(`\n${title}\n`), title);
    }
    for (const f of FLAGS) {
      const line = text.split('\n').find((l) => l.includes(`--${f.name} `) || l.endsWith(`--${f.name}`));
      assert.ok(line !== undefined, `--${f.name} listed`);
      if (f.name !== 'help' && f.name !== 'version') {
        assert.ok(line.includes(`(default ${defaultText(f)})`), `default of --${f.name}: ${line}`);
      }
    }
    assert.match(text, /\n {6}--ipvs-sync-period duration +The delay between ipvs .* \(default 5m0s\)/);
    assert.match(text, /\n {2}-v, --v string +log level for V logs \(default "0"\)\n/);
    assert.match(text, /--service-cluster-ip-range strings .*\(default \[10\.96\.0\.0\/12\]\)/);
    assert.match(text, /--peer-router-ips ipSlice /);
    assert.match(text, /--health-port uint16 .*\(default 20244\)/);
    assert.match(text, /--enable-bfd .*\[not built yet\]/);
  });

  it('version names this package and the kube-router release it follows', () => {
    assert.match(versionText(), /^kube-router-ts v\d+\.\d+\.\d+\ncompatible with kube-router v2\.11/);
  });
});
