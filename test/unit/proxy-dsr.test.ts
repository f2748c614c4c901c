// DSR (kube-router.io/service.dsr: tunnel): the compiled fwmark services,
// the mangle rules, the node's fwmark rules and table 78, and the tunnel in
// each local endpoint pod (through the fake runtime and the fake namespace
// writer, which implement the same interfaces as the CRI client and the
// nsenter writer; test/lab/proxy-dsr.yaml runs the real ones).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import { dsrFwmark, DSR_RULE_PRIORITY, DSR_TABLE } from '../../src/controllers/proxy/compile-dsr.js';
import { desiredDsr, DsrApplier, noDsr } from '../../src/controllers/proxy/reconcile-dsr.js';
import { desiredMangle } from '../../src/controllers/proxy/reconcile-tables.js';
import { FakePodSandboxes } from '../../src/cri/fake.js';
import { netnsCandidates } from '../../src/cri/sandbox-netns.js';
import { FakePodTunnel } from '../../src/kernel/podtunnel/fake.js';
import { parseTunnelRead } from '../../src/kernel/podtunnel/linux.js';
import { ABSENT, planPodTunnel } from '../../src/kernel/podtunnel/types.js';
import { FakeRtnl } from '../../src/kernel/rtnl/fake.js';
import { AF_INET, AF_INET6 } from '../../src/kernel/rtnl/inet.js';
import { RTN } from '../../src/kernel/rtnl/types.js';
import { ctx, ep, NODE_IP, slice, svc } from './proxy-fixtures.js';

const DSR = { 'kube-router.io/service.dsr': 'tunnel' };

function dsrService(annotations: Record<string, string> = DSR) {
  return svc({
    type: 'LoadBalancer',
    annotations,
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80 }],
    spec: { externalIPs: ['203.0.113.20'] },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.20' }] } },
  });
}

const SLICE = slice({
  ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  endpoints: [{ ...ep('10.244.1.5'), pod: 'web-1' }, { ...ep('10.244.2.7', 'node-b'), pod: 'web-2' }],
});

test('fwmark: FNV-1a of ip-proto-port in 14 bits, deterministic, never 0, moves on when taken', () => {
  const m = dsrFwmark('203.0.113.20', 'TCP', 80);
  assert.ok(m !== undefined && m > 0 && m <= 0x3fff);
  assert.equal(dsrFwmark('203.0.113.20', 'TCP', 80), m);
  assert.notEqual(dsrFwmark('203.0.113.20', 'UDP', 80), m);
  const next = dsrFwmark('203.0.113.20', 'TCP', 80, new Set([m as number]));
  assert.ok(next !== undefined && next !== m && next <= 0x3fff);
});

test('compile: DSR externalIP and LB IP become fwmark services in tunnel mode, off kube-dummy-if, in the VIP sets', () => {
  const c = compileService(dsrService(), [SLICE], ctx());
  assert.deepEqual(c.warnings, []);
  const fwm = c.services.filter((v) => v.service.fwmark !== 0);
  assert.equal(fwm.length, 2);
  for (const v of fwm) {
    assert.equal(v.service.address, '');
    assert.deepEqual(
      v.destinations.map((d) => `${d.address}:${d.port} ${d.fwdMethod}`),
      ['10.244.1.5:80 tunnel', '10.244.2.7:80 tunnel'],
    );
  }
  assert.deepEqual(fwm.map((v) => v.kind).sort(), ['ExternalIP', 'LoadBalancer']);
  // The ClusterIP stays a NAT service on kube-dummy-if; the DSR VIPs are not there.
  assert.deepEqual(c.addresses, ['10.96.0.10/32']);
  assert.ok(c.services.some((v) => v.kind === 'ClusterIP' && v.service.address === '10.96.0.10' && v.destinations[0].fwdMethod === 'masq'));
  assert.deepEqual(c.ipsetEntries['kube-router-svip'].inet, ['10.96.0.10', '198.51.100.20', '203.0.113.20']);
  assert.deepEqual(c.dsr.map((d) => `${d.vip} ${d.protocol}/${d.port} ${d.fwmark === dsrFwmark(d.vip, 'TCP', 80, new Set()) || d.fwmark > 0}`), [
    '198.51.100.20 TCP/80 true',
    '203.0.113.20 TCP/80 true',
  ]);
  // Only the local endpoint pod gets the VIPs.
  for (const d of c.dsr) assert.deepEqual(d.localPods, [{ pod: 'default/web-1', ip: '10.244.1.5' }]);
  assert.notEqual(c.dsr[0].fwmark, c.dsr[1].fwmark);
});

