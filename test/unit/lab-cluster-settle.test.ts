import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChangeTracker,
  agentPending,
  fetchHealth,
  flagValue,
  healthUrl,
  podsPending,
  rvAtLeast,
  type AgentHealthBody,
} from '../../src/lab/guest/lab-cluster-settle.js';
import { createLabCluster, GuestLabCluster } from '../../src/lab/guest/lab-cluster.js';
import { fakeHost, healthBody, namespace, newStore, pod, tick } from './lab-cluster-fakes.js';

test('rvAtLeast compares numerically; nothing wanted is always met; nothing had never is', () => {
  assert.equal(rvAtLeast('10', '9'), true);
  assert.equal(rvAtLeast('9', '10'), false);
  assert.equal(rvAtLeast('10', '10'), true);
  assert.equal(rvAtLeast(undefined, '3'), false);
  assert.equal(rvAtLeast('', '3'), false);
  assert.equal(rvAtLeast(undefined, '0'), true);
});

test('podsPending lists pods not Running with an IP, terminating ones, and skips finished ones', () => {
  const mk = (name: string, status: object, md: object = {}, spec: object = { nodeName: 'node1' }) =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'x', ...md }, spec, status }) as never;
  const pending = podsPending([
    mk('ok', { phase: 'Running', podIP: '10.244.0.2' }),
    mk('noip', { phase: 'Running' }),
    mk('pend', { phase: 'Pending', message: 'CNI ADD failed' }),
    mk('unbound', { phase: 'Pending' }, {}, {}),
    mk('gone', { phase: 'Running', podIP: '10.244.0.3' }, { deletionTimestamp: '2024-01-01T00:00:00Z' }),
    mk('done', { phase: 'Succeeded' }),
  ]);
  assert.deepEqual(pending, [
    'pod x/noip Running on node1: no IP yet',
    'pod x/pend Pending on node1: CNI ADD failed',
    'pod x/unbound Pending (not bound to a node)',
    'pod x/gone terminating on node1',
  ]);
});

test('agentPending: the cache against every kind, each running controller against its own kinds', () => {
  const last: Record<string, string> = { Service: '20', EndpointSlice: '22', Node: '5', Pod: '30', Namespace: '7', NetworkPolicy: '12' };
  const lastChange = (kinds?: readonly string[]): string =>
    String(Math.max(...(kinds ?? Object.keys(last)).map((k) => Number(last[k] ?? 0))));
  // No controllers running: the cache version alone counts.
  assert.deepEqual(agentPending({ node: 'node1', body: healthBody('30') }, lastChange), []);
  assert.deepEqual(agentPending({ node: 'node1', body: healthBody('29') }, lastChange), ['agent node1 cache at rv 29 < 30']);
  // The proxy only needs the last Service/EndpointSlice change (22), the firewall the last Pod change (30).
  assert.deepEqual(agentPending({ node: 'node2', body: healthBody('31', { proxy: '22', firewall: '30' }) }, lastChange), []);
  assert.deepEqual(agentPending({ node: 'node2', body: healthBody('31', { proxy: '21', firewall: undefined }) }, lastChange), [
    'agent node2 proxy at rv 21 < 22',
    'agent node2 firewall at rv none (no sync yet) < 30',
  ]);
  // A controller listed as not running (not built yet) does not count.
  const notBuilt: AgentHealthBody = { cacheSynced: true, resourceVersion: '30', controllers: [{ name: 'routing', running: false }] };
  assert.deepEqual(agentPending({ node: 'node3', body: notBuilt }, lastChange), []);
  // Kinds given by the body win over the table.
  const withKinds: AgentHealthBody = { cacheSynced: true, resourceVersion: '30', controllers: [{ name: 'proxy', running: true, lastSyncResourceVersion: '8', kinds: ['Node', 'Namespace'] }] };
  assert.deepEqual(agentPending({ node: 'node3', body: withKinds }, lastChange), []);
  assert.deepEqual(agentPending({ node: 'node3', body: { cacheSynced: false, resourceVersion: '' } }, lastChange), ['agent node3: informer cache not synced yet']);
  // An agent without controllers watches nothing: synced, with no version (as the agent reports it).
  assert.deepEqual(agentPending({ node: 'node3', body: { cacheSynced: true, resourceVersion: '', controllers: [] } }, lastChange), []);
  assert.deepEqual(agentPending({ node: 'node3', error: 'ECONNREFUSED' }, lastChange), ['agent node3: /healthz ECONNREFUSED']);
});

