// Stale UDP conntrack flows: a UDP destination removed from a virtual service
// (or a UDP service removed) has its flows deleted; TCP ones are left to IPVS.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conntrackArgs, deletedCount, FakeConntrack } from '../../src/controllers/proxy/conntrack.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { ep, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, newController, nodeObject } from './proxy-controller-helpers.js';

test('conntrack arguments and its deleted count', () => {
  assert.deepEqual(conntrackArgs({ vip: '10.96.0.10', port: 53, endpoint: '10.244.1.5' }), ['-D', '-f', 'ipv4', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--reply-src', '10.244.1.5']);
  assert.deepEqual(conntrackArgs({ vip: 'fd00::a', port: 53 }), ['-D', '-f', 'ipv6', '-p', 'udp', '--orig-dst', 'fd00::a', '--orig-port-dst', '53']);
  assert.equal(deletedCount('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n'), 3);
  assert.equal(deletedCount('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n'), 0);
});

test('removing a UDP endpoint flushes its flows; a TCP endpoint does not; a removed UDP service flushes all its flows', async () => {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  const ports = [
    { name: 'dns', protocol: 'UDP' as const, port: 53, targetPort: 53 },
    { name: 'http', protocol: 'TCP' as const, port: 80, targetPort: 8080 },
  ];
  const slicePorts = [
    { name: 'dns', protocol: 'UDP' as const, port: 53 },
    { name: 'http', protocol: 'TCP' as const, port: 8080 },
  ];
  cache.add('Service', svc({ ports }));
  cache.add('EndpointSlice', slice({ ports: slicePorts, endpoints: [ep('10.244.1.5'), ep('10.244.1.6')] }));
  const k = fakeKernels();
  const ct = new FakeConntrack();
  k.kernel.conntrack = ct;
  const c = newController(cache, k);
  await c.start();
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 50 && c.health().lastSyncResourceVersion !== cache.resourceVersion(); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 250));
  };
  try {
    await settle();
    assert.deepEqual(ct.flushed, []);
    cache.update('EndpointSlice', slice({ ports: slicePorts, endpoints: [ep('10.244.1.6')], resourceVersion: '2' }));
    await settle();
    assert.deepEqual(ct.flushed, [{ vip: '10.96.0.10', port: 53, endpoint: '10.244.1.5' }]);
    cache.delete('Service', 'default/web');
    await settle();
    assert.deepEqual(ct.flushed.slice(1), [{ vip: '10.96.0.10', port: 53, endpoint: undefined }]);
  } finally {
    await c.stop();
  }
});
