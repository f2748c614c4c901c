import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResourceEvent } from '../../src/informers/cache.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { IndexedStore, endpointSliceServiceKey } from '../../src/informers/store.js';
import type { EndpointSlice, Service } from '../../src/informers/types.js';

const slice = (ns: string, name: string, svc: string | undefined): EndpointSlice => ({
  metadata: { name, namespace: ns, labels: svc === undefined ? {} : { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: [],
});

const svc = (ns: string, name: string, port = 80): Service => ({ metadata: { name, namespace: ns }, spec: { ports: [{ port }] } });

test('IndexedStore: key, namespace and secondary indexes follow puts, relabels and removes', () => {
  const s = new IndexedStore<EndpointSlice>(endpointSliceServiceKey);
  s.put(slice('a', 'web-1', 'web'));
  s.put(slice('a', 'web-2', 'web'));
  s.put(slice('b', 'web-1', 'web'));
  s.put(slice('a', 'orphan', undefined));
  assert.equal(s.size(), 4);
  assert.deepEqual(s.byIndexKey('a/web').map((x) => x.metadata.name).sort(), ['web-1', 'web-2']);
  assert.deepEqual(s.byIndexKey('b/web').map((x) => x.metadata.name), ['web-1']);
  assert.deepEqual(s.listNamespace('a').map((x) => x.metadata.name).sort(), ['orphan', 'web-1', 'web-2']);
  // Relabel web-2 to another service: it moves between index buckets.
  s.put(slice('a', 'web-2', 'api'));
  assert.deepEqual(s.byIndexKey('a/web').map((x) => x.metadata.name), ['web-1']);
  assert.deepEqual(s.byIndexKey('a/api').map((x) => x.metadata.name), ['web-2']);
  s.remove('a/web-1');
  assert.deepEqual(s.byIndexKey('a/web'), []);
  assert.equal(s.get('a/web-1'), undefined);
  assert.deepEqual(s.listNamespace('zzz'), []);
  assert.equal(s.remove('a/missing'), undefined);
});

test('FakeSharedCache: same events as the real cache, in order, with old copies and stamped resourceVersions', async () => {
  const c = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice'] });
  const events: string[] = [];
  const seen: ResourceEvent<Service>[] = [];
  const off = c.on('Service', (e) => {
    seen.push(e);
    events.push(`${e.type} ${e.obj.metadata.name} port=${e.obj.spec.ports?.[0].port} old=${e.old?.spec.ports?.[0].port ?? '-'} inStore=${c.store('Service').get('a/s1')?.spec.ports?.[0].port ?? '-'}`);
  });
  await c.start();
  await c.waitForSync(10);
  assert.ok(c.hasSynced());
  c.add('Service', svc('a', 's1', 80));
  c.update('Service', svc('a', 's1', 81));
  c.delete('Service', 'a/s1');
  assert.deepEqual(events, ['add s1 port=80 old=- inStore=80', 'update s1 port=81 old=80 inStore=81', 'delete s1 port=81 old=81 inStore=-']);
  assert.equal(seen[1].old, seen[0].obj);
  assert.equal(c.resourceVersion(), '3');
  assert.throws(() => c.update('Service', svc('a', 'nope')));
  assert.throws(() => c.delete('Service', 'a/s1'));
  c.add('EndpointSlice', slice('a', 'web-1', 'web'));
  assert.deepEqual(c.endpointSlicesFor('a', 'web').map((s) => s.metadata.name), ['web-1']);
  off();
  c.add('Service', svc('a', 's2'));
  assert.equal(events.length, 3, 'unsubscribed');
  assert.throws(() => c.store('Pod'), /does not hold Pod/);
});

test('FakeSharedCache: waitForSync waits for kinds left out of syncOnStart and times out naming them', async () => {
  const c = new FakeSharedCache({ kinds: ['Service', 'Node'], syncOnStart: ['Service'] });
  await c.start();
  assert.equal(c.resourceVersion(), '');
  await assert.rejects(c.waitForSync(20), (e: Error & { code?: string }) => e.code === 'KR_ERR_CACHE_SYNC' && /Node/.test(e.message) && !/Service/.test(e.message.split(':').pop() ?? ''));
  const p = c.waitForSync(1000);
  c.markSynced('Node');
  await p;
  assert.ok(c.hasSynced());
});

test('events of one kind reach every handler in order; a handler may read other stores', async () => {
  const c = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice'] });
  await c.start();
  const log: string[] = [];
  c.on('EndpointSlice', (e) => log.push(`h1 ${e.type} ${e.obj.metadata.name} svc=${c.store('Service').size()}`));
  c.on('EndpointSlice', (e) => log.push(`h2 ${e.type} ${e.obj.metadata.name}`));
  c.add('Service', svc('a', 'web'));
  for (let i = 0; i < 3; i++) c.add('EndpointSlice', slice('a', `web-${i}`, 'web'));
  c.delete('EndpointSlice', 'a/web-1');
  assert.deepEqual(log, [
    'h1 add web-0 svc=1',
    'h2 add web-0',
    'h1 add web-1 svc=1',
    'h2 add web-1',
    'h1 add web-2 svc=1',
    'h2 add web-2',
    'h1 delete web-1 svc=1',
    'h2 delete web-1',
  ]);
  assert.deepEqual(c.endpointSlicesFor('a', 'web').map((s) => s.metadata.name).sort(), ['web-0', 'web-2']);
});

test('stop() settles a pending waitForSync at once (no timer outlives the cache)', async () => {
  const c = new FakeSharedCache({ kinds: ['Service'], syncOnStart: [] });
  await c.start();
  const p = c.waitForSync(60_000);
  const t0 = Date.now();
  await c.stop();
  await assert.rejects(p, (e: Error & { code?: string }) => e.code === 'KR_ERR_CACHE_SYNC' && /stopped before Service listed/.test(e.message));
  assert.ok(Date.now() - t0 < 100);
});
