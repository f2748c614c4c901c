// ServiceChangeTracker: dirty Service keys from Service and EndpointSlice
// events, no-ops dropped, bursts coalesced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonEqual, ServiceChangeTracker } from '../../src/controllers/proxy/change-tracker.js';
import type { Service } from '../../src/informers/types.js';
import { ep, slice, svc } from './proxy-fixtures.js';

function bump(s: Service, rv: string, extra: Partial<Service['metadata']> = {}): Service {
  return { ...s, metadata: { ...s.metadata, resourceVersion: rv, ...extra } };
}

test('service add, update and delete mark the service dirty; drain clears', () => {
  const t = new ServiceChangeTracker();
  const s = svc();
  t.onService(undefined, s);
  assert.deepEqual(t.drain(), ['default/web']);
  assert.deepEqual(t.drain(), []);
  t.onService(s, { ...s, spec: { ...s.spec, ports: [{ name: 'http', port: 81 }] } });
  assert.deepEqual(t.drain(), ['default/web']);
  t.onService(s, undefined);
  assert.deepEqual(t.drain(), ['default/web']);
});

test('no-op updates are dropped: resourceVersion bumps and foreign annotations', () => {
  const t = new ServiceChangeTracker();
  const s = svc();
  t.onService(s, bump(s, '2'));
  t.onService(bump(s, '2'), bump(s, '3', { annotations: { 'example.com/owner': 'team-a' } }));
  assert.equal(t.pending, 1);
  assert.deepEqual(t.drain(), []);
  // A kube-router annotation or a proxy label is relevant.
  t.onService(s, bump(s, '4', { annotations: { 'kube-router.io/service.scheduler': 'lc' } }));
  t.onService(svc({ name: 'other' }), svc({ name: 'other', labels: { 'service.kubernetes.io/headless': '' } }));
  assert.deepEqual(t.drain(), ['default/other', 'default/web']);
});

test('a burst that returns to the first state is a no-op (first previous vs latest current)', () => {
  const t = new ServiceChangeTracker();
  const s = svc();
  const changed = { ...s, spec: { ...s.spec, sessionAffinity: 'ClientIP' as const } };
  t.onService(s, changed);
  t.onService(changed, bump(s, '9'));
  assert.deepEqual(t.drain(), []);
  // add then delete before a drain: nothing to do either.
  t.onService(undefined, svc({ name: 'flash' }));
  t.onService(svc({ name: 'flash' }), undefined);
  assert.deepEqual(t.drain(), []);
});

test('endpoint slice events mark their service (by label) dirty; many slices coalesce', () => {
  const t = new ServiceChangeTracker();
  const a = slice({ name: 'web-a', endpoints: [ep('10.244.1.5')] });
  const b = slice({ name: 'web-b', endpoints: [ep('10.244.1.6')] });
  t.onEndpointSlice(undefined, a);
  t.onEndpointSlice(undefined, b);
  t.onEndpointSlice(a, { ...a, endpoints: [...a.endpoints, { addresses: ['10.244.1.9'], conditions: { ready: true } }] });
  t.onEndpointSlice(undefined, slice({ service: 'api', name: 'api-x', endpoints: [ep('10.244.3.1')] }));
  assert.deepEqual(t.drain(), ['default/api', 'default/web']);
  // A slice resourceVersion bump is a no-op.
  t.onEndpointSlice(a, { ...a, metadata: { ...a.metadata, resourceVersion: '77' } });
  assert.deepEqual(t.drain(), []);
  // A condition change is not.
  t.onEndpointSlice(a, { ...a, endpoints: [{ ...a.endpoints[0], conditions: { ready: false, serving: true, terminating: true } }] });
  assert.deepEqual(t.drain(), ['default/web']);
});

test('a slice moving to another service marks both; a slice without the label marks none', () => {
  const t = new ServiceChangeTracker();
  const a = slice({ name: 'x', service: 'old', endpoints: [ep('10.244.1.5')] });
  const moved = { ...a, metadata: { ...a.metadata, labels: { 'kubernetes.io/service-name': 'new' } } };
  t.onEndpointSlice(a, moved);
  const orphan = { ...a, metadata: { ...a.metadata, name: 'orphan', labels: {} } };
  t.onEndpointSlice(undefined, orphan);
  assert.deepEqual(t.drain(), ['default/new', 'default/old']);
});

test('markDirty forces a key (node or flag change, periodic resync)', () => {
  const t = new ServiceChangeTracker();
  t.markDirty('kube-system/kube-dns');
  t.markDirty('kube-system/kube-dns');
  assert.deepEqual(t.drain(), ['kube-system/kube-dns']);
});

test('jsonEqual: structural, undefined properties equal absent ones, arrays ordered', () => {
  assert.ok(jsonEqual({ a: 1, b: undefined, c: [1, { d: 'x' }] }, { c: [1, { d: 'x' }], a: 1 }));
  assert.ok(!jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 0 }));
  assert.ok(!jsonEqual([], {}));
  assert.ok(jsonEqual(undefined, undefined));
  assert.ok(!jsonEqual(undefined, {}));
});
