// The routing controller with fakes: rtnetlink (FakeRtnl), sysctl, exec and
// pod egress faked; gobgpd's best paths fed straight into the controller's
// BestPaths (the real gobgpd run is in routing-controller-gobgpd.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { GobgpdSupervisor } from '../../src/bgp/gobgpd.js';
import type { BgpPath } from '../../src/bgp/types.js';
import { defaultOptions } from '../../src/cmd/options/index.js';
import type { AgentOptions } from '../../src/cmd/options/types.js';
import { RoutingController, type BgpDaemon } from '../../src/controllers/routing/controller.js';
import type { PodEgress } from '../../src/controllers/routing/pod-egress.js';
import { egressRules, egressSets } from '../../src/controllers/routing/pod-egress.js';
import { tunnelName } from '../../src/controllers/routing/tunnel-name.js';
import { WarnOnce } from '../../src/controllers/routing/warn-once.js';
import { nodeChanged } from '../../src/controllers/routing/relevance.js';
import { compileRouting } from '../../src/controllers/routing/compile.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { Exec } from '../../src/kernel/exec.js';
import { AF_INET } from '../../src/kernel/rtnl/inet.js';
import { FakeRtnl } from '../../src/kernel/rtnl/fake.js';
import { FakeSysctl } from '../../src/kernel/sysctl.js';
import { ObjectError } from '../../src/errors.js';
import { node, threeNodes } from './routing-fixtures.test.js';

/** A gobgpd that never starts (the fake tests run no BGP). */
function deadGobgpd(dir: string): BgpDaemon {
  const real = new GobgpdSupervisor({ apiPort: 1, logFile: join(dir, 'gobgpd.log') });
  // Only start/stop are replaced; the EventEmitter methods stay the real ones.
  return Object.assign(real, {
    start: async (): Promise<void> => {
      throw new Error('no gobgpd in this test');
    },
    stop: async (): Promise<void> => undefined,
  });
}

function setup(over: Partial<AgentOptions> = {}, nodes = threeNodes(), routeCoalesceMs?: number) {
  const rtnl = new FakeRtnl();
  const eth0 = rtnl.addLink('eth0');
  void rtnl.addAddress(eth0.index, { address: '10.0.0.1', prefixLen: 24, scope: 0 });
  const calls: string[][] = [];
  const exec: Exec = async (argv) => {
    calls.push([...argv]);
    if (argv.join(' ') === 'ip link add kube-bridge type bridge') rtnl.addLink('kube-bridge', 'bridge', false);
    return { code: 0, stdout: '', stderr: '', timedOut: false };
  };
  const egressCalls: number[] = [];
  const egress: PodEgress = {
    apply: async (n) => void egressCalls.push(n.length),
    cleanup: async () => void egressCalls.push(-1),
  };
  const sysctl = new FakeSysctl({ 'net/bridge/bridge-nf-call-iptables': 0 });
  const cache = new FakeSharedCache({ kinds: ['Node', 'Service', 'EndpointSlice'] });
  for (const n of nodes) cache.add('Node', n);
  const dir = mkdtempSync(join(tmpdir(), 'krtest-routing-'));
  const options: AgentOptions = { ...defaultOptions(), ...over };
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String(JSON.parse(line).msg)) });
  const gobgpd = deadGobgpd(dir);
  const c = new RoutingController({
    cache,
    options,
    nodeName: 'n1',
    logger,
    metrics: new Registry(),
    kernel: { rtnl, sysctl, exec, egress },
    gobgpd,
    cniConfPath: join(dir, '10-kuberouter.conflist'),
    ...(routeCoalesceMs !== undefined ? { routeCoalesceMs } : {}),
  });
  return { c, rtnl, calls, sysctl, cache, dir, egressCalls, warnings };
}

function learned(prefix: string, nextHop: string, isWithdraw = false): BgpPath {
  return { prefix, family: 'ipv4', nextHop, origin: 'igp', isWithdraw, neighborIp: nextHop, best: true };
}

/** The node-setup part of a sync (everything but BGP, which needs a gobgpd). */
async function syncNoBgp(t: ReturnType<typeof setup>): Promise<void> {
  // compileRouting is what sync() feeds to setupNode; drive sync() with the BGP step failing fast.
  await t.c.sync().catch(() => undefined);
}

