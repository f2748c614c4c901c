import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../src/lab/apiserver/types.js';
import type { HoldHandle, HoldSummary, ProbeSpec } from '../../src/lab/cluster/kubelet/index.js';
import { KubeRouterError } from '../../src/errors.js';
import type { Place, ProbeRequest } from '../../src/lab/scenario/cluster.js';
import { createLabCluster, GuestLabCluster } from '../../src/lab/guest/lab-cluster.js';
import { groupBySource, probeBatch, responderBody, toProbeResult } from '../../src/lab/guest/lab-cluster-probe.js';
import { planReset } from '../../src/lab/guest/lab-cluster-reset.js';
import { podRecreateReason } from '../../src/lab/guest/lab-cluster-apply.js';
import { fakeHost, healthBody, namespace, pod, tick } from './lab-cluster-fakes.js';

const up = async () => ({ body: healthBody('999999') });

function svc(ns: string, name: string, extra: object = {}): StoredObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...extra } };
}

function isLabError(re: RegExp) {
  return (err: unknown) => err instanceof KubeRouterError && err.code === 'KR_ERR_LAB' && re.test(err.message);
}

// ---- reset ----

test('planReset selects non-system namespaces and non-system objects in the system namespaces', () => {
  const host = fakeHost();
  const s = host.api.store;
  s.create('Service', svc('default', 'kubernetes'));
  s.create('EndpointSlice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default' }, addressType: 'IPv4', endpoints: [] });
  s.create('EndpointSlice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abc', namespace: 'default', labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } }, addressType: 'IPv4', endpoints: [] });
  s.create('EndpointSlice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'manual', namespace: 'default' }, addressType: 'IPv4', endpoints: [] });
  s.create('Service', svc('default', 'web'));
  s.create('NetworkPolicy', { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'kube-system' }, spec: { podSelector: {} } });
  s.create('Lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'kube-system' } });
  s.create('Namespace', namespace('x'));
  s.create('Pod', pod('x', 'a', { nodeName: 'node1' }));
  s.create('Pod', pod('default', 'p'));
  const plan = planReset(s);
  assert.deepEqual(plan.namespaces, ['x']);
  assert.deepEqual(
    plan.objects.map((o) => `${o.kind} ${o.namespace}/${o.name}`).sort(),
    ['EndpointSlice default/manual', 'NetworkPolicy kube-system/deny', 'Pod default/p', 'Service default/web'],
  );
  assert.deepEqual(
    plan.pods.map((p) => [`${p.namespace}/${p.name}`, p.node, p.netns?.startsWith('pod-x-a-')]),
    [
      ['default/p', undefined, undefined],
      ['x/a', 'node1', true],
    ],
  );
});

test('reset deletes what files created and returns only when the pods and their netns are gone', async () => {
  const host = fakeHost();
  const c = new GuestLabCluster(host, { fetchHealth: up, pollMs: 5 });
  await c.apply([namespace('x'), pod('x', 'a'), pod('x', 'b'), pod('default', 'd'), svc('default', 'web')]);
  await tick();
  await tick();
  assert.equal(host.netns.size, 3);
  for (const k of host.kubelets) k.holdTeardown = true;
  let done = false;
  const p = c.reset().then(() => (done = true));
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(done, false, 'reset waits while the kubelets still tear down');
  assert.equal(host.api.store.get('Namespace', undefined, 'x'), undefined);
  for (const k of host.kubelets) k.finishTeardowns();
  await p;
  assert.equal(host.netns.size, 0);
  assert.deepEqual(host.api.store.list('Pod').items, []);
  assert.equal(host.api.store.get('Service', 'default', 'web'), undefined);
  assert.ok(host.api.store.get('Namespace', undefined, 'default'));
  assert.equal(host.api.store.list('Node').items.length, 3, 'nodes stay');
});

test('reset names the pods that do not go within its timeout', async () => {
  const host = fakeHost();
  const c = new GuestLabCluster(host, { fetchHealth: up, pollMs: 5, resetTimeoutMs: 40 });
  await c.apply([namespace('x'), pod('x', 'a', { nodeName: 'node2' })]);
  await tick();
  for (const k of host.kubelets) k.holdTeardown = true;
  await assert.rejects(c.reset(), isLabError(/reset: deleted pods not gone after 40 ms: pod x\/a still set up on node2/));
});

