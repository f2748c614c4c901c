// applyRoutePlan: the same kernel result whether the Rtnl batches route
// writes (writeRoutes) or not; a failed write is named and the rest done.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyRoutePlan } from '../../src/controllers/routing/kernel-routes.js';
import { planRoutes } from '../../src/controllers/routing/routes-plan.js';
import { FakeRtnl } from '../../src/kernel/rtnl/fake.js';
import { AF_INET } from '../../src/kernel/rtnl/inet.js';
import type { RouteWrite, Rtnl } from '../../src/kernel/rtnl/types.js';

function kernel(): FakeRtnl {
  const rtnl = new FakeRtnl();
  const eth0 = rtnl.addLink('eth0');
  void rtnl.addAddress(eth0.index, { address: '10.0.0.1', prefixLen: 24, scope: 0 });
  return rtnl;
}

function plan(n: number, nextHop = '10.0.0.2') {
  return planRoutes({
    paths: Array.from({ length: n }, (_, i) => ({ prefix: `10.244.${i}.0/24`, nextHop })),
    nodeIps: { ipv4: '10.0.0.1' },
    connectedSubnets: ['10.0.0.1/24'],
    podCidrs: ['10.244.200.0/24'],
    enableOverlay: true,
    overlayType: 'subnet',
  });
}

/** The FakeRtnl without writeRoutes (route-by-route callers). */
function unbatched(inner: FakeRtnl): Rtnl {
  return new Proxy(inner, {
    get(t, p, r) {
      if (p === 'writeRoutes') return undefined;
      const v: unknown = Reflect.get(t, p, r);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

async function routes(rtnl: Rtnl): Promise<string[]> {
  return (await rtnl.listRoutes({ family: AF_INET, protocol: 0x11 })).map((r) => `${r.dst} via ${r.gateway}`);
}

describe('kernel routes: batched and route by route', () => {
  for (const [name, wrap] of [
    ['writeRoutes', (k: FakeRtnl): Rtnl => k],
    ['route by route', unbatched],
  ] as const) {
    it(`${name}: installs, replaces a changed next hop, removes the stale`, async () => {
      const k = kernel();
      const rtnl = wrap(k);
      let res = await applyRoutePlan(rtnl, plan(3));
      assert.deepEqual([res.added, res.removed, res.synced, res.errors.length], [3, 0, 3, 0]);
      assert.deepEqual(await routes(rtnl), ['10.244.0.0/24 via 10.0.0.2', '10.244.1.0/24 via 10.0.0.2', '10.244.2.0/24 via 10.0.0.2']);
      res = await applyRoutePlan(rtnl, plan(2, '10.0.0.3'));
      assert.deepEqual([res.added, res.removed, res.synced, res.errors.length], [0, 1, 2, 0]);
      assert.deepEqual(await routes(rtnl), ['10.244.0.0/24 via 10.0.0.3', '10.244.1.0/24 via 10.0.0.3']);
      const before = k.mutations;
      res = await applyRoutePlan(rtnl, plan(2, '10.0.0.3'));
      assert.equal(k.mutations, before, 'nothing to do: no write');
      assert.deepEqual([res.added, res.removed, res.synced], [0, 0, 2]);
    });
  }

  it('a failed write in a batch is an error naming the route; the others are done', async () => {
    const k = kernel();
    const failing = new Proxy(k, {
      get(t, p, r) {
        if (p === 'writeRoutes') {
          return async (writes: readonly RouteWrite[]) => {
            const out = await t.writeRoutes(writes.filter((w) => w.route.dst !== '10.244.1.0/24'));
            return writes.map((w) => (w.route.dst === '10.244.1.0/24' ? new Error('ENETUNREACH') : out.shift()));
          };
        }
        const v: unknown = Reflect.get(t, p, r);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const res = await applyRoutePlan(failing, plan(3));
    assert.equal(res.added, 2);
    assert.equal(res.errors.length, 1);
    assert.match(res.errors[0].message, /replace route 10\.244\.1\.0\/24 via 10\.0\.0\.2 table 254: ENETUNREACH/);
    assert.deepEqual(await routes(k), ['10.244.0.0/24 via 10.0.0.2', '10.244.2.0/24 via 10.0.0.2']);
  });
});