describe('routing controller (fakes)', () => {
  it('learned best paths become proto 0x11 routes via the peer, withdrawals remove them', async () => {
    const t = setup();
    await syncNoBgp(t);
    t.c.learned().apply([learned('10.244.2.0/24', '10.0.0.2'), learned('10.244.3.0/24', '10.0.0.3')]);
    await t.c.syncRoutes();
    let routes = await t.rtnl.listRoutes({ family: AF_INET, protocol: 0x11 });
    assert.deepEqual(
      routes.map((r) => `${r.dst} via ${r.gateway} table ${r.table}`),
      ['10.244.2.0/24 via 10.0.0.2 table 254', '10.244.3.0/24 via 10.0.0.3 table 254'],
    );
    // A route of someone else is never touched.
    await t.rtnl.addRoute({ dst: '10.9.0.0/16', gateway: '10.0.0.254', protocol: 4 });
    t.c.learned().apply([learned('10.244.3.0/24', '10.0.0.3', true)]);
    await t.c.syncRoutes();
    routes = await t.rtnl.listRoutes({ family: AF_INET });
    assert.deepEqual(routes.map((r) => `${r.dst} ${r.protocol}`).sort(), ['10.244.2.0/24 17', '10.9.0.0/16 4']);
    await t.c.cleanup();
    routes = await t.rtnl.listRoutes({ family: AF_INET });
    assert.deepEqual(routes.map((r) => r.dst), ['10.9.0.0/16']);
  });

  it('a next hop in another subnet goes through a tun- link with table 77 and its rule (overlay on)', async () => {
    const t = setup({ enableOverlay: true });
    await syncNoBgp(t);
    t.c.learned().apply([learned('10.244.4.0/24', '10.1.0.4'), learned('10.244.2.0/24', '10.0.0.2')]);
    await t.c.syncRoutes();
    const tun = tunnelName('10.1.0.4');
    const links = await t.rtnl.listLinks();
    assert.ok(links.some((l) => l.name === tun && l.kind === 'ipip'), 'tunnel created');
    const main = await t.rtnl.listRoutes({ family: AF_INET, table: 254, protocol: 0x11 });
    const tunIndex = links.find((l) => l.name === tun)?.index;
    assert.deepEqual(main.map((r) => [r.dst, r.gateway, r.oif === tunIndex]), [['10.244.2.0/24', '10.0.0.2', false], ['10.244.4.0/24', '', true]]);
    const pbr = await t.rtnl.listRoutes({ family: AF_INET, table: 77 });
    assert.deepEqual(pbr.map((r) => r.dst), ['10.1.0.4/32']);
    const rules = (await t.rtnl.listRules(AF_INET)).filter((r) => r.table === 77);
    assert.deepEqual(rules.map((r) => r.src), ['10.244.1.0/24']);
    // The node leaves: its path is withdrawn, route and tunnel go.
    t.c.learned().apply([learned('10.244.4.0/24', '10.1.0.4', true)]);
    await t.c.syncRoutes();
    assert.ok(!(await t.rtnl.listLinks()).some((l) => l.name === tun), 'tunnel removed');
    assert.deepEqual((await t.rtnl.listRoutes({ family: AF_INET, table: 77 })).map((r) => r.dst), []);
    await t.c.cleanup();
    assert.deepEqual((await t.rtnl.listRules(AF_INET)).filter((r) => r.table === 77), []);
  });

  it('after a start, routes of the previous run are kept until BGP has converged', async () => {
    const t = setup();
    await t.rtnl.replaceRoute({ dst: '10.244.3.0/24', gateway: '10.0.0.3', protocol: 0x11 });
    await t.c.start();
    try {
      await t.c.sync().catch(() => undefined); // node setup (addresses); BGP fails: no gobgpd
      t.c.learned().apply([learned('10.244.2.0/24', '10.0.0.2')]);
      await t.c.syncRoutes();
      const routes = await t.rtnl.listRoutes({ family: AF_INET, protocol: 0x11 });
      assert.deepEqual(routes.map((r) => r.dst), ['10.244.2.0/24', '10.244.3.0/24']);
    } finally {
      await t.c.stop();
    }
  });

  it('without the overlay a next hop in another subnet gets no route', async () => {
    const t = setup({ enableOverlay: false });
    await syncNoBgp(t);
    t.c.learned().apply([learned('10.244.4.0/24', '10.1.0.4')]);
    await t.c.syncRoutes();
    assert.deepEqual(await t.rtnl.listRoutes({ family: AF_INET, protocol: 0x11 }), []);
  });

  it('sync sets up kube-bridge, bridge-nf-call-iptables, the CNI conf and pod egress, and reports the BGP failure', async () => {
    const t = setup({ autoMtu: true, enableOverlay: true });
    await assert.rejects(t.c.sync(), /routing sync on node n1: BGP/);
    const br = await t.rtnl.getLink('kube-bridge');
    assert.ok(br?.up, 'kube-bridge up');
    assert.ok(t.calls.some((a) => a.join(' ') === 'ip link set dev kube-bridge mtu 1480'), 'MTU minus the ipip overhead');
    assert.equal(await t.sysctl.get('net/bridge/bridge-nf-call-iptables'), '1');
    const conf = JSON.parse(readFileSync(join(t.dir, '10-kuberouter.conflist'), 'utf8'));
    assert.equal(conf.plugins[0].bridge, 'kube-bridge');
    assert.deepEqual(conf.plugins[0].ipam.ranges, [[{ subnet: '10.244.1.0/24' }]]);
    assert.equal(conf.plugins[0].mtu, 1480);
    assert.deepEqual(t.egressCalls, [3]);
  });

  it('a node missing from the Node list gets nothing set up (no bridge, rules, gobgpd)', async () => {
    const t = setup({}, threeNodes().filter((n) => n.metadata.name !== 'n1'));
    await t.c.sync();
    assert.equal(await t.rtnl.getLink('kube-bridge'), undefined);
    assert.deepEqual(t.calls, []);
    assert.deepEqual(t.egressCalls, []);
    assert.ok(t.warnings.some((w) => /n1/.test(w) && /Node list/.test(w)), t.warnings.join('\n'));
  });

  it('best-path events arriving one by one are written by one kernel pass (coalesced), later ones by the next', async () => {
    const t = setup({}, threeNodes(), 150);
    const passes: string[][] = [];
    const write = t.rtnl.writeRoutes.bind(t.rtnl);
    t.rtnl.writeRoutes = async (writes) => {
      passes.push(writes.map((w) => `${w.op} ${w.route.dst}`));
      return write(writes);
    };
    await syncNoBgp(t); // node setup: this node's addresses and pod CIDR
    await t.c.start();
    try {
      const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
      // gobgpd's watch sends one message per path: three events, each in its own turn of the event loop.
      t.c.learned().apply([learned('10.244.2.0/24', '10.0.0.2')]);
      await tick();
      t.c.learned().apply([learned('10.244.3.0/24', '10.0.0.3')]);
      await tick();
      t.c.learned().apply([learned('10.244.4.0/24', '10.0.0.4')]);
      await t.c.routesIdle();
      assert.deepEqual(passes, [['replace 10.244.2.0/24', 'replace 10.244.3.0/24', 'replace 10.244.4.0/24']]);
      t.c.learned().apply([learned('10.244.3.0/24', '10.0.0.3', true)]);
      await tick();
      t.c.learned().apply([learned('10.244.4.0/24', '10.0.0.4', true)]);
      await t.c.routesIdle();
      // Stale routes are kept until BGP has converged after the start (no gobgpd here): nothing removed yet.
      assert.equal(passes.length, 1);
      const routes = await t.rtnl.listRoutes({ family: AF_INET, protocol: 0x11 });
      assert.deepEqual(routes.map((r) => r.dst), ['10.244.2.0/24', '10.244.3.0/24', '10.244.4.0/24']);
    } finally {
      await t.c.stop();
    }
  });

  it('stop() does not wait for a queued route pass, and that pass writes nothing', async () => {
    const t = setup({}, threeNodes(), 3_600_000);
    let writes = 0;
    const write = t.rtnl.writeRoutes.bind(t.rtnl);
    t.rtnl.writeRoutes = async (w) => {
      writes++;
      return write(w);
    };
    await syncNoBgp(t);
    await t.c.start();
    t.c.learned().apply([learned('10.244.2.0/24', '10.0.0.2')]);
    await t.c.stop(); // would hang for an hour if it waited
    assert.equal(writes, 0);
    assert.deepEqual(await t.rtnl.listRoutes({ family: AF_INET, protocol: 0x11 }), []);
  });

  it('the learned paths: sorted by prefix, a fresh array each time, updated by every change', () => {
    const t = setup();
    const bp = t.c.learned();
    bp.apply([learned('10.244.3.0/24', '10.0.0.3'), learned('10.244.2.0/24', '10.0.0.2')]);
    const first = bp.paths();
    assert.deepEqual(first.map((p) => p.prefix), ['10.244.2.0/24', '10.244.3.0/24']);
    first.pop();
    assert.equal(bp.paths().length, 2);
    bp.apply([learned('10.244.1.0/24', '10.0.0.4'), learned('10.244.3.0/24', '10.0.0.5')]);
    assert.deepEqual(bp.paths().map((p) => `${p.prefix} ${p.nextHop}`), ['10.244.1.0/24 10.0.0.4', '10.244.2.0/24 10.0.0.2', '10.244.3.0/24 10.0.0.5']);
    bp.apply([learned('10.244.2.0/24', '10.0.0.2', true)]);
    assert.deepEqual(bp.paths().map((p) => p.prefix), ['10.244.1.0/24', '10.244.3.0/24']);
  });

  it('health reports the runner; stop without start leaves the kernel alone', async () => {
    const t = setup();
    assert.equal(t.c.health().name, 'routing');
    assert.equal(t.c.health().lastSyncAt, undefined);
  });
});

