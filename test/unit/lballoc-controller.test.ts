// The allocator controller on a fake cache and a fake API: only the Lease
// holder writes; its own writes the cache has not shown yet are not handed
// out twice; a write is conditional on the planned resourceVersion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parseFlags } from '../../src/cmd/options/index.js';
import { LbAllocController } from '../../src/controllers/lballoc/controller.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { Service } from '../../src/informers/types.js';
import { ApiError, type ApiRequest, type KubeApi } from '../../src/kube/api-client.js';
import type { Lease } from '../../src/kube/leases.js';
import type { JsonPatchOp } from '../../src/kube/service-status.js';

/** Leases in memory (resourceVersion-checked) and a log of Service status patches. */
class FakeApi implements KubeApi {
  private rv = 1000;
  readonly leases = new Map<string, Lease>();
  readonly patches: { path: string; ops: JsonPatchOp[] }[] = [];
  /** Answer status patches with this HTTP status (e.g. 403 for missing RBAC). */
  failStatus?: number;
  failures = 0;

  async request<T>(req: ApiRequest): Promise<T> {
    const call = `${req.method} ${req.path}`;
    if (req.path.includes('/leases')) {
      const name = req.path.split('/leases')[1].replace(/^\//, '');
      if (req.method === 'GET') {
        const l = this.leases.get(name);
        if (!l) throw new ApiError('not found', 404, 'NotFound', call);
        return structuredClone(l) as T;
      }
      const body = structuredClone(req.body) as Lease;
      const key = body.metadata.name;
      if (req.method === 'POST' && this.leases.has(key)) throw new ApiError('exists', 409, 'AlreadyExists', call);
      if (req.method === 'PUT' && this.leases.get(key)?.metadata.resourceVersion !== body.metadata.resourceVersion) throw new ApiError('conflict', 409, 'Conflict', call);
      body.metadata.resourceVersion = String(++this.rv);
      this.leases.set(key, body);
      return structuredClone(body) as T;
    }
    if (req.method === 'PATCH' && req.path.endsWith('/status')) {
      if (this.failStatus !== undefined) {
        this.failures++;
        throw new ApiError('forbidden', this.failStatus, 'Forbidden', call);
      }
      this.patches.push({ path: req.path, ops: req.body as JsonPatchOp[] });
      return { metadata: { resourceVersion: String(++this.rv) } } as T;
    }
    throw new ApiError(`unexpected ${call}`, 400, 'BadRequest', call);
  }

  close(): void {}
}

const lb = (name: string, created: string): Service => ({
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', ipFamilies: ['IPv4'] },
});

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function controller(cache: FakeSharedCache, api: KubeApi, identity: string, retryIntervalMs = 2000): LbAllocController {
  const options = parseFlags(['--run-loadbalancer', '--loadbalancer-ip-range=10.200.0.0/30']).options;
  return new LbAllocController({
    cache, options, nodeName: identity, logger: pino({ level: 'silent' }), metrics: new Registry(), api, env: {},
    lease: { namespace: 'kube-system', leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 50 },
    minSyncIntervalMs: 1,
    retryIntervalMs,
  });
}

const addedIps = (ops: JsonPatchOp[]): string[] =>
  ops.flatMap((o) => {
    if (o.op !== 'add') return [];
    const v = o.value as { ip?: string; ingress?: { ip: string }[] };
    return v.ingress ? v.ingress.map((e) => e.ip) : v.ip ? [v.ip] : [];
  });

describe('allocator controller (fakes)', () => {
  it('one writer; no address handed out twice while the cache lags; conditional on resourceVersion', async () => {
    const cache = new FakeSharedCache({ kinds: ['Service'] });
    await cache.start();
    const api = new FakeApi();
    const c1 = controller(cache, api, 'n1');
    const c2 = controller(cache, api, 'n2');
    await c1.start();
    await c2.start();
    try {
      await until('a leader', () => c1.isLeader() || c2.isLeader());
      assert.ok(!(c1.isLeader() && c2.isLeader()));

      const a = cache.add('Service', lb('a', '2026-01-01T00:00:00Z'));
      await until('a patched', () => api.patches.length === 1);
      assert.equal(api.patches[0].path, '/api/v1/namespaces/default/services/a/status');
      assert.deepEqual(api.patches[0].ops[0], { op: 'add', path: '/metadata/resourceVersion', value: a.metadata.resourceVersion });
      assert.deepEqual(addedIps(api.patches[0].ops), ['10.200.0.0']);

      // The watch has not brought a's new status yet; b arrives: it must not get 10.200.0.0 too.
      cache.add('Service', lb('b', '2026-01-01T00:00:01Z'));
      await until('b patched', () => api.patches.length === 2);
      assert.match(api.patches[1].path, /services\/b\/status$/);
      assert.deepEqual(addedIps(api.patches[1].ops), ['10.200.0.1']);

      // The watch catches up with a: nothing more to write.
      cache.update('Service', { ...a, status: { loadBalancer: { ingress: [{ ip: '10.200.0.0' }] } } });
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(api.patches.length, 2, api.patches.map((p) => p.path).join(' '));
    } finally {
      await Promise.all([c1.stop(), c2.stop()]);
    }
    // Stopping released the Lease.
    assert.equal(api.leases.get('kube-router-lballoc')?.spec?.holderIdentity, '');
  });

  it('a failed status write (403) is retried and does not fail the sync (health stays good)', async () => {
    const cache = new FakeSharedCache({ kinds: ['Service'] });
    await cache.start();
    const api = new FakeApi();
    api.failStatus = 403;
    const c = controller(cache, api, 'n1', 30);
    await c.start();
    try {
      await until('leader', () => c.isLeader());
      cache.add('Service', lb('a', '2026-01-01T00:00:00Z'));
      await until('retried', () => api.failures >= 3);
      const h = c.health();
      assert.equal(h.lastError, undefined);
      assert.ok(h.lastSyncAt !== undefined);
      assert.equal(api.patches.length, 0);
      api.failStatus = undefined; // RBAC fixed
      await until('written after the fix', () => api.patches.length === 1);
      assert.deepEqual(addedIps(api.patches[0].ops), ['10.200.0.0']);
    } finally {
      await c.stop();
    }
  });
});
