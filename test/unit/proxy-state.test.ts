// Determinism of the compiler, equalCompiled, and the per-service aggregate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import { DesiredProxyState, equalCompiled } from '../../src/controllers/proxy/compile-state.js';
import { ctx, ep, permute, slice, svc } from './proxy-fixtures.js';

function bigSlices() {
  const slices = [];
  for (let s = 0; s < 5; s++) {
    const endpoints = [];
    for (let i = 0; i < 20; i++) endpoints.push(ep(`10.244.${s}.${i + 1}`, i % 3 === 0 ? 'node-a' : 'node-b'));
    slices.push(
      slice({
        name: `web-${s}`,
        endpoints: permute(endpoints, s + 1),
        ports: [
          { name: 'http', protocol: 'TCP', port: 8080 },
          { name: 'dns', protocol: 'UDP', port: 53 },
        ],
      }),
    );
  }
  // The same endpoint moving between two slices.
  slices[4].endpoints.push({ addresses: ['10.244.0.1'], conditions: { ready: true }, nodeName: 'node-a' });
  return slices;
}

const BIG_SVC = svc({
  type: 'LoadBalancer',
  ports: [
    { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 },
    { name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 },
  ],
  annotations: { 'kube-router.io/service.hairpin': '', 'kube-router.io/service.scheduler': 'bogus' },
  spec: { externalIPs: ['203.0.113.9', '203.0.113.5'], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 },
  status: { loadBalancer: { ingress: [{ ip: '198.51.100.9' }, { ip: '198.51.100.7' }] } },
});

test('determinism: shuffled slice and endpoint order give an identical result', () => {
  const slices = bigSlices();
  const ref = compileService(BIG_SVC, slices, ctx());
  assert.equal(ref.services.length, 2 * (1 + 2 + 2 + 1));
  for (let seed = 1; seed <= 10; seed++) {
    const shuffled = permute(slices, seed).map((s) => ({ ...s, endpoints: permute(s.endpoints, seed * 7) }));
    const c = compileService(BIG_SVC, shuffled, ctx());
    assert.deepEqual(c, ref);
    assert.ok(equalCompiled(c, ref));
  }
  // Sorted outputs.
  const keys = ref.services.map((v) => `${v.service.address}`);
  assert.deepEqual(ref.addresses, ['10.96.0.10/32', '198.51.100.7/32', '198.51.100.9/32', '203.0.113.5/32', '203.0.113.9/32']);
  assert.equal(keys[0], '10.96.0.10');
});

test('equalCompiled: annotation-only and resourceVersion changes compile to an equal result', () => {
  const slices = bigSlices();
  const a = compileService(BIG_SVC, slices, ctx());
  const touched = structuredClone(BIG_SVC);
  touched.metadata.resourceVersion = '999';
  touched.metadata.annotations = { ...touched.metadata.annotations, 'deployment.kubernetes.io/revision': '7' };
  const b = compileService(touched, slices.map((s) => ({ ...s, metadata: { ...s.metadata, resourceVersion: '42' } })), ctx());
  assert.ok(equalCompiled(a, b));
  // A scheduler annotation that changes nothing either ('bogus' → rr, 'rr').
  touched.metadata.annotations['kube-router.io/service.scheduler'] = 'rr';
  const c = compileService(touched, slices, ctx());
  assert.ok(equalCompiled(a, c));
  assert.notEqual(a.warnings.length, c.warnings.length); // warnings are not compared

  touched.metadata.annotations['kube-router.io/service.scheduler'] = 'lc';
  assert.ok(!equalCompiled(a, compileService(touched, slices, ctx())));
  const fewer = slices.slice(1);
  assert.ok(!equalCompiled(a, compileService(BIG_SVC, fewer, ctx())));
});