test('compile: a DSR value other than tunnel is reported and leaves the service in NAT mode', () => {
  const c = compileService(dsrService({ 'kube-router.io/service.dsr': 'direct' }), [SLICE], ctx());
  assert.deepEqual(c.dsr, []);
  assert.ok(c.services.every((v) => v.service.fwmark === 0));
  assert.deepEqual(c.warnings.map((w) => w.message), [
    "Service default/web: metadata.annotations[kube-router.io/service.dsr]: only 'tunnel' is supported; service left in NAT mode",
  ]);
});

test('compile: DSR warns about a targetPort it cannot honour and a host-network endpoint', () => {
  const s = svc({ annotations: DSR, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], spec: { externalIPs: ['203.0.113.20'] } });
  const sl = slice({ endpoints: [{ ...ep(NODE_IP), pod: 'hostnet' }] });
  const c = compileService(s, [sl], ctx());
  const msgs = c.warnings.map((w) => w.message);
  assert.ok(msgs.some((m) => /DSR does not remap ports: endpoint 192\.168\.1\.10 listens on 8080, clients use 80/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /endpoint 192\.168\.1\.10 uses the host network/.test(m)), msgs.join('\n'));
  assert.deepEqual(c.dsr[0].localPods, []);
});

test('mangle: a mark rule per tuple (PREROUTING and OUTPUT) and an MSS clamp for TCP replies from the VIP', () => {
  const c = compileService(dsrService(), [SLICE], ctx());
  const m = desiredMangle({ services: [c], mtu: 1500 });
  const marks = c.dsr.map((d) => d.fwmark.toString(16));
  assert.deepEqual(m.chains.get('KUBE-ROUTER-DSR-MARK'), [
    `-d 198.51.100.20/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x${marks[0]}/0xffffffff`,
    `-d 203.0.113.20/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x${marks[1]}/0xffffffff`,
  ]);
  assert.deepEqual(m.chains.get('KUBE-ROUTER-DSR-MSS'), [
    '-s 198.51.100.20/32 -i kube-bridge -p tcp -m tcp --sport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440',
    '-s 203.0.113.20/32 -i kube-bridge -p tcp -m tcp --sport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440',
  ]);
  assert.deepEqual(m.jumps.map((j) => `${j.fromChain} ${j.rule}`), ['PREROUTING -j KUBE-ROUTER-DSR-MARK', 'OUTPUT -j KUBE-ROUTER-DSR-MARK', 'PREROUTING -j KUBE-ROUTER-DSR-MSS']);
  // No DSR service: no chain and no jump.
  const none = desiredMangle({ services: [compileService(dsrService({}), [SLICE], ctx())] });
  assert.equal(none.chains.size, 0);
  assert.equal(none.jumps.length, 0);
});