test('ChangeTracker follows changes of the agent kinds only', () => {
  const store = newStore();
  const t = new ChangeTracker(store);
  const start = t.lastChange();
  store.create('Lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'default' } });
  assert.equal(t.lastChange(), start, 'a Lease is no change the agent sees');
  const ns = store.create('Namespace', namespace('x'));
  assert.equal(t.lastChange(), ns.metadata.resourceVersion);
  assert.equal(t.lastChange(['Service']) < ns.metadata.resourceVersion!, true);
  store.delete('Namespace', undefined, 'x');
  assert.equal(t.lastChange(['Namespace']), store.resourceVersion());
  t.stop();
});

test('flagValue and healthUrl read --health-addr/--health-port as the agent does', () => {
  assert.equal(flagValue(['--health-port=1', '--health-port', '2'], 'health-port'), '2');
  assert.deepEqual(healthUrl([], '192.168.56.11'), { url: 'http://192.168.56.11:20244/healthz' });
  assert.deepEqual(healthUrl(['--health-port=9999', '--health-addr=0.0.0.0'], '192.168.56.12'), { url: 'http://192.168.56.12:9999/healthz' });
  assert.match(healthUrl(['--health-port=0'], '192.168.56.11').reason ?? '', /disabled/);
  assert.match(healthUrl(['--health-addr=127.0.0.1'], '192.168.56.11').reason ?? '', /not reachable/);
});

test('fetchHealth reads the JSON body of a 503 and names a refused connection', async () => {
  const server = http.createServer((_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(healthBody('7'))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const r = await fetchHealth(`http://127.0.0.1:${port}/healthz`);
  assert.equal(r.body?.resourceVersion, '7');
  await new Promise((r2) => server.close(r2));
  const refused = await fetchHealth(`http://127.0.0.1:${port}/healthz`, 500);
  assert.equal(refused.error, 'ECONNREFUSED');
});

test('settle waits for pods and agents, then reports settled; on timeout it lists what is pending', async () => {
  const host = fakeHost();
  for (const n of ['node1', 'node2', 'node3']) await host.agents.start(n);
  // The agents lag: node2 catches up only after a few polls.
  let polls = 0;
  const fetch = async (url: string) => {
    polls++;
    const rv = host.api.store.resourceVersion();
    if (url.includes('.12:') && polls < 10) return { body: healthBody('1') };
    return { body: healthBody(rv, { proxy: rv }) };
  };
  const c = new GuestLabCluster(host, { fetchHealth: fetch, pollMs: 5 });
  await c.apply([namespace('x'), pod('x', 'a'), pod('x', 'b')]);
  const r = await c.settle(5000);
  assert.deepEqual(r, { settled: true, pending: [] });
  assert.ok(polls >= 10, 'settle waited for node2');
  for (const p of host.api.store.list('Pod').items) assert.equal((p.status as { phase: string }).phase, 'Running');

  // A pod no kubelet runs, and an agent that stays behind.
  await c.apply([pod('x', 'lost', { nodeName: 'node9' })]);
  const stuck = new GuestLabCluster(host, { fetchHealth: async (u) => (u.includes('.13:') ? { error: 'ECONNREFUSED' } : { body: healthBody('999999') }), pollMs: 5 });
  const t = await stuck.settle(50);
  assert.equal(t.settled, false);
  assert.deepEqual(t.pending, ['pod x/lost Pending on node9', 'agent node3: /healthz http://192.168.56.13:20244/healthz: ECONNREFUSED']);
});

test('settle reports an agent that should run but exited, and ignores one a scenario stopped', async () => {
  const host = fakeHost();
  for (const n of ['node1', 'node2', 'node3']) await host.agents.start(n);
  const c = createLabCluster(host, { fetchHealth: async () => ({ body: healthBody('999999') }), pollMs: 5 });
  await c.stopAgent('node1');
  host.agents.status.set('node2', { ...host.agents.statusOf('node2'), running: false, lastExit: { code: 1, signal: null, at: 't' } });
  const r = await c.settle(30);
  assert.equal(r.settled, false);
  assert.equal(r.pending.length, 1);
  assert.match(r.pending[0], /^agent node2: \/healthz unanswered: the agent is not running: exited \(code 1 at t\)/);
  await tick();
});

test('settle waits for the controller-manager to be idle before judging', async () => {
  const host = fakeHost();
  let idleCalls = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  host.cm = {
    idle: async () => {
      idleCalls++;
      await gate;
    },
  };
  const c = createLabCluster(host, { fetchHealth: async () => ({ body: healthBody('999999') }), pollMs: 5 });
  let done = false;
  const p = c.settle(5000).then((r) => ((done = true), r));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(done, false);
  release();
  assert.deepEqual(await p, { settled: true, pending: [] });
  assert.ok(idleCalls >= 2);
});
