// The proxy controller over the fakes: Service + slices -> exact IPVS state,
// scale, delete, port/type changes, a user's service surviving, and zero
// mutations on a no-op resync and a restart.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { ipvsDestination, ipvsService } from '../../src/kernel/ipvs/types.js';
import { ep, NODE_IP, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, ipvsDump, mutationCount, newController, nodeObject } from './proxy-controller-helpers.js';

function setup(): { cache: FakeSharedCache; k: ReturnType<typeof fakeKernels> } {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  return { cache, k: fakeKernels() };
}

test('a ClusterIP Service with two endpoints gives exactly its IPVS service, address, ipsets and rules', async () => {
  const { cache, k } = setup();
  cache.add('Service', svc());
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5'), ep('10.244.1.6')] }));
  const c = newController(cache, k);
  await c.sync();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080 -> 10.244.1.6:8080']);
  const addrs = (await k.rtnl.listAddresses('kube-dummy-if')).map((a) => `${a.address}/${a.prefixLen}`);
  assert.deepEqual(addrs, ['10.96.0.10/32']);
  assert.deepEqual([...(k.ipsetKernel.members('kube-router-svip') ?? [])], ['10.96.0.10']);
  assert.deepEqual([...(k.ipsetKernel.members('kube-router-svip-prt') ?? [])], ['10.96.0.10,tcp:80']);
  assert.ok(k.iptablesKernel.rules('filter', 'KUBE-ROUTER-SERVICES')?.some((r) => r.includes('kube-router-svip-prt')));
  // Masquerade spares this node's podCIDR (not --cluster-cidr): a local endpoint sees the client, a remote one replies through us.
  assert.ok(
    k.iptablesKernel.rules('nat', 'POSTROUTING')?.some((r) => r.includes('--vmethod MASQ ! -s 10.244.1.0/24 ! -d 10.244.1.0/24') && r.includes(`--to-source ${NODE_IP}`)),
    JSON.stringify(k.iptablesKernel.rules('nat', 'POSTROUTING')),
  );
  assert.equal(k.sysctl.values.get('net/ipv4/vs/conntrack'), '1');
  assert.equal(k.sysctl.values.get('net/ipv4/vs/conn_reuse_mode'), '0');
});

test('events: scale up and down, port change, type change, delete; each leaves exactly the right entries', async () => {
  const { cache, k } = setup();
  const c = newController(cache, k);
  await c.start();
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 50 && c.health().syncingSince === undefined && c.health().lastSyncResourceVersion !== cache.resourceVersion(); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 250));
  };
  try {
    await settle();
    cache.add('Service', svc());
    cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')] }));
    await settle();
    assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080']);

    cache.update('EndpointSlice', slice({ endpoints: [ep('10.244.1.5'), ep('10.244.1.6'), ep('10.244.1.7')], resourceVersion: '2' }));
    await settle();
    assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080 -> 10.244.1.6:8080 -> 10.244.1.7:8080']);

    cache.update('EndpointSlice', slice({ endpoints: [ep('10.244.1.7')], resourceVersion: '3' }));
    await settle();
    assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.7:8080']);

    cache.update('Service', svc({ ports: [{ name: 'http', protocol: 'TCP', port: 81, targetPort: 8080 }], resourceVersion: '2' }));
    await settle();
    assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:81 rr -> 10.244.1.7:8080']);

    cache.update('Service', svc({ type: 'NodePort', ports: [{ name: 'http', protocol: 'TCP', port: 81, targetPort: 8080, nodePort: 30081 }], resourceVersion: '3' }));
    await settle();
    assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:81 rr -> 10.244.1.7:8080', `TCP ${NODE_IP}:30081 rr -> 10.244.1.7:8080`]);

    cache.delete('Service', 'default/web');
    await settle();
    assert.deepEqual(await ipvsDump(k.ipvs), []);
    assert.deepEqual(await k.rtnl.listAddresses('kube-dummy-if'), []);
  } finally {
    await c.stop();
  }
});

