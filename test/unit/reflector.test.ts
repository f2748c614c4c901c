import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import type { ResourceEvent, SharedCache } from '../../src/informers/cache.js';
import { createSharedCache, type ReflectorTuning } from '../../src/informers/shared-cache.js';
import type { Service } from '../../src/informers/types.js';
import {
  ScriptedTransport,
  bookmark,
  captureLogs,
  jsonResponse,
  listPage,
  metricValue,
  rawService,
  until,
  watchStream,
} from './informer-fakes.js';

interface Rig {
  transport: ScriptedTransport;
  cache: SharedCache;
  events: ResourceEvent<Service>[];
  reg: Registry;
  sleeps: number[];
  logs: Record<string, unknown>[];
}

function rig(t: TestContext, tuning: ReflectorTuning = {}): Rig {
  const transport = new ScriptedTransport();
  const reg = new Registry();
  const sleeps: number[] = [];
  const { logger, lines } = captureLogs();
  const cache = createSharedCache({
    kinds: ['Service'],
    logger,
    metrics: reg,
    transport,
    reflector: {
      random: () => 0,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...tuning,
    },
  });
  const events: ResourceEvent<Service>[] = [];
  cache.on('Service', (e) => events.push(e));
  t.after(() => cache.stop());
  return { transport, cache, events, reg, sleeps, logs: lines };
}

const brief = (e: ResourceEvent<Service>): string =>
  `${e.type} ${e.obj.metadata.name}@${e.obj.metadata.resourceVersion}${e.old ? ` old@${e.old.metadata.resourceVersion}` : ''}`;

test('paged list, then a watch from the list resourceVersion with bookmarks and a jittered timeout', async (t) => {
  const r = rig(t, { pageSize: 2, random: () => 0.5 });
  r.transport
    .reply(listPage([rawService('a', 's1', '5'), rawService('a', 's2', '6')], '10', 'tok'))
    .reply(listPage([rawService('b', 's3', '7')], '10'));
  await r.cache.start();
  await r.cache.waitForSync(1000);
  await r.transport.waitForRequests(3);
  assert.deepEqual(r.transport.requests[0], { path: '/api/v1/services', query: { limit: '2' } });
  assert.deepEqual(r.transport.requests[1], { path: '/api/v1/services', query: { limit: '2', continue: 'tok' } });
  assert.deepEqual(r.transport.requests[2], {
    path: '/api/v1/services',
    query: { watch: '1', resourceVersion: '10', allowWatchBookmarks: 'true', timeoutSeconds: '450' },
  });
  assert.deepEqual(r.events.map(brief), ['add s1@5', 'add s2@6', 'add s3@7']);
  assert.equal(r.cache.store('Service').size(), 3);
  assert.equal(r.cache.resourceVersion(), '10');
  assert.equal(await metricValue(r.reg, 'kube_router_informer_lists_total'), 1);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_objects', { resource: 'services' }), 3);
  await r.cache.stop();
});

test('watch events update the store before handlers run; old copies; duplicate deletes dropped; bookmarks advance rv', async (t) => {
  const r = rig(t);
  const w = watchStream();
  r.transport.reply(listPage([rawService('a', 's1', '5')], '10')).reply(w.res);
  const seenInStore: (string | undefined)[] = [];
  r.cache.on('Service', (e) => seenInStore.push(r.cache.store('Service').get('a/s1')?.metadata.resourceVersion));
  await r.cache.start();
  await r.cache.waitForSync(1000);
  await r.transport.waitForRequests(2);
  w.send('MODIFIED', rawService('a', 's1', '11'));
  w.send('ADDED', rawService('a', 's2', '12'));
  w.send('DELETED', rawService('a', 's1', '13'));
  w.send('DELETED', rawService('a', 's1', '14')); // already gone: no event
  w.send('MODIFIED', rawService('a', 's2', '12')); // same rv: no event
  w.send('BOOKMARK', bookmark('20'));
  await until(() => r.cache.resourceVersion() === '20', 2000, 'bookmark rv');
  assert.deepEqual(r.events.map(brief), ['add s1@5', 'update s1@11 old@5', 'add s2@12', 'delete s1@13 old@11']);
  assert.deepEqual(seenInStore, ['5', '11', '11', undefined]);
  assert.equal(r.cache.store('Service').get('a/s1'), undefined);
  assert.deepEqual(r.cache.store('Service').listNamespace('a').map((s) => s.metadata.name), ['s2']);
  await r.cache.stop();
});