test('pod tunnel plan: create, converge, change VIPs, move the local address, remove', () => {
  const want = { family: 'IPv4' as const, local: '10.244.1.5', vips: ['203.0.113.20', '198.51.100.20'] };
  assert.deepEqual(planPodTunnel(ABSENT, want), {
    family: 'IPv4',
    ip: ['link add kube-tunnel-if type ipip local 10.244.1.5', 'link set kube-tunnel-if up', 'addr add 198.51.100.20/32 dev kube-tunnel-if', 'addr add 203.0.113.20/32 dev kube-tunnel-if'],
    rpFilterOff: ['kube-tunnel-if', 'all'],
  });
  const done = { present: true, local: '10.244.1.5', up: true, addresses: ['198.51.100.20', '203.0.113.20'], rpFilterLink: 0, rpFilterAll: 0 };
  assert.deepEqual(planPodTunnel(done, want), { family: 'IPv4', ip: [], rpFilterOff: [] });
  assert.deepEqual(planPodTunnel(done, { family: 'IPv4', local: '10.244.1.5', vips: ['203.0.113.21'] }).ip, [
    'addr add 203.0.113.21/32 dev kube-tunnel-if',
    'addr del 198.51.100.20/32 dev kube-tunnel-if',
    'addr del 203.0.113.20/32 dev kube-tunnel-if',
  ]);
  assert.deepEqual(planPodTunnel(done, { family: 'IPv4', local: '10.244.1.9', vips: ['203.0.113.20'] }).ip.slice(0, 2), [
    'link del kube-tunnel-if',
    'link add kube-tunnel-if type ipip local 10.244.1.9',
  ]);
  assert.deepEqual(planPodTunnel(done, { family: 'IPv4', local: '', vips: [] }), { family: 'IPv4', ip: ['link del kube-tunnel-if'], rpFilterOff: [] });
});

test('pod tunnel read: ip -j output and rp_filter values', () => {
  const json = JSON.stringify([
    { ifname: 'kube-tunnel-if', flags: ['NOARP', 'UP', 'LOWER_UP'], linkinfo: { info_kind: 'ipip', info_data: { family: 'IPv4', local: '10.244.1.5', remote: 'any' } }, addr_info: [{ family: 'inet', local: '198.51.100.20', prefixlen: 32 }] },
  ]);
  assert.deepEqual(parseTunnelRead('/proc/1/ns/net', `${json}\n--\n0\n1\n`, 'IPv4'), {
    present: true, local: '10.244.1.5', up: true, addresses: ['198.51.100.20'], rpFilterLink: 0, rpFilterAll: 1,
  });
  assert.equal(parseTunnelRead('/proc/1/ns/net', '[]\n--\n-1\n2\n', 'IPv4').present, false);
  assert.throws(() => parseTunnelRead('/proc/1/ns/net', 'garbage\n--\n0\n0\n', 'IPv4'), /netns \/proc\/1\/ns\/net: cannot parse ip -j addr show dev kube-tunnel-if/);
});

test('CRI status: the pid first, then the runtime spec network path; host network and missing info are errors naming the pod', () => {
  const info = JSON.stringify({ pid: 4242, runtimeSpec: { linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: '/var/run/netns/cni-1234' }] } } });
  assert.deepEqual(netnsCandidates('ns/web-1', { status: { id: 'abc' }, info: { info } }), ['/proc/4242/ns/net', '/var/run/netns/cni-1234']);
  assert.throws(
    () => netnsCandidates('ns/web-1', { status: { id: 'abc', linux: { namespaces: { options: { network: 'NODE' } } } }, info: { info } }),
    /pod ns\/web-1: uses the host network/,
  );
  assert.throws(() => netnsCandidates('ns/web-1', { status: { id: 'abc' }, info: {} }), /pod ns\/web-1: .*no "info" entry/);
  assert.throws(() => netnsCandidates('ns/web-1', { status: { id: 'abc' }, info: { info: '{}' } }), /neither a pid nor a network namespace path/);
});

function applier() {
  const rtnl = new FakeRtnl();
  const podTunnel = new FakePodTunnel();
  const sandboxes = new FakePodSandboxes();
  podTunnel.addNetns('/proc/100/ns/net');
  sandboxes.set('default', 'web-1', '/proc/100/ns/net');
  return { rtnl, podTunnel, sandboxes, dsr: new DsrApplier({ rtnl, podTunnel, sandboxes }) };
}

