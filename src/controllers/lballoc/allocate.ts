// The allocation itself, pure: every Service of the cache plus the pools in,
// the ingress list each served Service should have (only those that change)
// and warnings out. No I/O; the controller writes the changes.
//
// Rules (kube-router's where it has one):
//   - An address "in use" is any Service's spec.externalIPs entry or ingress
//     IP that lies in the pools (kube-router's getAllocatedIPs); addresses of
//     deleted Services are simply no longer in the input, so they are free.
//   - Stable: a Service keeps the in-range addresses it already has; a family
//     that already has an ingress address (in range or not) gets no new one.
//   - Conflicts: when two Services hold the same in-range address, the one
//     not served here (another class: its status is not ours) or else the
//     older one (creationTimestamp, then ns/name) keeps it; the other loses it
//     and gets a new one in the same plan.
//   - A Service that is no longer type LoadBalancer gives back its in-range
//     addresses (kube-router leaves them, so they would stay taken forever).
//   - spec.loadBalancerIP (ignored by kube-router): inside a range and free,
//     that address is the Service's one for its family (replacing another
//     in-range one it had); outside the ranges, taken or malformed, a warning
//     and no address for that family rather than a surprise one.
//   - RequireDualStack: both families or none (kube-router).
//   - New addresses: the next free one after the family's cursor, wrapping.

import type { IPFamily, Service } from '../../informers/types.js';
import { parseIp } from '../proxy/validate-ip.js';
import { isServedClass, requiresDualStack, serviceKey, wantedFamilies } from './eligibility.js';
import { nextFree, poolsContain, type Pools } from './ranges.js';
import type { AllocationWarning } from './warnings.js';

export type IngressEntry = NonNullable<NonNullable<NonNullable<Service['status']>['loadBalancer']>['ingress']>[number];

export type Cursor = Partial<Record<IPFamily, string>>;

export interface AllocationInput {
  /** Every Service in the cache (all types: their externalIPs and ingress count as in use). */
  services: readonly Service[];
  pools: Pools;
  /** --loadbalancer-default-class. */
  defaultClass: boolean;
  /** Last address handed out per family (round robin); absent: start at each pool's first address. */
  cursor?: Cursor;
}

export interface ServiceChange {
  key: string;
  namespace: string;
  name: string;
  /** The resourceVersion the plan was made from (the write is conditional on it). */
  resourceVersion?: string;
  /** The ingress list now (from the cache). */
  current: readonly IngressEntry[];
  /** The ingress list it should have. */
  desired: IngressEntry[];
  added: string[];
  removed: string[];
  /** Indexes into `current` of the entries that go (for an index-based patch). */
  removeIndexes: number[];
}

export interface AllocationPlan {
  /** Services whose ingress must change, in ns/name order. */
  changes: ServiceChange[];
  warnings: AllocationWarning[];
  /** The cursor after this plan's allocations. */
  cursor: Cursor;
  /** In-range addresses in use once the plan is applied, per family. */
  inUse: Record<IPFamily, number>;
}

interface Work {
  svc: Service;
  key: string;
  served: boolean;
  current: IngressEntry[];
  remove: Set<string>;
  add: { ip: string; family: IPFamily }[];
  /** The same address appears twice in its list: the second entry goes. */
  dedupe: boolean;
}

