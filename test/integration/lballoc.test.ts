// The LoadBalancer allocator against the lab API server over real HTTPS:
// Lease election between two candidates (one leader; take-over once the
// holder stops renewing; release on stop), and two allocator controllers on
// their own informer caches: only the leader writes, a LoadBalancer Service
// gets an address of the range, exhaustion warns naming the Service, a
// deleted Service's address goes to the waiting one.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parseFlags } from '../../src/cmd/options/index.js';
import { LbAllocController } from '../../src/controllers/lballoc/controller.js';
import { LeaderElector } from '../../src/controllers/lballoc/leader-elector.js';
import type { SharedCache } from '../../src/informers/cache.js';
import { loadApiConnection } from '../../src/informers/kubeconfig.js';
import { createSharedCache } from '../../src/informers/shared-cache.js';
import { ApiError, createKubeApi, isConflict, type KubeApi } from '../../src/kube/api-client.js';
import { createLease, getLease, updateLease } from '../../src/kube/leases.js';
import { patchServiceStatus, type JsonPatchOp } from '../../src/kube/service-status.js';
import { startLabApiServer, type RunningLabApiServer, type StoredObject } from '../../src/lab/apiserver/index.js';

let server: RunningLabApiServer;
let api: KubeApi;
let kubeconfig: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-lballoc-it-'));
const quiet = pino({ level: 'silent' });

before(async () => {
  server = await startLabApiServer({ port: 0, bookmarkIntervalMs: 500 });
  kubeconfig = path.join(tmp, 'kubeconfig');
  fs.writeFileSync(kubeconfig, server.kubeconfig());
  api = createKubeApi(await loadApiConnection({ kubeconfig }));
});