// ---- apply ----

test('apply creates, then replaces with the current resourceVersion, keeping allocated values', async () => {
  const host = fakeHost();
  const c = createLabCluster(host, { fetchHealth: up });
  await c.apply([svc('default', 'web', { type: 'NodePort', clusterIP: '10.96.0.50' })]);
  const first = await c.get('Service', undefined, 'web');
  assert.ok(first);
  await c.apply([{ ...svc('default', 'web', { type: 'NodePort' }), metadata: { name: 'web', labels: { v: '2' } } }]);
  const second = await c.get('Service', 'default', 'web');
  assert.equal(second?.metadata.uid, first.metadata.uid, 'replaced, not re-created');
  assert.equal(second?.metadata.labels?.v, '2');
  assert.equal((second?.spec as { clusterIP: string }).clusterIP, '10.96.0.50');
  assert.ok(Number(second?.metadata.resourceVersion) > Number(first.metadata.resourceVersion));
});

test('apply binds unbound pods round-robin; a relabelled pod keeps its node and uid; changed ports re-create it', async () => {
  const host = fakeHost();
  const c = new GuestLabCluster(host, { fetchHealth: up, pollMs: 5 });
  await c.apply([namespace('x'), pod('x', 'a'), pod('x', 'b'), pod('x', 'c'), pod('x', 'd')]);
  const nodeOf = async (n: string) => ((await c.get('Pod', 'x', n))?.spec as { nodeName?: string }).nodeName;
  assert.deepEqual([await nodeOf('a'), await nodeOf('b'), await nodeOf('c'), await nodeOf('d')], ['node1', 'node2', 'node3', 'node1']);
  await tick();
  const before = await c.get('Pod', 'x', 'b');
  await c.apply([pod('x', 'b', { labels: { role: 'db' } })]);
  const relabelled = await c.get('Pod', 'x', 'b');
  assert.equal(relabelled?.metadata.uid, before?.metadata.uid);
  assert.equal(relabelled?.metadata.labels?.role, 'db');
  assert.equal(await nodeOf('b'), 'node2');
  assert.equal((relabelled?.status as { phase: string }).phase, 'Running', 'status kept');

  await c.apply([pod('x', 'b', { ports: [80, 81] })]);
  const recreated = await c.get('Pod', 'x', 'b');
  assert.notEqual(recreated?.metadata.uid, before?.metadata.uid);
  assert.equal(await nodeOf('b'), 'node2', 'bound again (least loaded node)');
  assert.ok(host.logs.some((l) => /re-creating Pod x\/b \(container ports changed\)/.test(l)));
});

test('podRecreateReason: node, hostNetwork and ports, not labels', () => {
  const cur = { ...pod('x', 'a'), spec: { nodeName: 'node1', containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'TCP' }] }] } };
  assert.equal(podRecreateReason(cur, pod('x', 'a', { labels: { a: 'b' } })), undefined);
  assert.equal(podRecreateReason(cur, pod('x', 'a', { nodeName: 'node1' })), undefined);
  assert.equal(podRecreateReason(cur, pod('x', 'a', { nodeName: 'node2' })), 'node node1 -> node2');
  assert.equal(podRecreateReason(cur, pod('x', 'a', { ports: [81] })), 'container ports changed');
});

test('apply and delete name the object they fail on; a missing object is no error to delete', async () => {
  const host = fakeHost();
  const c = createLabCluster(host, { fetchHealth: up });
  await assert.rejects(c.apply([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'x' } }]), (err: unknown) => {
    assert.ok(err instanceof KubeRouterError && err.code === 'KR_ERR_LAB');
    assert.equal(err.context.object, 'Deployment x/web');
    return true;
  });
  await assert.rejects(c.apply([pod('nope', 'a')]), (err: unknown) => {
    assert.ok(err instanceof KubeRouterError && err.code === 'KR_ERR_LAB');
    assert.equal(err.context.object, 'Pod nope/a');
    assert.match(err.message, /^apply Pod nope\/a: .*nope/);
    return true;
  });
  await c.delete([{ kind: 'NetworkPolicy', namespace: 'x', name: 'gone' }, { kind: 'Namespace', name: 'gone' }]);
  await c.apply([svc('default', 'web')]);
  await c.delete([{ kind: 'Service', name: 'web' }]);
  assert.deepEqual(await c.list('Service', 'default'), []);
});