test('a line split across chunks is reassembled; a bad line is logged and counted, the rest still processed', async (t) => {
  const r = rig(t);
  const w = watchStream();
  r.transport.reply(listPage([], '10')).reply(w.res);
  await r.cache.start();
  await r.transport.waitForRequests(2);
  const line = JSON.stringify({ type: 'ADDED', object: rawService('a', 's1', '11') });
  w.stream.write(line.slice(0, 17));
  w.stream.write(line.slice(17, 100));
  w.stream.write(`${line.slice(100)}\n{not json\n{"type":"ADDED"}\n`);
  w.send('ADDED', rawService('a', 's2', '12'));
  await until(() => r.events.length === 2, 2000, 'two adds');
  assert.deepEqual(r.events.map(brief), ['add s1@11', 'add s2@12']);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_bad_lines_total', { resource: 'services' }), 2);
  assert.ok(r.logs.some((l) => l.msg === 'informer: bad watch line' && l.why === 'not JSON'));
  await r.cache.stop();
});

test('410 Gone as an ERROR event relists and delivers only the difference', async (t) => {
  const r = rig(t);
  const w = watchStream();
  r.transport
    .reply(listPage([rawService('a', 'same', '1'), rawService('a', 'changed', '2'), rawService('a', 'deleted', '3')], '10'))
    .reply(w.res)
    .reply(listPage([rawService('a', 'same', '1'), rawService('a', 'changed', '25'), rawService('a', 'new', '26')], '30'));
  await r.cache.start();
  await r.transport.waitForRequests(2);
  w.send('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version' });
  await r.transport.waitForRequests(4);
  assert.deepEqual(r.transport.requests[3].query.resourceVersion, '30');
  assert.deepEqual(r.events.slice(3).map(brief), ['update changed@25 old@2', 'add new@26', 'delete deleted@3 old@3']);
  assert.deepEqual(r.cache.store('Service').list().map((s) => s.metadata.name).sort(), ['changed', 'new', 'same']);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_gone_total'), 1);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_relists_total'), 1);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_lists_total'), 2);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_events_total', { type: 'delete' }), 1);
  assert.deepEqual(r.sleeps, [], 'the first relist after a 410 is immediate');
  await r.cache.stop();
});

test('HTTP 410 on the watch request relists', async (t) => {
  const r = rig(t);
  r.transport
    .reply(listPage([rawService('a', 'x', '1')], '10'))
    .reply(jsonResponse(410, { kind: 'Status', code: 410, reason: 'Gone' }))
    .reply(listPage([], '40'));
  await r.cache.start();
  await r.transport.waitForRequests(4);
  assert.deepEqual(r.events.map(brief), ['add x@1', 'delete x@1 old@1']);
  assert.equal(r.transport.requests[3].query.resourceVersion, '40');
  await r.cache.stop();
});

test('connection errors back off exponentially, watch resumes from the last rv, backoff resets after a healthy watch', async (t) => {
  let now = 0;
  const r = rig(t, { now: () => now, backoff: { initialMs: 100, maxMs: 1000 } });
  const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const w = watchStream();
  r.transport.reply(listPage([], '10'));
  for (let i = 0; i < 6; i++) r.transport.reply(refused());
  r.transport.reply(w.res).reply(refused());
  await r.cache.start();
  await r.transport.waitForRequests(8);
  assert.deepEqual(r.sleeps, [100, 200, 400, 800, 1000, 1000]);
  w.send('ADDED', rawService('a', 's1', '15'));
  await until(() => r.events.length === 1);
  now += 5000; // the watch stayed up for 5 s: healthy
  w.stream.end();
  await r.transport.waitForRequests(10);
  assert.deepEqual(r.sleeps.slice(6), [100], 'clean end of a healthy watch reconnects at once; the next error waits the initial delay');
  for (const q of r.transport.requests.slice(1)) assert.equal(q.query.watch, '1');
  assert.equal(r.transport.requests[8].query.resourceVersion, '15');
  assert.equal(await metricValue(r.reg, 'kube_router_informer_watch_errors_total'), 7);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_watch_restarts_total'), 8);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_lists_total'), 1);
  await r.cache.stop();
});