after(async () => {
  api?.close();
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An API client that can be cut off (a partitioned node): every call then fails without reaching the server. */
function cuttable(inner: KubeApi): KubeApi & { cut: boolean } {
  const c = {
    cut: false,
    request<T>(req: Parameters<KubeApi['request']>[0]): Promise<T> {
      if (c.cut) return Promise.reject(new ApiError(`${req.method} ${req.path}: cut off`, 0, 'ConnectionFailed', `${req.method} ${req.path}`));
      return inner.request<T>(req);
    },
    close: () => inner.close(),
  };
  return c;
}

const TIMING = { leaseDurationMs: 1200, renewDeadlineMs: 800, retryPeriodMs: 100 };

function elector(name: string, identity: string, client: KubeApi, events: string[]): LeaderElector {
  return new LeaderElector({
    api: client, namespace: 'kube-system', name, identity, ...TIMING,
    onStartedLeading: () => events.push(`${identity} started`),
    onStoppedLeading: () => events.push(`${identity} stopped`),
  });
}

describe('Lease API on the lab API server', () => {
  test('create twice is 409; an update with a stale resourceVersion is 409', async () => {
    const l = await createLease(api, 'kube-system', 'raw-lease', { holderIdentity: 'x', leaseDurationSeconds: 15 });
    assert.equal(l.spec?.holderIdentity, 'x');
    await assert.rejects(createLease(api, 'kube-system', 'raw-lease', { holderIdentity: 'y' }), (e: unknown) => isConflict(e));
    const got = await getLease(api, 'kube-system', 'raw-lease');
    const upd = await updateLease(api, got, { ...got.spec, holderIdentity: 'y' });
    assert.equal(upd.spec?.holderIdentity, 'y');
    assert.notEqual(upd.metadata.resourceVersion, got.metadata.resourceVersion);
    await assert.rejects(updateLease(api, got, { ...got.spec, holderIdentity: 'z' }), (e: unknown) => isConflict(e));
    assert.equal((await getLease(api, 'kube-system', 'raw-lease')).spec?.holderIdentity, 'y');
  });
});

describe('Service status on the lab API server', () => {
  test('a status JSON patch pinned to a stale resourceVersion is 409; a current one edits only the status', async () => {
    const created = server.store.create('Service', lbService('st'));
    const rv = String(created.metadata.resourceVersion);
    const ops = [
      { op: 'add', path: '/metadata/resourceVersion', value: rv },
      { op: 'add', path: '/status/loadBalancer', value: { ingress: [{ ip: '192.0.2.1' }] } },
      { op: 'add', path: '/spec/selector', value: { app: 'changed' } },
    ];
    const written = await patchServiceStatus(api, 'default', 'st', ops as JsonPatchOp[]) as { metadata: { resourceVersion: string } };
    assert.deepEqual(ingressOf('st'), ['192.0.2.1']);
    const stored = server.store.get('Service', 'default', 'st') as unknown as { spec: { selector: Record<string, string> } };
    assert.deepEqual(stored.spec.selector, { app: 'st' }, 'spec is not written through /status');
    assert.notEqual(written.metadata.resourceVersion, rv);
    // The same patch again: its resourceVersion is stale now.
    await assert.rejects(patchServiceStatus(api, 'default', 'st', ops as JsonPatchOp[]), (e: unknown) => isConflict(e));
    server.store.delete('Service', 'default', 'st');
  });

  test('a Lease with a non-positive duration or negative transitions is 422', async () => {
    await assert.rejects(createLease(api, 'kube-system', 'bad-lease', { holderIdentity: 'x', leaseDurationSeconds: 0 }), (e: unknown) => e instanceof ApiError && e.status === 422 && /leaseDurationSeconds/.test(e.message));
    await assert.rejects(createLease(api, 'kube-system', 'bad-lease', { holderIdentity: 'x', leaseTransitions: -1 }), (e: unknown) => e instanceof ApiError && e.status === 422 && /leaseTransitions/.test(e.message));
  });
});

describe('leader election', () => {
  test('two candidates race: exactly one leads; the other takes over once the holder stops renewing', async () => {
    const events: string[] = [];
    const ca = cuttable(api);
    const cb = cuttable(api);
    const a = elector('race', 'cand-a', ca, events);
    const b = elector('race', 'cand-b', cb, events);
    a.start();
    b.start();
    try {
      const first = await until('a leader', () => (a.isLeader() ? a : b.isLeader() ? b : undefined));
      // For two lease durations, never two leaders; the Lease names the one leading.
      const t0 = Date.now();
      while (Date.now() - t0 < 2 * TIMING.leaseDurationMs) {
        assert.ok(!(a.isLeader() && b.isLeader()), 'two leaders at once');
        await new Promise((r) => setTimeout(r, 15));
      }
      assert.ok(first.isLeader(), 'the first leader kept renewing');
      const [winner, loser, winnerCut] = first === a ? ['cand-a', b, ca] : ['cand-b', a, cb];
      const lease = await getLease(api, 'kube-system', 'race');
      assert.equal(lease.spec?.holderIdentity, winner);
      assert.equal(lease.spec?.leaseDurationSeconds, 2);
      const transitions = lease.spec?.leaseTransitions ?? 0;

      // The holder is cut off from the API server: it steps down after the
      // renew deadline; the other takes over after the lease duration.
      const cutAt = Date.now();
      winnerCut.cut = true;
      await until('the other to lead', () => loser.isLeader(), 10_000);
      const tookMs = Date.now() - cutAt;
      assert.ok(!first.isLeader(), 'the cut-off holder stepped down');
      assert.ok(tookMs >= TIMING.leaseDurationMs - 2 * TIMING.retryPeriodMs, `take-over after the lease duration (took ${tookMs} ms)`);
      const after2 = await getLease(api, 'kube-system', 'race');
      assert.equal(after2.spec?.holderIdentity, winner === 'cand-a' ? 'cand-b' : 'cand-a');
      assert.equal(after2.spec?.leaseTransitions, transitions + 1);
      const stoppedAt = events.indexOf(`${winner} stopped`);
      const startedAt = events.indexOf(`${winner === 'cand-a' ? 'cand-b' : 'cand-a'} started`, events.indexOf(`${winner} started`) + 1);
      assert.ok(stoppedAt >= 0 && startedAt > stoppedAt, `the old leader stepped down before the new one started: ${events.join(', ')}`);

      // Back online, the old holder stays a follower.
      winnerCut.cut = false;
      await new Promise((r) => setTimeout(r, 3 * TIMING.retryPeriodMs));
      assert.ok(!first.isLeader() && loser.isLeader());
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('stop() releases the Lease: the follower takes over well before the lease duration', async () => {
    const events: string[] = [];
    const slow = { ...TIMING, leaseDurationMs: 8000, renewDeadlineMs: 5000 };
    const mk = (id: string): LeaderElector =>
      new LeaderElector({ api, namespace: 'kube-system', name: 'release', identity: id, ...slow, onStartedLeading: () => events.push(`${id} started`), onStoppedLeading: () => events.push(`${id} stopped`) });
    const a = mk('rel-a');
    a.start();
    await until('rel-a leads', () => a.isLeader());
    const b = mk('rel-b');
    b.start();
    try {
      await new Promise((r) => setTimeout(r, 3 * slow.retryPeriodMs));
      assert.ok(!b.isLeader());
      const t0 = Date.now();
      await a.stop();
      assert.equal((await getLease(api, 'kube-system', 'release')).spec?.holderIdentity === 'rel-a', false);
      await until('rel-b leads', () => b.isLeader(), 4000);
      assert.ok(Date.now() - t0 < slow.leaseDurationMs / 2, 'took over long before the lease duration');
      assert.deepEqual(events, ['rel-a started', 'rel-a stopped', 'rel-b started']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

// ---- the controller ----

interface Agent {
  node: string;
  cache: SharedCache;
  ctl: LbAllocController;
  registry: Registry;
  lines: Record<string, unknown>[];
}

async function startAgent(node: string, ranges: string): Promise<Agent> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const registry = new Registry();
  const conn = await loadApiConnection({ kubeconfig });
  const cache = createSharedCache({ kubeConfig: conn, kinds: ['Service'], logger: quiet, metrics: registry });
  const options = parseFlags([`--kubeconfig=${kubeconfig}`, '--run-loadbalancer=true', `--loadbalancer-ip-range=${ranges}`, '--loadbalancer-sync-period=30s']).options;
  const ctl = new LbAllocController({
    cache, options, nodeName: node, logger, metrics: registry,
    env: {},
    lease: { namespace: 'kube-system', name: 'lballoc-it', ...TIMING },
  });
  await cache.start();
  await cache.waitForSync(5000);
  await ctl.start();
  return { node, cache, ctl, registry, lines };
}

async function stopAgent(a: Agent): Promise<void> {
  await a.ctl.stop();
  await a.cache.stop();
}

const lbService = (name: string, extra: Record<string, unknown> = {}): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { type: 'LoadBalancer', clusterIP: '10.96.7.' + (10 + name.length), selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30000 + name.length }], ...extra },
});

function ingressOf(name: string): string[] {
  const o = server.store.get('Service', 'default', name) as { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } } | undefined;
  return (o?.status?.loadBalancer?.ingress ?? []).map((e) => e.ip ?? '');
}

async function writes(a: Agent): Promise<number> {
  const m = a.registry.getSingleMetric('kube_router_lballoc_status_writes_total');
  if (!m) return 0;
  return (await m.get()).values.reduce((s, v) => s + v.value, 0);
}

describe('allocator controller', () => {
  test('only the leader writes; a Service gets an address of the range; exhaustion warns naming the Service; a freed address is reused', async () => {
    const a = await startAgent('node-a', '10.200.0.0/31');
    const b = await startAgent('node-b', '10.200.0.0/31');
    try {
      const leader = await until('one leader', () => (a.ctl.isLeader() ? a : b.ctl.isLeader() ? b : undefined));
      const follower = leader === a ? b : a;
      assert.equal(follower.ctl.isLeader(), false);
      assert.equal((await getLease(api, 'kube-system', 'lballoc-it')).spec?.holderIdentity, leader.node, 'identity falls back to the node name without POD_NAME');

      server.store.create('Service', lbService('web'));
      await until('web gets an address', () => ingressOf('web').length > 0);
      assert.deepEqual(ingressOf('web'), ['10.200.0.0']);

      // A second one takes the other address; a plain ClusterIP Service gets none.
      server.store.create('Service', lbService('api'));
      server.store.create('Service', { ...lbService('plain'), spec: { ...lbService('plain').spec as object, type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] } });
      await until('api gets an address', () => ingressOf('api').length > 0);
      assert.deepEqual(ingressOf('api'), ['10.200.0.1']);

      // The range (2 addresses) is exhausted: a warning names the Service and the field.
      server.store.create('Service', lbService('late'));
      const warn = await until('the exhaustion warning', () =>
        leader.lines.find((l) => l.code === 'RangeExhausted' && l.service === 'default/late'),
      );
      assert.equal(warn.field, 'status.loadBalancer.ingress');
      assert.match(String(warn.msg), /^Service default\/late: status\.loadBalancer\.ingress: no free IPv4 address left in --loadbalancer-ip-range 10\.200\.0\.0\/31/);
      assert.deepEqual(ingressOf('late'), []);
      assert.deepEqual(ingressOf('plain'), []);

      // Deleting web frees its address for late.
      server.store.delete('Service', 'default', 'web');
      await until('late gets the freed address', () => ingressOf('late').length > 0);
      assert.deepEqual(ingressOf('late'), ['10.200.0.0']);
      assert.deepEqual(ingressOf('api'), ['10.200.0.1'], 'stable');

      // Only the leader wrote, each Service once (no conflicting double writes).
      assert.equal(await writes(follower), 0);
      assert.equal(follower.ctl.lastReport, undefined);
      // The store shows a write before the leader counts it (the count follows the API's answer).
      let counted = await writes(leader);
      for (const t0 = Date.now(); counted < 3 && Date.now() - t0 < 5000; counted = await writes(leader)) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await writes(leader), 3);
      assert.ok(!follower.lines.some((l) => l.code === 'RangeExhausted'), 'the follower plans nothing');

      // The leader stops (SIGTERM path): it releases, the follower leads and keeps the allocations.
      await stopAgent(leader);
      await until('the follower leads', () => follower.ctl.isLeader(), 5000);
      server.store.create('Service', lbService('after'));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(ingressOf('after'), [], 'the range is still full');
      assert.ok(follower.lines.some((l) => l.code === 'RangeExhausted' && l.service === 'default/after'));
      assert.deepEqual(ingressOf('late'), ['10.200.0.0']);
      assert.deepEqual(ingressOf('api'), ['10.200.0.1']);
    } finally {
      await Promise.allSettled([stopAgent(a), stopAgent(b)]);
    }
  });
});