// ---- probe ----

test('groupBySource keeps first-seen order and batch indexes', () => {
  const req = (from: Place, toIP: string): ProbeRequest => ({ from, toIP, port: 80, protocol: 'TCP', timeoutMs: 1000 });
  const a: Place = { kind: 'pod', namespace: 'x', name: 'a' };
  const n1: Place = { kind: 'node', name: 'node1' };
  const groups = groupBySource([req(a, '1'), req(n1, '2'), req(a, '3'), req({ ...a }, '4')]);
  assert.deepEqual(
    groups.map((g) => [g.from, g.items.map((i) => i.index)]),
    [
      [a, [0, 2, 3]],
      [n1, [1]],
    ],
  );
});

test('probeBatch: one prober call per source, in parallel, results in request order', async () => {
  const calls: { from: string; specs: ProbeSpec[] }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const run = async (from: Place, specs: ProbeSpec[]) => {
    calls.push({ from: from.kind === 'node' ? from.name : `${from.namespace}/${from.name}`, specs });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 10));
    inFlight--;
    if (from.kind === 'node' && from.name === 'node9') throw new Error('no node "node9"');
    return specs.map((s) => ({ id: s.id ?? '', status: s.port === 80 ? ('ok' as const) : s.port === 81 ? ('refused' as const) : ('timeout' as const), body: s.port === 80 ? `x/b client=${s.ip}:1234` : '', latencyMs: 3 }));
  };
  const a: Place = { kind: 'pod', namespace: 'x', name: 'a' };
  const b: Place = { kind: 'pod', namespace: 'x', name: 'b' };
  const batch: ProbeRequest[] = [
    { from: a, toIP: '10.0.0.1', port: 80, protocol: 'TCP', timeoutMs: 1000 },
    { from: b, toIP: '10.0.0.2', port: 81, protocol: 'UDP', timeoutMs: 500 },
    { from: a, toIP: '10.0.0.3', port: 82, protocol: 'TCP', timeoutMs: 1000 },
    { from: a, toIP: '10.0.0.4', port: 80, protocol: 'SCTP', timeoutMs: 1000 },
    { from: { kind: 'node', name: 'node9' }, toIP: '10.0.0.5', port: 80, protocol: 'TCP', timeoutMs: 1000 },
  ];
  const rs = await probeBatch(batch, run);
  assert.equal(calls.length, 3, 'one prober per source');
  assert.equal(maxInFlight, 3, 'sources probed in parallel');
  assert.deepEqual(calls[0].specs, [
    { id: '0', protocol: 'TCP', ip: '10.0.0.1', port: 80, timeoutMs: 1000 },
    { id: '2', protocol: 'TCP', ip: '10.0.0.3', port: 82, timeoutMs: 1000 },
  ]);
  assert.deepEqual(rs[0], { connected: true, body: 'x/b', client: '10.0.0.1:1234', ms: 3 });
  assert.deepEqual(rs[1], { connected: false, error: 'ECONNREFUSED', ms: 3 });
  assert.deepEqual(rs[2], { connected: false, error: 'timeout', ms: 3 });
  assert.match(rs[3].error ?? '', /SCTP is not supported/);
  assert.deepEqual(rs[4], { connected: false, error: 'probing from node9: no node "node9"' });
});

test('responder bodies and prober statuses map to the scenario result', () => {
  assert.equal(responderBody('y/a client=10.244.1.2:40000'), 'y/a');
  assert.equal(responderBody('something else'), 'something else');
  assert.deepEqual(toProbeResult({ id: '0', status: 'error', body: 'socket: EMFILE', latencyMs: 0 }), { connected: false, error: 'socket: EMFILE', ms: 0 });
});

