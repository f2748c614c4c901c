// `kube-router dump` over the fake kernels: after the controllers synced it
// reports every controller in sync with desired == actual in every section
// and writes nothing; after drift it reports exactly the writes the
// reconcilers then make, and in sync again once they ran.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { FirewallController } from '../../src/controllers/firewall/controller.js';
import { applyRoutePlan } from '../../src/controllers/routing/kernel-routes.js';
import { createPodEgress } from '../../src/controllers/routing/pod-egress.js';
import { planRoutes } from '../../src/controllers/routing/routes-plan.js';
import { dumpReport } from '../../src/cmd/tools/index.js';
import type { ToolKernel } from '../../src/cmd/tools/kernel.js';
import { renderText, type ToolReport } from '../../src/cmd/tools/report.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { Exec } from '../../src/kernel/exec.js';
import { IpsetReconciler } from '../../src/kernel/ipset/reconciler.js';
import { IptablesReconciler } from '../../src/kernel/iptables/reconciler.js';
import { ipvsDestination, ipvsService } from '../../src/kernel/ipvs/types.js';
import { AF_INET } from '../../src/kernel/rtnl/inet.js';
import { fakeKernels, newController, nodeObject, proxyOptions, type FakeKernels } from './proxy-controller-helpers.js';
import { ep, NODE, NODE_IP, slice, svc } from './proxy-fixtures.js';

const NODE_B = 'node-b';
const NODE_B_IP = '192.168.1.11';

/** iptables `-C`/`-A`/`-D` over a set of rule texts (pod egress's AppendUnique). */
function fakeIptablesExec(): { exec: Exec; writes: string[] } {
  const rules = new Set<string>();
  const writes: string[] = [];
  const exec: Exec = async (argv) => {
    const i = argv.findIndex((a) => a === '-C' || a === '-A' || a === '-D');
    const key = [...argv.slice(0, i), ...argv.slice(i + 1)].join(' ');
    const ok = { code: 0, stdout: '', stderr: '', timedOut: false };
    if (argv[i] === '-C') return rules.has(key) ? ok : { ...ok, code: 1 };
    writes.push(argv.join(' '));
    if (argv[i] === '-A') rules.add(key);
    else rules.delete(key);
    return ok;
  };
  return { exec, writes };
}

interface World {
  cache: FakeSharedCache;
  k: FakeKernels;
  exec: ReturnType<typeof fakeIptablesExec>;
  syncAll(): Promise<void>;
  tool: ToolKernel;
}

async function world(): Promise<World> {
  const cache = new FakeSharedCache();
  await cache.start();
  cache.add('Node', nodeObject());
  cache.add('Node', { metadata: { name: NODE_B }, spec: { podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24'] }, status: { addresses: [{ type: 'InternalIP', address: NODE_B_IP }] } });
  cache.add('Namespace', { metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } });
  cache.add('Pod', { metadata: { namespace: 'default', name: 'web-1', labels: { app: 'web' } }, spec: { nodeName: NODE, containers: [{ name: 'c' }] }, status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] } });
  cache.add('Pod', { metadata: { namespace: 'default', name: 'client', labels: { app: 'client' } }, spec: { nodeName: NODE_B, containers: [{ name: 'c' }] }, status: { phase: 'Running', podIP: '10.244.2.7', podIPs: [{ ip: '10.244.2.7' }] } });
  cache.add('NetworkPolicy', { metadata: { namespace: 'default', name: 'web-from-client' }, spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] } });
  cache.add('Service', svc());
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')] }));

  const k = fakeKernels();
  const exec = fakeIptablesExec();
  const options = proxyOptions();
  const proxy = newController(cache, k);
  const firewall = new FirewallController({
    cache,
    options,
    nodeName: NODE,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    kernel: { ipset: new IpsetReconciler(k.ipsetKernel), iptables: { ipv4: new IptablesReconciler(k.iptablesKernel) } },
  });
  const egress = createPodEgress({ ipset: new IpsetReconciler(k.ipsetKernel), exec: exec.exec });
  const syncAll = async (): Promise<void> => {
    await proxy.sync();
    await firewall.syncFull(); // a full sync reads the kernel back (incremental ones trust their last apply)
    // The routing controller's kernel side, fed the path node-b advertises over iBGP.
    const plan = planRoutes({
      paths: [{ prefix: '10.244.2.0/24', nextHop: NODE_B_IP }],
      nodeIps: { ipv4: NODE_IP },
      connectedSubnets: [`${NODE_IP}/24`],
      podCidrs: ['10.244.1.0/24'],
      enableOverlay: options.enableOverlay,
      overlayType: options.overlayType,
    });
    const r = await applyRoutePlan(k.rtnl, plan);
    assert.deepEqual(r.errors, []);
    await egress.apply(
      [
        { name: NODE, primaryIp: NODE_IP, ips: { ipv4: [NODE_IP], ipv6: [] }, podCidrs: ['10.244.1.0/24'], annotations: {} },
        { name: NODE_B, primaryIp: NODE_B_IP, ips: { ipv4: [NODE_B_IP], ipv6: [] }, podCidrs: ['10.244.2.0/24'], annotations: {} },
      ] as never, // RoutingNode: only name, ips and podCidrs are read by egressSets
      ['ipv4'],
    );
  };
  await syncAll();
  const tool: ToolKernel = {
    ipvs: () => k.ipvs,
    rtnl: k.rtnl,
    ipsetDriver: k.ipsetKernel,
    iptablesDriver: () => k.iptablesKernel,
    exec: exec.exec,
    close: () => undefined,
  };
  return { cache, k, exec, syncAll, tool };
}