function byAge(a: Work, b: Work): number {
  const ta = a.svc.metadata.creationTimestamp ?? '';
  const tb = b.svc.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Canonical address and family of an ingress entry, when it has a parseable IP. */
function entryIp(e: IngressEntry): { addr: string; family: IPFamily } | undefined {
  return e.ip === undefined || e.ip === '' ? undefined : parseIp(e.ip);
}

export function planAllocations(input: AllocationInput): AllocationPlan {
  const { pools } = input;
  const cursor: Cursor = { ...(input.cursor ?? {}) };
  const warnings: AllocationWarning[] = [];
  const claims = new Map<string, string>(); // address -> key of the holder
  const reserved = new Set<string>(); // externalIPs in range: never handed out

  const works: Work[] = input.services.map((svc) => ({
    svc,
    key: serviceKey(svc),
    served: isServedClass(svc, input.defaultClass),
    current: [...(svc.status?.loadBalancer?.ingress ?? [])],
    remove: new Set<string>(),
    add: [],
    dedupe: false,
  }));
  works.sort(byAge);

  for (const w of works) {
    for (const ext of w.svc.spec.externalIPs ?? []) {
      const ip = parseIp(ext);
      if (ip && poolsContain(pools, ip.addr)) reserved.add(ip.addr);
    }
  }

  // 1. Existing in-range ingress addresses: fixed holders first (Services we
  //    may not modify), then served ones oldest first; a Service that is no
  //    longer a LoadBalancer gives its addresses back.
  const fixed = works.filter((w) => !w.served && w.svc.spec.type === 'LoadBalancer');
  const served = works.filter((w) => w.served);
  for (const w of works) {
    if (w.svc.spec.type === 'LoadBalancer') continue;
    for (const e of w.current) {
      const ip = entryIp(e);
      if (ip && poolsContain(pools, ip.addr)) w.remove.add(ip.addr);
    }
  }
  for (const w of fixed) {
    for (const e of w.current) {
      const ip = entryIp(e);
      if (ip && poolsContain(pools, ip.addr) && !claims.has(ip.addr)) claims.set(ip.addr, w.key);
    }
  }
  for (const w of served) {
    const seen = new Set<string>();
    for (const e of w.current) {
      const ip = entryIp(e);
      if (!ip || !poolsContain(pools, ip.addr)) continue;
      if (seen.has(ip.addr)) {
        w.dedupe = true;
        continue;
      }
      seen.add(ip.addr);
      const holder = claims.get(ip.addr);
      if (holder !== undefined && holder !== w.key) {
        w.remove.add(ip.addr);
        warnings.push({
          code: 'IPConflict',
          service: w.key,
          field: 'status.loadBalancer.ingress',
          family: ip.family,
          ip: ip.addr,
          other: holder,
          message: `${ip.addr} is also the address of Service ${holder}, which keeps it; a new address is allocated`,
        });
        continue;
      }
      claims.set(ip.addr, w.key);
    }
  }

  // Every address no new allocation may take: the claims plus the reserved
  // externalIPs, kept up to date as claims change (one set for the whole plan).
  const taken = new Set<string>([...claims.keys(), ...reserved]);
  const hasFamily = (w: Work, family: IPFamily): boolean =>
    w.current.some((e) => {
      const ip = entryIp(e);
      return ip !== undefined && ip.family === family && !w.remove.has(ip.addr);
    }) || w.add.some((a) => a.family === family);

  // 2. spec.loadBalancerIP, oldest Service first, before any free allocation.
  const requestedFamily = new Map<string, IPFamily>(); // key -> family settled by the request
  const skipFree = new Set<string>(); // a malformed request: nothing is allocated
  for (const w of served) {
    const asked = (w.svc.spec.loadBalancerIP ?? '').trim();
    if (asked === '') continue;
    const field = 'spec.loadBalancerIP';
    const ip = parseIp(asked);
    if (!ip) {
      warnings.push({ code: 'RequestedIPInvalid', service: w.key, field, ip: asked, message: `"${asked}" is not an IP address; no address is allocated` });
      skipFree.add(w.key);
      continue;
    }
    requestedFamily.set(w.key, ip.family);
    if (!wantedFamilies(w.svc).includes(ip.family)) {
      warnings.push({ code: 'RequestedIPWrongFamily', service: w.key, field, family: ip.family, ip: ip.addr, message: `${ip.addr} is ${ip.family} but spec.ipFamilies is [${wantedFamilies(w.svc).join(', ')}]; no address is allocated` });
      skipFree.add(w.key);
      continue;
    }
    if (!poolsContain(pools, ip.addr)) {
      const ranges = pools[ip.family].ranges.map((r) => r.text).join(', ') || 'none';
      warnings.push({ code: 'RequestedIPOutsideRange', service: w.key, field, family: ip.family, ip: ip.addr, message: `${ip.addr} is outside --loadbalancer-ip-range (${ip.family}: ${ranges}); no ${ip.family} address is allocated` });
      continue;
    }
    const holder = claims.get(ip.addr);
    if (holder === w.key) continue; // already has it
    if (holder !== undefined || reserved.has(ip.addr)) {
      const by = holder !== undefined ? `Service ${holder}` : 'an externalIP';
      warnings.push({ code: 'RequestedIPInUse', service: w.key, field, family: ip.family, ip: ip.addr, other: holder, message: `${ip.addr} is in use by ${by}; no ${ip.family} address is allocated` });
      continue;
    }
    // It replaces the in-range address(es) of that family the Service had.
    for (const e of w.current) {
      const cur = entryIp(e);
      if (cur && cur.family === ip.family && poolsContain(pools, cur.addr) && claims.get(cur.addr) === w.key) {
        w.remove.add(cur.addr);
        claims.delete(cur.addr);
        if (!reserved.has(cur.addr)) taken.delete(cur.addr);
      }
    }
    claims.set(ip.addr, w.key);
    taken.add(ip.addr);
    w.add.push({ ip: ip.addr, family: ip.family });
  }

  // 3. Free allocation for the families still missing, oldest Service first.
  const exhausted = new Set<IPFamily>();
  for (const w of served) {
    if (skipFree.has(w.key)) continue;
    const wanted = wantedFamilies(w.svc);
    const settled = requestedFamily.get(w.key);
    const missing = wanted.filter((f) => f !== settled && !hasFamily(w, f));
    if (missing.length === 0) continue;
    const dual = requiresDualStack(w.svc);
    const noRange = wanted.filter((f) => pools[f].ranges.length === 0);
    if (dual && noRange.length > 0) {
      warnings.push({
        code: 'DualStackUnsatisfiable', service: w.key, field: 'spec.ipFamilyPolicy', family: noRange[0],
        message: `RequireDualStack needs an ${noRange.join(' and ')} address but no --loadbalancer-ip-range of that family is configured; nothing is allocated`,
      });
      continue;
    }
    if (noRange.length === wanted.length) {
      warnings.push({
        code: 'NoRangeForFamily', service: w.key, field: 'spec.ipFamilies', family: wanted[0],
        message: `no --loadbalancer-ip-range of family ${wanted.join('/')} is configured`,
      });
      continue;
    }
    const picked: { ip: string; family: IPFamily }[] = [];
    let failed = false;
    for (const family of missing) {
      if (pools[family].ranges.length === 0) continue; // PreferDualStack without that family's range: served with the other
      // Once a family's pool is full nothing in this pass frees one: skip the scan.
      const ip = exhausted.has(family) ? undefined : nextFree(pools[family], taken, cursor[family]);
      if (ip === undefined) {
        exhausted.add(family);
        failed = true;
        warnings.push({
          code: 'RangeExhausted', service: w.key, field: 'status.loadBalancer.ingress', family,
          message: `no free ${family} address left in --loadbalancer-ip-range ${pools[family].ranges.map((r) => r.text).join(', ')}`,
        });
        continue;
      }
      taken.add(ip);
      picked.push({ ip, family });
    }
    if (failed && dual) {
      for (const p of picked) taken.delete(p.ip); // both or none
      continue;
    }
    for (const p of picked) {
      claims.set(p.ip, w.key);
      cursor[p.family] = p.ip;
      w.add.push(p);
    }
  }

  // 4. The changed lists: kept entries in their order, new ones appended.
  const changes: ServiceChange[] = [];
  for (const w of works) {
    if (w.remove.size === 0 && w.add.length === 0 && !w.dedupe) continue;
    const kept = new Set<string>();
    const removeIndexes: number[] = [];
    const desired: IngressEntry[] = w.current.filter((e, i) => {
      const ip = entryIp(e);
      if (ip === undefined) return true;
      if (w.remove.has(ip.addr) || (kept.has(ip.addr) && poolsContain(pools, ip.addr))) {
        removeIndexes.push(i);
        return false;
      }
      kept.add(ip.addr);
      return true;
    });
    for (const a of w.add) desired.push({ ip: a.ip });
    changes.push({
      key: w.key,
      namespace: w.svc.metadata.namespace ?? '',
      name: w.svc.metadata.name,
      resourceVersion: w.svc.metadata.resourceVersion,
      current: w.current,
      desired,
      added: w.add.map((a) => a.ip),
      removed: [...w.remove],
      removeIndexes,
    });
  }
  changes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const inUse: Record<IPFamily, number> = { IPv4: 0, IPv6: 0 };
  for (const addr of taken) {
    const ip = parseIp(addr);
    if (ip) inUse[ip.family]++;
  }
  return { changes, warnings, cursor, inUse };
}
