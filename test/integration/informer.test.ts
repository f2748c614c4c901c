// The shared informer cache against the lab API server over real HTTPS
// (bearer token, CA from the kubeconfig it writes).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { SharedCache } from '../../src/informers/cache.js';
import { loadApiConnection } from '../../src/informers/kubeconfig.js';
import { createSharedCache } from '../../src/informers/shared-cache.js';
import { ALL_KINDS, objectKey, type KubeObject, type ResourceKind } from '../../src/informers/types.js';
import { startLabApiServer, type RunningLabApiServer, type StoredObject } from '../../src/lab/apiserver/index.js';

let server: RunningLabApiServer;
let cache: SharedCache;
let kubeconfigFile: string;
const reg = new Registry();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-informer-it-'));
/** Per kind: `type key@rv[ old@rv]` in delivery order. */
const events = new Map<ResourceKind, string[]>(ALL_KINDS.map((k) => [k, []]));
const logger = pino({ level: process.env.KR_TEST_LOG ?? 'silent' });

const fmt = (type: string, obj: KubeObject, old?: KubeObject): string =>
  `${type} ${objectKey(obj)}@${obj.metadata.resourceVersion}${old ? ` old@${old.metadata.resourceVersion}` : ''}`;

async function until(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = reg.getSingleMetric(name);
  if (!m) return 0;
  let sum = 0;
  for (const v of (await m.get()).values) {
    if (Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val)) sum += v.value;
  }
  return sum;
}

/** `key@rv` of every object of a kind, sorted: on the server and in the cache. */
function serverState(kind: ResourceKind): string[] {
  return server.store
    .list(kind)
    .items.map((o) => `${objectKey(o as KubeObject)}@${o.metadata.resourceVersion}`)
    .sort();
}
function cacheState(c: SharedCache, kind: ResourceKind): string[] {
  return c
    .store(kind)
    .list()
    .map((o) => `${objectKey(o)}@${o.metadata.resourceVersion}`)
    .sort();
}
function converged(c: SharedCache, kinds: readonly ResourceKind[] = ALL_KINDS): boolean {
  return kinds.every((k) => JSON.stringify(serverState(k)) === JSON.stringify(cacheState(c, k)));
}

const svc = (name: string): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', labels: { app: name } },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
});

before(async () => {
  server = await startLabApiServer({ port: 0, bookmarkIntervalMs: 200 });
  kubeconfigFile = path.join(tmp, 'kubeconfig');
  fs.writeFileSync(kubeconfigFile, server.kubeconfig());
  const kc = await loadApiConnection({ kubeconfig: kubeconfigFile, master: '' });
  cache = createSharedCache({
    kubeConfig: kc,
    kinds: ALL_KINDS,
    logger,
    metrics: reg,
    reflector: { backoff: { initialMs: 50, maxMs: 400 } },
  });
  for (const kind of ALL_KINDS) cache.on(kind, (e) => events.get(kind)?.push(fmt(e.type, e.obj, e.old)));
  await cache.start();
  await cache.waitForSync(5000);
});

