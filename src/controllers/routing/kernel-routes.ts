// Applies a RoutePlan (routes-plan.ts) to the kernel through rtnetlink, and
// removes what we own (cleanup). Only objects that are recognisably ours are
// ever touched: routes with protocol 0x11 in the main table and table 77,
// links named `tun-` + 11 hex of kind ipip/ip6tnl, and rules at priority
// 32765 looking up table 77.

import { errorMessage, KubeRouterError } from '../../errors.js';
import { AF_INET, AF_INET6, type AddressFamily } from '../../kernel/rtnl/inet.js';
import { ruleEntry, ruleKey, type RouteEntry, type RouteSpec, type RouteWrite, type Rtnl } from '../../kernel/rtnl/types.js';
import { MAIN_TABLE, PBR_RULE_PRIORITY, PBR_TABLE, ROUTE_PROTOCOL, type PlannedRoute, type RoutePlan } from './routes-plan.js';
import { isTunnelName } from './tunnel-name.js';

const FAMILIES: AddressFamily[] = [AF_INET, AF_INET6];
const TUNNEL_KINDS = new Set(['ipip', 'ip6tnl']);

export interface RouteApplyResult {
  added: number;
  removed: number;
  /** Routes (main table) in place after the apply. */
  synced: number;
  tunnelsAdded: number;
  tunnelsRemoved: number;
  errors: KubeRouterError[];
}

function routeError(call: string, r: PlannedRoute | RouteEntry, err: unknown, via?: string): KubeRouterError {
  const how = 'gateway' in r && r.gateway ? ` via ${r.gateway}` : via ? ` dev ${via}` : '';
  return new KubeRouterError('KR_ERR_KERNEL', `${call} route ${r.dst}${how} table ${r.table}: ${errorMessage(err)}`, { call, value: r.dst }, { cause: err });
}

/** Same route as the kernel holds it: gateway, output link, src. */
function sameRoute(have: RouteEntry, want: PlannedRoute, linkIndex: Map<string, number>): boolean {
  if ((want.gateway ?? '') !== (have.gateway ?? '')) return false;
  if (want.oif !== undefined && linkIndex.get(want.oif) !== have.oif) return false;
  if (want.src !== undefined && want.src !== have.src) return false;
  return true;
}

/** Our routes in the main table and table 77. */
async function ownedRoutes(rtnl: Rtnl): Promise<RouteEntry[]> {
  const out: RouteEntry[] = [];
  // One dump per family (the kernel dumps every table anyway), our two tables kept.
  for (const family of FAMILIES) {
    for (const r of await rtnl.listRoutes({ family, protocol: ROUTE_PROTOCOL })) if (r.table === MAIN_TABLE || r.table === PBR_TABLE) out.push(r);
  }
  return out;
}

/**
 * Brings tunnels, routes and rules to the plan. Tunnels first (routes refer
 * to them), stale routes removed before stale tunnels. `force` replaces every
 * desired route even when it looks right (the periodic re-assert).
 * `removeStale` false keeps routes and tunnels that are not in the plan
 * (after a restart, until BGP has re-learned what the kernel still holds).
 */