test('DsrApplier: fwmark rules, table 78 and the pod tunnel written once; a second apply changes nothing', async () => {
  const k = applier();
  const c = compileService(dsrService(), [SLICE], ctx());
  const want = desiredDsr([c]);
  const r1 = await k.dsr.apply(want, true);
  assert.deepEqual(r1.errors, []);
  assert.deepEqual(r1.podErrors, []);
  assert.deepEqual(r1.mutations, { rule_add: 2, rule_delete: 0, route_add: 1, route_delete: 0, pod_write: 1 });
  const rules = await k.rtnl.listRules(AF_INET);
  assert.deepEqual(
    rules.filter((r) => r.priority === DSR_RULE_PRIORITY).map((r) => `${r.fwmark} ${r.table}`).sort(),
    c.dsr.map((d) => `${d.fwmark} ${DSR_TABLE}`).sort(),
  );
  const routes = await k.rtnl.listRoutes({ family: AF_INET, table: DSR_TABLE });
  assert.deepEqual(routes.map((r) => `${r.dst} ${r.type}`), [`0.0.0.0/0 ${RTN.local}`]);
  assert.deepEqual(await k.podTunnel.read('/proc/100/ns/net', 'IPv4'), {
    present: true, local: '10.244.1.5', up: true, addresses: ['198.51.100.20', '203.0.113.20'], rpFilterLink: 0, rpFilterAll: 0,
  });
  const r2 = await k.dsr.apply(want, true);
  assert.deepEqual(r2.mutations, { rule_add: 0, rule_delete: 0, route_add: 0, route_delete: 0, pod_write: 0 });
  // Incremental with nothing changed: not even a read.
  const reads = k.podTunnel.reads;
  await k.dsr.apply(want, false);
  assert.equal(k.podTunnel.reads, reads);
});

test('DsrApplier: a pod that stops being a DSR endpoint loses its tunnel; no DSR left removes rules and table 78', async () => {
  const k = applier();
  await k.dsr.apply(desiredDsr([compileService(dsrService(), [SLICE], ctx())]), true);
  const r = await k.dsr.apply(noDsr(), false);
  assert.deepEqual(r.mutations, { rule_add: 0, rule_delete: 2, route_add: 0, route_delete: 1, pod_write: 1 });
  assert.equal((await k.podTunnel.read('/proc/100/ns/net', 'IPv4')).present, false);
  assert.deepEqual((await k.rtnl.listRules(AF_INET)).filter((x) => x.priority === DSR_RULE_PRIORITY), []);
});

test('DsrApplier: a pod the runtime does not know is reported by name, the others are configured, the next sync retries', async () => {
  const k = applier();
  const sl = slice({ endpoints: [{ ...ep('10.244.1.5'), pod: 'web-1' }, { ...ep('10.244.1.6'), pod: 'ghost' }], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] });
  const want = desiredDsr([compileService(dsrService(), [sl], ctx())]);
  const r = await k.dsr.apply(want, false);
  assert.deepEqual(r.podErrors.map((e) => e.message), ['Pod default/ghost: no ready sandbox (fake)']);
  assert.equal(k.dsr.pending, true);
  assert.equal((await k.podTunnel.read('/proc/100/ns/net', 'IPv4')).addresses.length, 2);
  k.podTunnel.addNetns('/proc/200/ns/net');
  k.sandboxes.set('default', 'ghost', '/proc/200/ns/net');
  const r2 = await k.dsr.apply(want, false);
  assert.deepEqual(r2.podErrors, []);
  assert.equal(k.dsr.pending, false);
  assert.equal((await k.podTunnel.read('/proc/200/ns/net', 'IPv4')).local, '10.244.1.6');
});