test('an ERROR event other than 410 rewatches from the same rv without relisting', async (t) => {
  const r = rig(t);
  const w = watchStream();
  r.transport.reply(listPage([], '10')).reply(w.res);
  await r.cache.start();
  await r.transport.waitForRequests(2);
  w.send('ADDED', rawService('a', 's1', '12'));
  w.send('ERROR', { kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' });
  await r.transport.waitForRequests(3);
  assert.equal(r.transport.requests[2].query.watch, '1');
  assert.equal(r.transport.requests[2].query.resourceVersion, '12');
  assert.equal(r.sleeps.length, 1);
  assert.ok(r.logs.some((l) => l.msg === 'informer: watch failed' && String(l.err).includes('boom')));
  await r.cache.stop();
});

test('a silent watch is ended by the inactivity timeout and reopened', async (t) => {
  const r = rig(t, { inactivityTimeoutMs: 50 });
  r.transport.reply(listPage([], '10')); // then the transport hangs on every watch
  await r.cache.start();
  await r.transport.waitForRequests(3);
  assert.equal(r.transport.requests[2].query.resourceVersion, '10');
  assert.ok((await metricValue(r.reg, 'kube_router_informer_watch_errors_total')) >= 1);
  await r.cache.stop();
});

test('list failures retry with backoff; a malformed item is skipped and counted', async (t) => {
  const r = rig(t);
  r.transport
    .reply(jsonResponse(500, { kind: 'Status', code: 500, message: 'etcd unavailable' }))
    .reply(new Error('socket hang up'))
    .reply(listPage([rawService('a', 'ok', '1'), { metadata: { namespace: 'a' } }, rawService('a', 'bad', '2', { spec: { ports: 'x' } })], '10'));
  await r.cache.start();
  await r.cache.waitForSync(1000);
  assert.deepEqual(r.sleeps, [100, 200]);
  assert.deepEqual(r.events.map(brief), ['add ok@1']);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_malformed_objects_total'), 2);
  const warn = r.logs.find((l) => l.msg === 'informer: skipping malformed object' && l.object === 'Service a/bad');
  assert.ok(warn, 'warning names kind/namespace/name');
  assert.match(String(warn.err), /spec\.ports/);
  await r.cache.stop();
});

test('a throwing handler is isolated: logged, counted, later handlers still run', async (t) => {
  const r = rig(t);
  r.transport.reply(listPage([rawService('a', 's1', '1')], '10'));
  const order: string[] = [];
  r.cache.on('Service', () => {
    order.push('thrower');
    throw new Error('handler bug');
  });
  r.cache.on('Service', () => order.push('after'));
  await r.cache.start();
  await r.cache.waitForSync(1000);
  assert.deepEqual(order, ['thrower', 'after']);
  assert.equal(r.events.length, 1);
  assert.equal(await metricValue(r.reg, 'kube_router_informer_handler_errors_total'), 1);
  await r.cache.stop();
});

test('stop() ends an open watch promptly and closes the transport', async (t) => {
  const r = rig(t);
  r.transport.reply(listPage([], '10'));
  await r.cache.start();
  await r.transport.waitForRequests(2);
  const t0 = Date.now();
  await r.cache.stop();
  assert.ok(Date.now() - t0 < 200);
  assert.ok(r.transport.closed);
});

test('waitForSync rejects with KR_ERR_CACHE_SYNC naming the kinds that did not list', async () => {
  const transport = new ScriptedTransport();
  const answer = (req: { path: string }) => (req.path.includes('endpointslices') ? new Error('down') : listPage([], '5'));
  transport.reply(answer).reply(answer);
  const cache = createSharedCache({
    kinds: ['Service', 'EndpointSlice'],
    logger: captureLogs('silent').logger,
    metrics: new Registry(),
    transport,
    reflector: { sleep: (ms, signal) => new Promise((res) => signal.addEventListener('abort', () => res(), { once: true })) },
  });
  await cache.start();
  await assert.rejects(cache.waitForSync(100), (err: unknown) => {
    const e = err as { code: string; message: string };
    assert.equal(e.code, 'KR_ERR_CACHE_SYNC');
    assert.match(e.message, /EndpointSlice/);
    assert.doesNotMatch(e.message, /Service,/);
    return true;
  });
  assert.equal(cache.resourceVersion(), '');
  await cache.stop();
});


test('a DELETED event with a malformed object still removes the cached copy; a malformed MODIFIED keeps it', async (t) => {
  const r = rig(t);
  const w = watchStream();
  r.transport.reply(listPage([rawService('a', 's1', '1'), rawService('a', 's2', '2')], '10')).reply(w.res);
  await r.cache.start();
  await r.transport.waitForRequests(2);
  w.send('MODIFIED', rawService('a', 's2', '11', { spec: { ports: 7 } }));
  w.send('DELETED', rawService('a', 's1', '12', { spec: { ports: 7 } }));
  await until(() => r.events.length === 3, 2000, 'delete');
  assert.deepEqual(r.events.slice(2).map(brief), ['delete s1@1 old@1']);
  assert.equal(r.cache.store('Service').get('a/s2')?.metadata.resourceVersion, '2');
  assert.equal(await metricValue(r.reg, 'kube_router_informer_malformed_objects_total'), 2);
});