test("a user's own IPVS service outside the managed ranges survives syncs and cleanup; a stale one inside goes", async () => {
  const { cache, k } = setup();
  await k.ipvs.addService(ipvsService({ address: '192.0.2.1', port: 80 }));
  await k.ipvs.addService(ipvsService({ address: '10.96.5.5', port: 80 }));
  await k.ipvs.addService(ipvsService({ address: '10.100.0.1', port: 80 }));
  cache.add('Service', svc());
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')] }));
  const c = newController(cache, k, { excludedCidrs: ['10.100.0.0/16'] });
  await c.sync();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080', 'TCP 10.100.0.1:80 rr', 'TCP 192.0.2.1:80 rr']);
  await c.cleanup();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.100.0.1:80 rr', 'TCP 192.0.2.1:80 rr']);
  assert.equal(await k.rtnl.getLink('kube-dummy-if'), undefined);
  assert.equal(k.ipsetKernel.members('kube-router-svip'), undefined);
  assert.equal(k.iptablesKernel.rules('filter', 'KUBE-ROUTER-SERVICES'), undefined);
  assert.ok(!(k.iptablesKernel.rules('nat', 'POSTROUTING') ?? []).some((r) => r.includes('ipvs')));
});

test('a no-op resync and a restart over the kernel state make zero mutations', async () => {
  const { cache, k } = setup();
  cache.add('Service', svc({ type: 'NodePort', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] }));
  cache.add('Service', svc({ name: 'dns', clusterIP: '10.96.0.53', ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 }], spec: { sessionAffinity: 'ClientIP' } }));
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5'), ep('10.244.1.6')] }));
  cache.add('EndpointSlice', slice({ service: 'dns', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }], endpoints: [ep('10.244.1.9')] }));
  const c1 = newController(cache, k);
  await c1.sync();
  assert.ok(mutationCount(k) > 0);
  const before = mutationCount(k);
  await c1.sync();
  assert.equal(mutationCount(k) - before, 0, 'no-op resync');
  const c2 = newController(cache, k);
  await c2.sync();
  assert.equal(mutationCount(k) - before, 0, 'restart');
  assert.equal(c2.lastMutations, 0);
  assert.deepEqual(await ipvsDump(k.ipvs), [
    'TCP 10.96.0.10:80 rr -> 10.244.1.5:8080 -> 10.244.1.6:8080',
    'UDP 10.96.0.53:53 rr p10800 -> 10.244.1.9:53',
    `TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080 -> 10.244.1.6:8080`,
  ]);
});

test('drift is repaired by a full sync; a bad annotation is a warning, the other services are served', async () => {
  const { cache, k } = setup();
  cache.add('Service', svc({ annotations: { 'kube-router.io/service.scheduler': 'nope' } }));
  cache.add('Service', svc({ name: 'other', clusterIP: '10.96.0.11' }));
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')] }));
  cache.add('EndpointSlice', slice({ service: 'other', endpoints: [ep('10.244.1.8')] }));
  const c = newController(cache, k);
  await c.sync();
  const want = await ipvsDump(k.ipvs);
  assert.ok(want.includes('TCP 10.96.0.11:80 rr -> 10.244.1.8:8080'));
  await k.ipvs.deleteService(ipvsService({ address: '10.96.0.11', port: 80 }));
  await k.ipvs.addDestination(ipvsService({ address: '10.96.0.10', port: 80 }), { address: '10.244.9.9', port: 1, fwdMethod: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunType: 0, tunPort: 0, tunFlags: 0 });
  await c.sync();
  assert.deepEqual(await ipvsDump(k.ipvs), want);
});

test('--hairpin-mode writes KUBE-ROUTER-HAIRPIN SNAT rules; --service-*-timeout sets IPVS timeouts once', async () => {
  const { cache, k } = setup();
  cache.add('Service', svc());
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')] }));
  const c = newController(cache, k, { hairpinMode: true, serviceTcpTimeout: 600_000, serviceUdpTimeout: 30_000 });
  await c.sync();
  const hairpin = k.iptablesKernel.rules('nat', 'KUBE-ROUTER-HAIRPIN') ?? [];
  assert.ok(hairpin.some((r) => r.includes('10.244.1.5/32') && r.includes('--vaddr 10.96.0.10/32') && r.includes('--to-source 10.96.0.10')), hairpin.join('\n'));
  assert.deepEqual(await k.ipvs.getTimeouts(), { tcp: 600, tcpFin: 120, udp: 30 });
  const before = mutationCount(k);
  await c.sync();
  assert.equal(mutationCount(k), before);
});