// IPv6 DSR: a dual-stack Service whose external IPs are of both families.
function dsrService6() {
  return svc({
    annotations: DSR,
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10', 'fd00:96::10'],
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80 }],
    spec: { externalIPs: ['203.0.113.20', '2001:db8:e::20'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' },
  });
}
const SLICE6 = slice({
  name: 'web-v6',
  addressType: 'IPv6',
  ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  endpoints: [{ ...ep('fd00:244:1::5'), pod: 'web-1' }, { ...ep('fd00:244:2::7', 'node-b'), pod: 'web-2' }],
});

test('IPv6 DSR: an AF_INET6 fwmark service in tunnel mode, ip6tables mark rules with /128 and an MSS clamp for the IPv6 tunnel', () => {
  const c = compileService(dsrService6(), [SLICE, SLICE6], ctx());
  const d6 = c.dsr.find((d) => d.family === 'IPv6');
  assert.ok(d6, JSON.stringify(c.dsr));
  assert.equal(d6.vip, '2001:db8:e::20');
  assert.deepEqual(d6.localPods, [{ pod: 'default/web-1', ip: 'fd00:244:1::5' }]);
  const fwm = c.services.find((s) => s.service.fwmark === d6.fwmark);
  assert.ok(fwm, 'the IPv6 tuple has its fwmark service');
  assert.equal(fwm.service.af, 10);
  assert.deepEqual(fwm.destinations.map((x) => `${x.address} ${x.port} ${x.fwdMethod}`).sort(), ['fd00:244:1::5 80 tunnel', 'fd00:244:2::7 80 tunnel']);
  assert.ok(!c.addresses.some((a) => a.startsWith('2001:db8:e::20/')), 'the IPv6 DSR VIP is not on kube-dummy-if');
  const m6 = desiredMangle({ services: [c], mtu: 1500, family: 'IPv6' });
  assert.deepEqual(m6.chains.get('KUBE-ROUTER-DSR-MARK'), [`-d 2001:db8:e::20/128 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x${d6.fwmark.toString(16)}/0xffffffff`]);
  assert.deepEqual(m6.chains.get('KUBE-ROUTER-DSR-MSS'), ['-s 2001:db8:e::20/128 -i kube-bridge -p tcp -m tcp --sport 80 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400']);
  // Each family's table holds only its own tuples.
  const m4 = desiredMangle({ services: [c], mtu: 1500, family: 'IPv4' });
  assert.deepEqual(m4.chains.get('KUBE-ROUTER-DSR-MARK')?.map((r) => r.split(' ')[1]), ['203.0.113.20/32']);
});

test('IPv6 pod tunnel plan: an ip6tnl ip6ip6 link kube-tunnel-v6, /128 VIPs without DAD, no rp_filter writes', () => {
  const want = { family: 'IPv6' as const, local: 'fd00:244:1::5', vips: ['2001:db8:e::20'] };
  assert.deepEqual(planPodTunnel(ABSENT, want), {
    family: 'IPv6',
    ip: ['link add kube-tunnel-v6 type ip6tnl mode ip6ip6 local fd00:244:1::5', 'link set kube-tunnel-v6 up', 'addr add 2001:db8:e::20/128 dev kube-tunnel-v6 nodad'],
    rpFilterOff: [],
  });
  const done = { present: true, local: 'fd00:244:1::5', up: true, addresses: ['2001:db8:e::20'], rpFilterLink: 0, rpFilterAll: 0 };
  assert.deepEqual(planPodTunnel(done, want), { family: 'IPv6', ip: [], rpFilterOff: [] });
  assert.deepEqual(planPodTunnel(done, { ...want, vips: [] }).ip, ['link del kube-tunnel-v6']);
});