test('probe from pods goes to the kubelet that runs them; from an unknown pod every probe errs', async () => {
  const host = fakeHost();
  const c = createLabCluster(host, { fetchHealth: up });
  await c.apply([namespace('x'), pod('x', 'a', { nodeName: 'node2' })]);
  const rs = await c.probe([
    { from: { kind: 'pod', namespace: 'x', name: 'a' }, toIP: '10.1.1.1', port: 80, protocol: 'TCP', timeoutMs: 1000 },
    { from: { kind: 'pod', namespace: 'x', name: 'zz' }, toIP: '10.1.1.1', port: 80, protocol: 'TCP', timeoutMs: 1000 },
  ]);
  assert.deepEqual(rs[0], { connected: true, body: 'x/a', client: '10.0.0.1:4000', ms: 1 });
  assert.match(rs[1].error ?? '', /pod x\/zz is not running on any node/);
  assert.equal(host.kubelets[1].probes.length, 1);
});

// ---- exec, hold, nodes ----

test('exec runs sh in the node or pod namespaces with stderr merged; an unknown place is a lab error', async () => {
  const host = fakeHost();
  const ran: string[][] = [];
  const c = createLabCluster(host, { fetchHealth: up, run: async (argv) => (ran.push(argv), { exitCode: 3, output: 'out' }) });
  assert.deepEqual(await c.exec({ kind: 'node', name: 'node1' }, 'ipvsadm -Ln', 1000), { exitCode: 3, output: 'out' });
  await c.exec({ kind: 'pod', namespace: 'x', name: 'a' }, 'ip addr', 1000);
  assert.deepEqual(ran, [
    ['enter', 'node1', 'sh', '-c', 'exec 2>&1\nipvsadm -Ln'],
    ['enter-pod', 'x/a', 'sh', '-c', 'exec 2>&1\nip addr'],
  ]);
  await assert.rejects(c.exec({ kind: 'pod', namespace: 'missing', name: 'a' }, 'true', 1000), isLabError(/^exec on missing\/a: no pod/));
  await assert.rejects(c.exec({ kind: 'node', name: 'peer' }, 'true', 1000), isLabError(/^exec on peer: no node/));
});

test('hold keeps the handle until release; a failed connection rejects naming the hold', async () => {
  const host = fakeHost();
  const summaries: Record<string, HoldSummary> = {
    ok: { lines: 10, sent: 9, maxGapMs: 120 },
    cut: { lines: 3, sent: 5, maxGapMs: 900, error: 'ECONNRESET' },
    refused: { lines: 0, sent: 0, maxGapMs: 0, error: 'Connection refused' },
  };
  const hold = async (_from: Place, ip: string): Promise<HoldHandle> => ({ connected: ip !== 'refused', release: async () => summaries[ip] });
  const c = createLabCluster(host, { fetchHealth: up, hold });
  const from: Place = { kind: 'pod', namespace: 'x', name: 'a' };
  await c.hold('c1', from, 'ok', 80);
  await c.hold('c2', from, 'cut', 80);
  await assert.rejects(c.hold('c1', from, 'ok', 80), isLabError(/already held/));
  await assert.rejects(c.hold('c3', from, 'refused', 80), isLabError(/^hold c3 from x\/a to refused:80: not connected: Connection refused/));
  assert.deepEqual(await c.release('c1'), { broken: false, maxGapMs: 120 });
  assert.deepEqual(await c.release('c2'), { broken: true, maxGapMs: 900, error: 'ECONNRESET' });
  await assert.rejects(c.release('c1'), isLabError(/no connection of that name/));
});

test('nodes lists node1..N with their underlay IPs, then the router', async () => {
  const c = createLabCluster(fakeHost({ router: true }), { fetchHealth: up });
  assert.deepEqual(await c.nodes(), [
    { name: 'node1', ips: ['192.168.56.11'], role: 'node' },
    { name: 'node2', ips: ['192.168.56.12'], role: 'node' },
    { name: 'node3', ips: ['192.168.56.13'], role: 'node' },
    { name: 'router', ips: ['192.168.56.254', '192.168.57.1'], role: 'router' },
  ]);
});

// ---- agents, configure, API server ----