after(async () => {
  await cache?.stop();
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const OBJECTS: [ResourceKind, StoredObject][] = [
  ['Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'it-ns' } }],
  ['Service', svc('it-svc')],
  [
    'EndpointSlice',
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'it-svc-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'it-svc' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: 'it-node' }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
  ],
  ['Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'it-node' }, spec: { podCIDR: '10.244.1.0/24' } }],
  ['Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'it-pod', namespace: 'default' }, spec: { nodeName: 'it-node', containers: [{ name: 'c', image: 'x' }] } }],
  [
    'NetworkPolicy',
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'it-np', namespace: 'default' }, spec: { podSelector: {} } },
  ],
];

test('adds, updates and deletes of all six kinds arrive in order with the right old copies', async () => {
  for (const k of ALL_KINDS) events.get(k)!.length = 0;
  const expected = new Map<ResourceKind, string[]>();
  for (const [kind, obj] of OBJECTS) {
    const ns = obj.metadata.namespace;
    const created = server.store.create(kind, obj);
    const patched = server.store.patch(kind, ns, obj.metadata.name, { metadata: { labels: { changed: 'yes' } } });
    const exp = [fmt('add', created as KubeObject), fmt('update', patched as KubeObject, created as KubeObject)];
    if (kind === 'Namespace') {
      expected.set(kind, exp); // deleted last, below
      continue;
    }
    server.store.delete(kind, ns, obj.metadata.name, { gracePeriodSeconds: 0 });
    const finalRv = server.store.resourceVersion();
    exp.push(`delete ${objectKey(obj as KubeObject)}@${finalRv} old@${patched.metadata.resourceVersion}`);
    expected.set(kind, exp);
  }
  for (const [kind, exp] of expected) {
    await until(() => events.get(kind)!.length >= exp.length, `${kind} events`);
    assert.deepEqual(events.get(kind), exp, kind);
    const key = objectKey(OBJECTS.find(([k]) => k === kind)![1] as KubeObject);
    if (kind !== 'Namespace') assert.equal(cache.store(kind).get(key), undefined);
  }
  // The Service's update carried the slimmed labels; the slice index saw the slice come and go.
  assert.deepEqual(cache.endpointSlicesFor('default', 'it-svc'), []);
  server.store.delete('Namespace', undefined, 'it-ns');
  await until(() => cache.store('Namespace').get('it-ns') === undefined, 'namespace deleted');
  const nsEvents = events.get('Namespace')!;
  assert.deepEqual(nsEvents.slice(2).map((e) => e.split(' ')[0]), ['update', 'delete'], 'Terminating, then gone');
  await until(() => converged(cache), 'converged');
});

test('after dropWatches() + compact() with changes in between, the cache converges with exactly the difference', async () => {
  const names = ['keep', 'change', 'remove', 'remove2'];
  for (const n of names) server.store.create('Service', svc(`gone-${n}`));
  await until(() => converged(cache, ['Service']), 'services listed');
  // Let a bookmark move the client to the current version, so compaction really expires it.
  const rvBefore = server.store.resourceVersion();
  await until(() => cache.resourceVersion() === rvBefore, 'bookmarked to current');
  const gone0 = await metric('kube_router_informer_gone_total', { resource: 'services' });
  const relists0 = await metric('kube_router_informer_relists_total', { resource: 'services' });
  const svcEvents = events.get('Service')!;
  const mark = svcEvents.length;

  // All in one tick: the client cannot reconnect before the history is gone.
  server.dropWatches();
  const changed = server.store.patch('Service', 'default', 'gone-change', { metadata: { labels: { v: '2' } } });
  const removed = server.store.get('Service', 'default', 'gone-remove')!;
  const removed2 = server.store.get('Service', 'default', 'gone-remove2')!;
  server.store.delete('Service', 'default', 'gone-remove');
  server.store.delete('Service', 'default', 'gone-remove2');
  const added = server.store.create('Service', svc('gone-new'));
  server.compact();

  await until(() => converged(cache), 'converged after 410');
  await new Promise((r) => setTimeout(r, 300)); // room for spurious late events
  assert.deepEqual(svcEvents.slice(mark).sort(), [
    `add default/gone-new@${added.metadata.resourceVersion}`,
    `delete default/gone-remove2@${removed2.metadata.resourceVersion} old@${removed2.metadata.resourceVersion}`,
    `delete default/gone-remove@${removed.metadata.resourceVersion} old@${removed.metadata.resourceVersion}`,
    `update default/gone-change@${changed.metadata.resourceVersion} old@${rvOf('gone-change', svcEvents)}`,
  ].sort());
  assert.ok((await metric('kube_router_informer_gone_total', { resource: 'services' })) > gone0, '410 counted');
  assert.ok((await metric('kube_router_informer_relists_total', { resource: 'services' })) > relists0, 'relist counted');
  assert.ok((await metric('kube_router_informer_watch_restarts_total')) >= 6);
});

/** The rv of the add event of a service (its state before the change). */
function rvOf(name: string, evs: string[]): string {
  const add = evs.find((e) => e.startsWith(`add default/${name}@`))!;
  return add.split('@')[1];
}

test('an API server restart (stop for a few seconds, start) is survived: reconnect and converge', async () => {
  const errors0 = await metric('kube_router_informer_watch_errors_total');
  const restarts0 = await metric('kube_router_informer_watch_restarts_total');
  const svcEvents = events.get('Service')!;
  const mark = svcEvents.length;
  await server.stop();
  const during = server.store.create('Service', svc('while-down'));
  server.store.patch('Service', 'default', 'gone-keep', { metadata: { labels: { down: 'true' } } });
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(!converged(cache, ['Service']), 'cache cannot have seen changes while the server was down');
  await server.start();
  await until(() => converged(cache), 'converged after restart', 10_000);
  assert.deepEqual(
    svcEvents.slice(mark).map((e) => e.split('@')[0]),
    ['add default/while-down', 'update default/gone-keep'],
  );
  assert.ok(svcEvents.slice(mark)[0].includes(`@${during.metadata.resourceVersion}`));
  assert.ok((await metric('kube_router_informer_watch_errors_total')) > errors0, 'connection errors counted');
  assert.ok((await metric('kube_router_informer_watch_restarts_total')) > restarts0, 'reconnects counted');
});

test('resourceVersion() reaches the server version via bookmarks when only an unwatched kind changed', async () => {
  const nodeOnly = createSharedCache({ kubeConfig: await loadApiConnection({ kubeconfig: kubeconfigFile }), kinds: ['Node'], logger, metrics: new Registry() });
  try {
    await nodeOnly.start();
    await nodeOnly.waitForSync(5000);
    assert.deepEqual(nodeOnly.kinds, ['Node']);
    assert.throws(() => nodeOnly.store('Service'), /does not watch Service/);
    server.store.create('Service', svc('bookmark-only'));
    server.store.create('Lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l1', namespace: 'default' }, spec: {} });
    const target = server.store.resourceVersion();
    await until(() => nodeOnly.resourceVersion() === target && cache.resourceVersion() === target, `rv ${target} on both caches`, 5000);
  } finally {
    const t0 = Date.now();
    await nodeOnly.stop();
    assert.ok(Date.now() - t0 < 500, 'stop() is prompt');
  }
});