test('IPv6 pod tunnel read: inet6 addresses of kube-tunnel-v6, link-local ones left out', () => {
  const json = JSON.stringify([
    {
      ifname: 'kube-tunnel-v6',
      flags: ['NOARP', 'UP', 'LOWER_UP'],
      linkinfo: { info_kind: 'ip6tnl', info_data: { mode: 'ip6ip6', local: 'fd00:244:1::5', remote: 'any' } },
      addr_info: [
        { family: 'inet6', local: '2001:db8:e::20', prefixlen: 128, scope: 'global' },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
  ]);
  assert.deepEqual(parseTunnelRead('/proc/1/ns/net', `${json}\n--\n0\n0\n`, 'IPv6'), {
    present: true, local: 'fd00:244:1::5', up: true, addresses: ['2001:db8:e::20'], rpFilterLink: 0, rpFilterAll: 0,
  });
});

test('DsrApplier IPv6: ip -6 fwmark rules and local ::/0 in table 78, kube-tunnel-v6 beside kube-tunnel-if; IPv6 off leaves IPv6 alone', async () => {
  const k = applier();
  const c = compileService(dsrService6(), [SLICE, SLICE6], ctx());
  const want = desiredDsr([c]);
  assert.equal(want.marks.IPv6.length, 1);
  const r = await k.dsr.apply(want, true);
  assert.deepEqual([...r.errors, ...r.podErrors], []);
  assert.deepEqual(r.mutations, { rule_add: 2, rule_delete: 0, route_add: 2, route_delete: 0, pod_write: 2 });
  const rules6 = (await k.rtnl.listRules(AF_INET6)).filter((x) => x.priority === DSR_RULE_PRIORITY);
  assert.deepEqual(rules6.map((x) => `${x.fwmark} ${x.table}`), [`${want.marks.IPv6[0]} ${DSR_TABLE}`]);
  assert.deepEqual((await k.rtnl.listRoutes({ family: AF_INET6, table: DSR_TABLE })).map((x) => `${x.dst} ${x.type}`), [`::/0 ${RTN.local}`]);
  assert.deepEqual(await k.podTunnel.read('/proc/100/ns/net', 'IPv6'), {
    present: true, local: 'fd00:244:1::5', up: true, addresses: ['2001:db8:e::20'], rpFilterLink: 0, rpFilterAll: 0,
  });
  assert.deepEqual((await k.podTunnel.read('/proc/100/ns/net', 'IPv4')).addresses, ['203.0.113.20']);
  // The IPv6 endpoints go: the tuple (and its rule) stays, the pod's IPv6 link goes, the IPv4 one stays.
  const r2 = await k.dsr.apply(desiredDsr([compileService(dsrService6(), [SLICE], ctx())]), false);
  assert.deepEqual(r2.mutations, { rule_add: 0, rule_delete: 0, route_add: 0, route_delete: 0, pod_write: 1 });
  assert.equal((await k.podTunnel.read('/proc/100/ns/net', 'IPv6')).present, false);
  assert.equal((await k.podTunnel.read('/proc/100/ns/net', 'IPv4')).present, true);
  // The IPv6 external IP goes: its rule and table 78's IPv6 default go, IPv4's stay.
  const r2b = await k.dsr.apply(desiredDsr([compileService(dsrService(), [SLICE], ctx())]), false);
  assert.equal(r2b.mutations.route_delete, 1);
  assert.deepEqual((await k.rtnl.listRules(AF_INET6)).filter((x) => x.priority === DSR_RULE_PRIORITY), []);
  assert.deepEqual((await k.rtnl.listRoutes({ family: AF_INET, table: DSR_TABLE })).map((x) => x.dst), ['0.0.0.0/0']);
  // A node with IPv6 off: IPv6 rules are never read nor written.
  const v4only = new DsrApplier({ rtnl: k.rtnl, podTunnel: k.podTunnel, sandboxes: k.sandboxes }, ['IPv4']);
  const r3 = await v4only.apply(want, true);
  assert.equal(r3.mutations.rule_add, 0);
  assert.equal((await k.podTunnel.read('/proc/100/ns/net', 'IPv6')).present, false);
});