test('configure restarts agents only when agentArgs differ, and starts agents a previous file stopped', async () => {
  const host = fakeHost({ agentArgs: ['--run-router=false'] });
  for (const n of ['node1', 'node2', 'node3']) await host.agents.start(n);
  host.agents.calls.length = 0;
  const c = new GuestLabCluster(host, { fetchHealth: up, pollMs: 5 });
  const spec = { nodes: 3, secondSubnet: false, agentArgs: ['--run-router=false'], externalPeer: false };
  await c.configure(spec);
  assert.deepEqual(host.agents.calls, [], 'same spec: nothing to do');
  await c.configure({ ...spec, agentArgs: ['--run-firewall=true'] });
  assert.deepEqual(host.agents.calls, [
    'setBaseArgs --run-firewall=true',
    'stop node1 TERM',
    'stop node2 TERM',
    'stop node3 TERM',
    'start node1 running',
    'start node2 running',
    'start node3 running',
  ]);
  assert.deepEqual(host.agents.statusOf('node2').args, ['--run-firewall=true']);
  await c.stopAgent('node2');
  host.agents.calls.length = 0;
  await c.configure({ ...spec, agentArgs: ['--run-firewall=true'] });
  assert.deepEqual(host.agents.calls, ['start node2 running']);
});

test('configure refuses a topology the VM does not have, and an external peer', async () => {
  const c = createLabCluster(fakeHost(), { fetchHealth: up });
  await assert.rejects(c.configure({ nodes: 4, secondSubnet: false, agentArgs: [], externalPeer: false }), isLabError(/wants 4 nodes; this VM was booted with 3/));
  await assert.rejects(c.configure({ nodes: 3, secondSubnet: true, agentArgs: [], externalPeer: false }), isLabError(/last behind a router/));
  await assert.rejects(c.configure({ nodes: 3, secondSubnet: false, agentArgs: [], externalPeer: true }), isLabError(/externalPeer/));
});

test('startAgent waits for /healthz (running) or returns the exit status; an agent that dies at start is an error', async () => {
  const host = fakeHost();
  let answers = 0;
  const fetch = async () => (++answers < 3 ? { error: 'ECONNREFUSED' } : { body: healthBody('1') });
  const c = createLabCluster(host, { fetchHealth: fetch, pollMs: 5 });
  assert.equal(await c.startAgent('node1', ['--v=3'], 'running'), null);
  assert.equal(answers, 3);
  host.agents.exitCode = 0;
  await c.stopAgent('node1');
  assert.equal(await c.startAgent('node1', ['--cleanup-config'], 'exit'), 0);
  host.agents.crashOnStart = true;
  await assert.rejects(c.startAgent('node2', [], 'running'), isLabError(/^agent node2 exited \(code 1/));
  host.agents.crashOnStart = false;
  await c.startAgent('node3', ['--v=3'], 'running');
  await c.restartAgent('node3', 'KILL');
  assert.deepEqual(host.agents.statusOf('node3').args, ['--v=3'], 'restarted with the same flags');
  assert.ok(host.agents.calls.includes('restart node3 KILL'));
});

test('restartApiServer stops, waits, and starts the API server', async () => {
  const host = fakeHost();
  const c = createLabCluster(host, { fetchHealth: up });
  const t0 = Date.now();
  await c.restartApiServer(30);
  assert.ok(Date.now() - t0 >= 25);
  assert.deepEqual(host.logs, ['api stop', 'api start']);
});

test('configure waits until every agent (also those started at boot) answers /healthz', async () => {
  const host = fakeHost();
  for (const n of ['node1', 'node2', 'node3']) await host.agents.start(n);
  const asked = new Map<string, number>();
  const fetch = async (url: string) => {
    asked.set(url, (asked.get(url) ?? 0) + 1);
    return url.includes('.13:') && (asked.get(url) ?? 0) < 4 ? { error: 'ECONNREFUSED' } : { body: healthBody('1') };
  };
  const c = createLabCluster(host, { fetchHealth: fetch, pollMs: 5 });
  await c.configure({ nodes: 3, secondSubnet: false, agentArgs: [], externalPeer: false });
  assert.equal(asked.get('http://192.168.56.13:20244/healthz'), 4);
  assert.deepEqual(host.agents.calls, ['start node1 running', 'start node2 running', 'start node3 running'], 'no restart');
});