test('DesiredProxyState: recompute one service, report change only when the result differs', () => {
  const state = new DesiredProxyState();
  const s1 = svc({ name: 'a', clusterIP: '10.96.0.1' });
  const s2 = svc({ name: 'b', clusterIP: '10.96.0.2' });
  const sl1 = [slice({ service: 'a', endpoints: [ep('10.244.1.5')] })];
  const first = state.recompute('default/a', s1, sl1, ctx());
  assert.equal(first.changed, true);
  assert.equal(first.previous, undefined);
  assert.equal(state.recompute('default/b', s2, [], ctx()).changed, true);
  assert.deepEqual(state.keys(), ['default/a', 'default/b']);

  const again = state.recompute('default/a', { ...s1, metadata: { ...s1.metadata, resourceVersion: '2' } }, sl1, ctx());
  assert.equal(again.changed, false);
  assert.ok(again.previous && again.current && again.previous !== again.current);

  const scaled = state.recompute('default/a', s1, [slice({ service: 'a', endpoints: [ep('10.244.1.5'), ep('10.244.1.6')] })], ctx());
  assert.equal(scaled.changed, true);
  assert.equal(state.get('default/a')?.services[0].destinations.length, 2);

  const gone = state.recompute('default/a', undefined, [], ctx());
  assert.equal(gone.changed, true);
  assert.equal(gone.current, undefined);
  assert.deepEqual(state.keys(), ['default/b']);
  assert.equal(state.recompute('default/zzz', undefined, [], ctx()).changed, false);
});

test('DesiredProxyState: two services claiming one VIP:port resolve to the lowest key, in any order', () => {
  const a = svc({ name: 'a', clusterIP: '10.96.0.1', spec: { externalIPs: ['203.0.113.5'] } });
  const b = svc({ name: 'b', clusterIP: '10.96.0.2', spec: { externalIPs: ['203.0.113.5'] } });
  for (const order of [[a, b], [b, a]]) {
    const state = new DesiredProxyState();
    for (const s of order) state.recompute(`default/${s.metadata.name}`, s, [], ctx());
    assert.equal(state.ownerOf('TCP 203.0.113.5:80'), 'default/a');
    assert.equal(state.ownerOf('TCP 10.96.0.2:80'), 'default/b');
    assert.deepEqual(state.conflicts(), [{ vsKey: 'TCP 203.0.113.5:80', services: ['default/a', 'default/b'] }]);
    state.recompute('default/a', undefined, [], ctx());
    assert.equal(state.ownerOf('TCP 203.0.113.5:80'), 'default/b');
    assert.deepEqual(state.conflicts(), []);
  }
});

test('a skipped service stored, then deleted, is never a change', () => {
  const state = new DesiredProxyState();
  const ext = svc({ type: 'ExternalName', clusterIP: '', clusterIPs: [] });
  assert.equal(state.recompute('default/web', ext, [], ctx()).changed, false);
  assert.equal(state.get('default/web')?.skipped, 'ExternalName');
  assert.equal(state.recompute('default/web', undefined, [], ctx()).changed, false);
});

test('destinations are in the kernel listing order (compareDestinations), v4 and v6', async () => {
  const { compareDestinations } = await import('../../src/kernel/ipvs/types.js');
  const { compareAddr } = await import('../../src/kernel/rtnl/inet.js');
  const { addrSortKey } = await import('../../src/controllers/proxy/validate-ip.js');
  const v4 = ['10.244.1.10', '10.244.1.9', '9.1.1.1', '10.244.1.100', '255.255.255.255', '0.0.0.0', '10.245.0.1'];
  const v6 = ['fd00::10', 'fd00::9', '2001:db8::1', 'fd00::a:0', 'fd00:0:0:1::'];
  const sorted = [...v4, ...v6].sort(compareAddr);
  assert.deepEqual([...v4, ...v6].sort((a, b) => (addrSortKey(a) < addrSortKey(b) ? -1 : 1)), sorted);
  const c = compileService(svc(), [slice({ endpoints: v4.map((ip) => ep(ip)) })], ctx());
  const d = c.services[0].destinations;
  assert.deepEqual([...d].sort(compareDestinations), d);
  assert.deepEqual(d.map((x) => x.address), v4.slice().sort(compareAddr));
});