export async function applyRoutePlan(rtnl: Rtnl, plan: RoutePlan, force = false, removeStale = true): Promise<RouteApplyResult> {
  const res: RouteApplyResult = { added: 0, removed: 0, synced: 0, tunnelsAdded: 0, tunnelsRemoved: 0, errors: [] };
  const links = await rtnl.listLinks();
  const existingTunnels = links.filter((l) => isTunnelName(l.name) && TUNNEL_KINDS.has(l.kind));
  const linkIndex = new Map(links.map((l) => [l.name, l.index]));
  for (const t of plan.tunnels) {
    if (linkIndex.has(t.name)) continue;
    try {
      const l = await rtnl.ensureTunnel(t.name, { mode: t.mode, local: t.local, remote: t.remote });
      linkIndex.set(l.name, l.index);
      res.tunnelsAdded++;
    } catch (err) {
      res.errors.push(new KubeRouterError('KR_ERR_KERNEL', `creating tunnel ${t.name} to ${t.remote}: ${errorMessage(err)}`, { value: t.remote }, { cause: err }));
    }
  }

  const want = [...plan.routes, ...plan.pbrRoutes];
  const wantKey = new Map(want.map((r) => [`${r.table} ${r.dst}`, r]));
  const have = await ownedRoutes(rtnl);
  const haveKey = new Map(have.map((r) => [`${r.table} ${r.dst}`, r]));
  // Stale routes first, then the desired ones, all in one rtnetlink batch
  // where the implementation has one (one round trip per chunk of routes).
  const writes: { write: RouteWrite; onDone: () => void; onError: (err: unknown) => void }[] = [];
  for (const r of have) {
    const w = wantKey.get(`${r.table} ${r.dst}`);
    if (w && sameRoute(r, w, linkIndex)) continue;
    if (w) continue; // replaced below
    if (!removeStale) continue;
    writes.push({
      write: { op: 'delete', route: { dst: r.dst, table: r.table, protocol: r.protocol, priority: r.priority } },
      onDone: () => res.removed++,
      onError: (err) => res.errors.push(routeError('delete', r, err)),
    });
  }
  for (const w of want) {
    const h = haveKey.get(`${w.table} ${w.dst}`);
    if (h && !force && sameRoute(h, w, linkIndex)) {
      if (w.table === MAIN_TABLE) res.synced++;
      continue;
    }
    if (w.oif !== undefined && !linkIndex.has(w.oif)) continue; // its tunnel failed (error recorded)
    const spec: RouteSpec = { dst: w.dst, table: w.table, protocol: w.protocol };
    if (w.gateway !== undefined) spec.gateway = w.gateway;
    if (w.oif !== undefined) spec.oif = w.oif;
    if (w.src !== undefined) spec.src = w.src;
    if (w.scope !== undefined) spec.scope = w.scope;
    writes.push({
      write: { op: 'replace', route: spec },
      onDone: () => {
        if (!h) res.added++;
        if (w.table === MAIN_TABLE) res.synced++;
      },
      onError: (err) => res.errors.push(routeError('replace', w, err, w.oif)),
    });
  }
  await writeAll(rtnl, writes);

  const wantTunnels = new Set(plan.tunnels.map((t) => t.name));
  for (const l of existingTunnels) {
    if (wantTunnels.has(l.name) || !removeStale) continue;
    try {
      await rtnl.deleteLink(l.name);
      res.tunnelsRemoved++;
    } catch (err) {
      res.errors.push(new KubeRouterError('KR_ERR_KERNEL', `deleting tunnel ${l.name}: ${errorMessage(err)}`, { value: l.name }, { cause: err }));
    }
  }
  res.errors.push(...(await syncRules(rtnl, plan)));
  return res;
}

/** The writes through rtnl.writeRoutes when it has it, else one call per route. */
async function writeAll(rtnl: Rtnl, writes: readonly { write: RouteWrite; onDone: () => void; onError: (err: unknown) => void }[]): Promise<void> {
  if (writes.length === 0) return;
  if (rtnl.writeRoutes !== undefined) {
    const results = await rtnl.writeRoutes(writes.map((w) => w.write));
    writes.forEach((w, i) => (results[i] === undefined ? w.onDone() : w.onError(results[i])));
    return;
  }
  for (const w of writes) {
    try {
      if (w.write.op === 'delete') await rtnl.deleteRoute(w.write.route);
      else await rtnl.replaceRoute(w.write.route);
      w.onDone();
    } catch (err) {
      w.onError(err);
    }
  }
}

/** Our table-77 rules (priority 32765, lookup 77) made exactly the plan's. */
async function syncRules(rtnl: Rtnl, plan: RoutePlan): Promise<KubeRouterError[]> {
  const errors: KubeRouterError[] = [];
  const want = new Map(plan.rules.map((r) => [ruleKey(ruleEntry(r)), r]));
  for (const family of FAMILIES) {
    const have = (await rtnl.listRules(family)).filter((r) => r.priority === PBR_RULE_PRIORITY && r.table === PBR_TABLE);
    const haveKeys = new Set(have.map(ruleKey));
    for (const r of have) {
      if (want.has(ruleKey(r))) continue;
      try {
        await rtnl.deleteRule({ family: r.family, priority: r.priority, table: r.table, src: r.src });
      } catch (err) {
        errors.push(new KubeRouterError('KR_ERR_KERNEL', `deleting rule from ${r.src || 'all'} lookup ${r.table}: ${errorMessage(err)}`, { value: r.src }, { cause: err }));
      }
    }
    for (const [key, r] of want) {
      if (r.family !== family || haveKeys.has(key)) continue;
      try {
        await rtnl.addRule(r);
      } catch (err) {
        errors.push(new KubeRouterError('KR_ERR_KERNEL', `adding rule from ${r.src} lookup ${r.table}: ${errorMessage(err)}`, { value: r.src }, { cause: err }));
      }
    }
  }
  return errors;
}

/** cleanup(): every route, tunnel and rule of ours. */
export async function removeOwnedRoutes(rtnl: Rtnl): Promise<RouteApplyResult> {
  return applyRoutePlan(rtnl, { routes: [], pbrRoutes: [], tunnels: [], rules: [], skipped: [] });
}