test("the filter table is shared: the firewall's reconciler and the proxy keep each other's INPUT jumps", async () => {
  const { cache, k } = setup();
  cache.add('Service', svc());
  const c = newController(cache, k);
  await c.sync();
  const fw = { table: 'filter' as const, chains: new Map([['KUBE-ROUTER-INPUT', ['-j RETURN']]]), jumps: [{ fromChain: 'INPUT', rule: '-j KUBE-ROUTER-INPUT', position: 'first' as const, comment: 'kube-router netpol' }] };
  const owned = (n: string): boolean => n === 'KUBE-ROUTER-INPUT';
  await k.kernel.iptables.apply(fw, { owned });
  const before = mutationCount(k);
  await c.sync();
  assert.equal(mutationCount(k), before, 'the proxy leaves the firewall jump alone');
  assert.equal((await k.kernel.iptables.apply(fw, { owned })).lines, 0, 'the firewall sees nothing to change');
  const input = k.iptablesKernel.rules('filter', 'INPUT') ?? [];
  assert.ok(input.some((r) => r.includes('-j KUBE-ROUTER-SERVICES')) && input.some((r) => r.includes('-j KUBE-ROUTER-INPUT')), input.join('\n'));
  await c.cleanup();
  assert.deepEqual((k.iptablesKernel.rules('filter', 'INPUT') ?? []).filter((r) => r.includes('KUBE-ROUTER-SERVICES')), []);
  assert.ok((k.iptablesKernel.rules('filter', 'INPUT') ?? []).some((r) => r.includes('-j KUBE-ROUTER-INPUT')));
});

test('--ipvs-graceful-termination: a removed endpoint with connections drains at weight 0, then goes when idle or after the period', async () => {
  const { cache, k } = setup();
  cache.add('Service', svc());
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5'), ep('10.244.1.6')] }));
  const c = newController(cache, k, { ipvsGracefulTermination: true, ipvsGracefulPeriod: 400 });
  const weights = async (): Promise<string[]> =>
    (await k.ipvs.listAll()).flatMap((s) => s.destinations.map((d) => `${d.address} w${d.weight}`));
  const until = async (want: string[], ms: number): Promise<void> => {
    for (let t = 0; t < ms && JSON.stringify(await weights()) !== JSON.stringify(want); t += 20) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await weights(), want);
  };
  const service = ipvsService({ address: '10.96.0.10', port: 80, scheduler: 'rr' });
  await c.start();
  try {
    await until(['10.244.1.5 w1', '10.244.1.6 w1'], 2_000);
    // 10.244.1.6 has one connection when it leaves the slice: it stays, at weight 0.
    k.ipvs.setCounters(service, ipvsDestination({ address: '10.244.1.6', port: 8080 }), { activeConns: 1 });
    cache.update('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')], resourceVersion: '2' }));
    await until(['10.244.1.5 w1', '10.244.1.6 w0'], 2_000);
    // The connection closes: the next look (within the period) deletes it.
    k.ipvs.setCounters(service, ipvsDestination({ address: '10.244.1.6', port: 8080 }), { activeConns: 0, inactConns: 0 });
    await until(['10.244.1.5 w1'], 2_000);
    // Another one that never goes idle leaves when its period (400 ms) is over.
    cache.update('EndpointSlice', slice({ endpoints: [ep('10.244.1.5'), ep('10.244.1.7')], resourceVersion: '3' }));
    await until(['10.244.1.5 w1', '10.244.1.7 w1'], 2_000);
    k.ipvs.setCounters(service, ipvsDestination({ address: '10.244.1.7', port: 8080 }), { activeConns: 3 });
    cache.update('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')], resourceVersion: '4' }));
    await until(['10.244.1.5 w1', '10.244.1.7 w0'], 2_000);
    await until(['10.244.1.5 w1'], 2_000);
  } finally {
    await c.stop();
  }
});