describe('routing controller helpers', () => {
  it('warnings are logged once per object and field until they change', () => {
    const seen: string[] = [];
    const w = new WarnOnce({ warn: ((_o: object, m?: string) => void seen.push(m ?? '')) as never });
    const e1 = new ObjectError('Node n2', 'metadata.annotations[kube-router.io/node.asn]', 'bad ASN "x"');
    w.report([e1]);
    w.report([e1]);
    assert.equal(seen.length, 1);
    w.report([new ObjectError('Node n2', 'metadata.annotations[kube-router.io/node.asn]', 'bad ASN "y"')]);
    assert.equal(seen.length, 2);
    w.report([]);
    w.report([e1]);
    assert.equal(seen.length, 3);
  });

  it('a bad annotation on another node is a warning naming it; the rest compiles', () => {
    const nodes = threeNodes({ n2: { 'kube-router.io/peer.ips': '1.1.1.1,2.2.2.2', 'kube-router.io/peer.asns': '65000' } });
    nodes.push(node('n4', '10.0.0.4'));
    const d = compileRouting({ nodeName: 'n1', nodes, services: [], endpointSlices: [], flags: { ...defaultOptions() } });
    assert.ok(d.bgp);
    assert.equal(d.bgp.peers.length, 3);
    assert.ok(d.warnings.some((w) => /n4/.test(w.message)), d.warnings.map((w) => w.message).join('\n'));
  });

  it('node updates matter only for addresses, pod CIDRs and annotations', () => {
    const a = node('n1', '10.0.0.1', '10.244.1.0/24');
    assert.equal(nodeChanged(a, { ...a, metadata: { ...a.metadata, labels: { x: 'y' } } }), false);
    assert.equal(nodeChanged(a, node('n1', '10.0.0.9', '10.244.1.0/24')), true);
    assert.equal(nodeChanged(a, node('n1', '10.0.0.1', '10.244.9.0/24')), true);
    assert.equal(nodeChanged(a, node('n1', '10.0.0.1', '10.244.1.0/24', { 'kube-router.io/node.asn': '65001' })), true);
  });

  it('pod egress: two sets per family and a constant number of rules', () => {
    const d = compileRouting({ nodeName: 'n1', nodes: threeNodes(), services: [], endpointSlices: [], flags: { ...defaultOptions() } });
    const sets = egressSets(d.nodes, ['ipv4']);
    assert.deepEqual(sets.map((s) => [s.name, s.type, [...s.entries].sort()]), [
      ['kube-router-pod-subnets', 'hash:net', ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']],
      ['kube-router-node-ips', 'hash:ip', ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ]);
    const rules = egressRules('ipv4', true);
    assert.equal(rules.length, 3);
    assert.ok(rules.some((r) => r.table === 'nat' && r.args.includes('MASQUERADE')));
    assert.equal(egressRules('ipv4', false).length, 2);
  });
});
