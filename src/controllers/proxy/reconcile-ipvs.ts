// The IPVS part of the proxy's reconcile: a pure diff of the desired virtual
// services (with their destinations) against what the kernel listed, into
// the minimum list of mutations in dependency order:
//   1. services added or updated (scheduler, flags, persistence),
//   2. destinations added or updated (their service exists by then),
//   3. destinations deleted,
//   4. services deleted (last: the kernel drops their destinations with them).
// Only kernel services inside the managed ranges and outside --excluded-cidrs
// are ever deleted, so a user's own IPVS services survive. A partial diff
// (`scope`) looks only at the virtual services of the Services that changed.

import { isDsrMark } from './compile-dsr.js';
import {
  destinationConfig,
  destinationEqual,
  destinationKey,
  serviceConfig,
  serviceEqual,
  serviceKey,
  type IpvsDestination,
  type IpvsDestinationEntry,
  type IpvsOp,
  type IpvsService,
  type IpvsServiceWithDestinations,
} from '../../kernel/ipvs/types.js';
import { inAnyCidr, parseCidrs, parseIp, type Cidr } from './validate-ip.js';

/** What one service key should be in the kernel. */
export interface DesiredVirtualService {
  service: IpvsService;
  destinations: readonly IpvsDestination[];
}

/** Which kernel services this controller may delete. */
export interface ManagedRanges {
  /** Service cluster IP, external IP and LoadBalancer ranges. */
  cidrs: Cidr[];
  /** Node addresses (NodePort VIPs), canonical text. */
  addresses: Set<string>;
  /** --excluded-cidrs: never touched. */
  excluded: Cidr[];
}

export function managedRanges(cidrs: readonly string[], addresses: Iterable<string>, excluded: readonly string[]): ManagedRanges {
  const set = new Set<string>();
  for (const a of addresses) {
    const ip = parseIp(a);
    if (ip) set.add(ip.addr);
  }
  return { cidrs: parseCidrs(cidrs), addresses: set, excluded: parseCidrs(excluded) };
}

/**
 * Whether a kernel service is ours to delete: an address service in the
 * managed ranges, not excluded, or a fwmark service in the DSR mark space
 * (1..0x3FFF, compile-dsr.ts).
 */
export function isManaged(svc: Pick<IpvsService, 'address' | 'fwmark'>, r: ManagedRanges): boolean {
  if (svc.fwmark) return isDsrMark(svc.fwmark);
  if (svc.address === '') return false;
  if (inAnyCidr(svc.address, r.excluded)) return false;
  return r.addresses.has(svc.address) || inAnyCidr(svc.address, r.cidrs);
}

/**
 * Graceful termination (--ipvs-graceful-termination, kube-router's and
 * kube-proxy's rule): a TCP destination that is no longer wanted but still
 * has connections (active + inactive) gets weight 0 and stays until it has
 * none or its grace period is over; UDP and SCTP destinations go at once
 * (with expire_nodest_conn their flows move on at the next packet).
 */
export interface DrainOptions {
  periodMs: number;
  now: number;
  /** drainKey -> when its draining started (from earlier plans). */
  since: ReadonlyMap<string, number>;
}

/** Identity of one destination of one virtual service, for the drain bookkeeping. */
export function drainKey(svcKey: string, dest: Pick<IpvsDestination, 'address' | 'port'>): string {
  return `${svcKey}|${destinationKey(dest)}`;
}

/** The virtual service key of a drainKey. */
export function drainService(key: string): string {
  return key.slice(0, key.lastIndexOf('|'));
}

function mayDrain(service: IpvsService, d: IpvsDestinationEntry): boolean {
  return service.protocol === 'TCP' && d.activeConns + d.inactConns > 0;
}

export interface IpvsPlan {
  ops: IpvsOp[];
  /** Destinations left draining (weight 0) by this plan, in the plan's scope: drainKey -> start time. */
  draining: Map<string, number>;
  /** Per kind, for metrics and logs. */
  counts: { addService: number; updateService: number; deleteService: number; addDestination: number; updateDestination: number; deleteDestination: number };
}

/**
 * Diff `desired` (by serviceKey) against `actual`. With `scope`, only service
 * keys in it are considered on both sides (a partial sync); `actual` may then
 * hold only those services.
 */
export function planIpvs(
  desired: ReadonlyMap<string, DesiredVirtualService>,
  actual: readonly IpvsServiceWithDestinations[],
  ranges: ManagedRanges,
  scope?: ReadonlySet<string>,
  drain?: DrainOptions,
): IpvsPlan {
  const draining = new Map<string, number>();
  const svcOps: IpvsOp[] = [];
  const dstAdds: IpvsOp[] = [];
  const dstDels: IpvsOp[] = [];
  const svcDels: IpvsOp[] = [];
  const inScope = (k: string): boolean => scope === undefined || scope.has(k);

  const have = new Map<string, IpvsServiceWithDestinations>();
  for (const a of actual) {
    const k = serviceKey(a.service);
    if (inScope(k)) have.set(k, a);
  }

  for (const [k, want] of desired) {
    if (!inScope(k)) continue;
    const cur = have.get(k);
    const service = want.service;
    if (!cur) {
      svcOps.push({ op: 'addService', service });
      for (const d of want.destinations) dstAdds.push({ op: 'addDestination', service, destination: d });
      continue;
    }
    if (!serviceEqual(serviceConfig(cur.service), service)) svcOps.push({ op: 'updateService', service });
    const curDests = new Map(cur.destinations.map((d) => [destinationKey(d), d]));
    const wantKeys = new Set<string>();
    for (const d of want.destinations) {
      const dk = destinationKey(d);
      wantKeys.add(dk);
      const c = curDests.get(dk);
      if (!c) dstAdds.push({ op: 'addDestination', service, destination: d });
      else if (!destinationEqual(destinationConfig(c), d)) dstAdds.push({ op: 'updateDestination', service, destination: d });
    }
    for (const [dk, c] of curDests) {
      if (wantKeys.has(dk)) continue;
      if (drain && mayDrain(service, c)) {
        const key = drainKey(k, c);
        const start = drain.since.get(key) ?? drain.now;
        if (drain.now - start < drain.periodMs) {
          draining.set(key, start);
          if (c.weight !== 0) dstAdds.push({ op: 'updateDestination', service, destination: { ...destinationConfig(c), weight: 0 } });
          continue;
        }
      }
      dstDels.push({ op: 'deleteDestination', service, destination: destinationConfig(c) });
    }
  }

  for (const [k, cur] of have) {
    if (desired.has(k) || !isManaged(cur.service, ranges)) continue;
    svcDels.push({ op: 'deleteService', service: serviceConfig(cur.service) });
  }

  const ops = [...svcOps, ...dstAdds, ...dstDels, ...svcDels];
  const counts = { addService: 0, updateService: 0, deleteService: 0, addDestination: 0, updateDestination: 0, deleteDestination: 0 };
  for (const o of ops) counts[o.op]++;
  return { ops, counts, draining };
}