function writes(w: World): number {
  return w.k.ipvs.mutations + w.k.rtnl.mutations + w.k.ipsetKernel.restores.length + w.k.iptablesKernel.restores.length + w.exec.writes.length;
}

function dump(w: World): Promise<ToolReport> {
  return dumpReport(w.cache, proxyOptions({ runRouter: true, runServiceProxy: true, runFirewall: true }), NODE, w.tool);
}

function controller(r: ToolReport, name: string) {
  const c = r.controllers.find((x) => x.controller === name);
  assert.ok(c, name);
  return c;
}

describe('kube-router dump', () => {
  it('after a sync: every controller in sync, desired == actual in every section, and dump writes nothing', async () => {
    const w = await world();
    // A user's own IPVS service outside the managed ranges.
    await w.k.ipvs.addService(ipvsService({ address: '192.0.2.1', port: 80, protocol: 'TCP' }));
    const before = writes(w);
    const r = await dump(w);
    assert.equal(writes(w), before, 'dump wrote to the kernel');
    assert.deepEqual(r.controllers.map((c) => c.controller), ['routing', 'proxy', 'firewall']);
    for (const c of r.controllers) {
      assert.deepEqual(c.changes, [], `${c.controller}: ${c.changes?.join('\n')}`);
      assert.equal(c.inSync, true);
      for (const s of c.sections) if (s.actual !== undefined) assert.deepEqual(s.actual, s.desired, `${c.controller} ${s.name}`);
    }
    const proxy = controller(r, 'proxy');
    const ipvs = proxy.sections.find((s) => s.name === 'ipvs');
    assert.deepEqual(ipvs?.desired, ['TCP 10.96.0.10:80 rr', 'TCP 10.96.0.10:80 -> 10.244.1.5:8080 masq w=1']);
    assert.ok(proxy.notes.some((n) => /1 IPVS service\(s\) outside the managed ranges/.test(n)));
    const routes = controller(r, 'routing').sections.find((s) => s.name === 'routes');
    assert.deepEqual(routes?.actual, ['main 10.244.2.0/24 via 192.168.1.11']);
    assert.match(renderText(r), /=== firewall on node-a \(in sync\)/);
  });

  it('after drift: the changes are exactly what the reconcilers then write, and in sync after they ran', async () => {
    const w = await world();
    const service = ipvsService({ address: '10.96.0.10', port: 80, protocol: 'TCP' });
    await w.k.ipvs.deleteDestination(service, ipvsDestination({ address: '10.244.1.5', port: 8080 }));
    await w.k.rtnl.deleteRoute({ dst: '10.244.2.0/24', table: 254, protocol: 0x11 });
    await w.k.iptablesKernel.restore('*filter\n-F KUBE-NWPLCY-COMMON\nCOMMIT\n');
    const r = await dump(w);
    const proxy = controller(r, 'proxy');
    assert.equal(proxy.inSync, false);
    assert.deepEqual(proxy.changes, ['ipvs addDestination TCP 10.96.0.10:80 -> 10.244.1.5:8080']);
    const ipvs = proxy.sections.find((s) => s.name === 'ipvs');
    assert.ok(ipvs?.desired.includes('TCP 10.96.0.10:80 -> 10.244.1.5:8080 masq w=1'));
    assert.ok(!ipvs?.actual?.includes('TCP 10.96.0.10:80 -> 10.244.1.5:8080 masq w=1'));
    assert.match(renderText(r), /^- TCP 10\.96\.0\.10:80 -> 10\.244\.1\.5:8080 masq w=1 +\| $/m);
    const routing = controller(r, 'routing');
    assert.deepEqual(routing.changes, ['route replace 10.244.2.0/24 table 254 via 192.168.1.11']);
    const fw = controller(r, 'firewall');
    assert.equal(fw.inSync, false);
    assert.ok(fw.changes?.some((l) => l.startsWith('ipv4 filter -A KUBE-NWPLCY-COMMON ')), fw.changes?.join('\n'));

    const before = writes(w);
    await w.syncAll();
    assert.ok(writes(w) > before, 'the reconcilers repaired the drift');
    const again = await dump(w);
    for (const c of again.controllers) assert.equal(c.inSync, true, `${c.controller}: ${c.changes?.join('\n')}`);
    assert.equal((await w.k.rtnl.listRoutes({ family: AF_INET, table: 254, protocol: 0x11 })).length, 1);
  });
});
