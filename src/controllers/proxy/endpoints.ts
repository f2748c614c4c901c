// Endpoints of one Service from ALL its EndpointSlices, merged and deduped,
// indexed by service port (name + protocol) and address family, and the
// choice of which endpoints serve traffic.
//
// Ports: a Service port is matched to slice ports BY NAME (and protocol);
// that is how a named targetPort resolves, since the EndpointSlice
// controller names each slice port after the service port and puts the
// resolved number in it.
//
// Conditions are read as kube-proxy reads them (nil ready/serving mean true,
// nil terminating means false, per the discovery/v1 API).

import { ObjectError } from '../../errors.js';
import type { EndpointSlice, Protocol } from '../../informers/types.js';
import { addrSortKey, parseIp, type IpFamilyName } from './validate-ip.js';

export interface EndpointInfo {
  addr: string;
  /** `addrSortKey(addr)`: orders endpoints as the kernel lists destinations. */
  sortKey: string;
  port: number;
  nodeName: string;
  local: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** `hints.forZones[].name` (sorted, deduped; shared empty list when none). */
  zoneHints: readonly string[];
  /** `hints.forNodes[].name` (sorted, deduped; shared empty list when none). */
  nodeHints: readonly string[];
  /** `namespace/name` of a local endpoint's Pod (targetRef), '' otherwise (DSR configures local pods only). */
  pod: string;
}

const NO_HINTS: readonly string[] = Object.freeze([]);

function hintNames(list: readonly { name: string }[] | undefined): readonly string[] {
  if (list === undefined || list.length === 0) return NO_HINTS;
  const names = [...new Set(list.map((h) => h.name).filter((n) => n !== ''))].sort();
  return names.length === 0 ? NO_HINTS : names;
}

function rank(e: EndpointInfo): number {
  if (e.ready) return 2;
  if (e.serving && e.terminating) return 1;
  return 0;
}

function portKey(name: string, protocol: Protocol, family: IpFamilyName): string {
  return `${name}\u0000${protocol}\u0000${family}`;
}

/** Endpoints of one Service, merged from its slices. */
export class ServiceEndpoints {
  private readonly byPort = new Map<string, EndpointInfo[]>();

  constructor(byPort: Map<string, Map<string, EndpointInfo>>) {
    for (const [k, m] of byPort) {
      const list = [...m.values()].sort(compareEndpoints);
      this.byPort.set(k, list);
    }
  }

  /** Every endpoint (any condition) of a service port in one family, sorted by address then port. */
  get(portName: string, protocol: Protocol, family: IpFamilyName): readonly EndpointInfo[] {
    return this.byPort.get(portKey(portName, protocol, family)) ?? [];
  }
}

function compareAddrText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order of `compareDestinations` (kernel/ipvs/types.ts): address bytes, then port. */
function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  return compareAddrText(a.sortKey, b.sortKey) || a.port - b.port;
}

function sliceRef(s: EndpointSlice): string {
  return `EndpointSlice ${s.metadata.namespace ?? ''}/${s.metadata.name}`;
}

/**
 * Merges every slice of one Service. Slices are visited in name order and a
 * duplicate endpoint (same address and port in two slices, e.g. while the
 * controller moves it) keeps the better condition (ready > serving and
 * terminating > other), the first one on a tie: the result does not depend on
 * the order the slices are given in. FQDN slices are skipped.
 */
export function collectEndpoints(
  slices: readonly EndpointSlice[],
  nodeName: string,
  warnings: ObjectError[],
): ServiceEndpoints {
  const sorted = [...slices].sort((a, b) => compareAddrText(a.metadata.name, b.metadata.name));
  const byPort = new Map<string, Map<string, EndpointInfo>>();
  for (const slice of sorted) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const family: IpFamilyName = slice.addressType;
    const ports = slice.ports ?? [];
    const usable: { key: string; port: number }[] = [];
    ports.forEach((p, i) => {
      const port = p.port;
      if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
        // A slice port without a number means "all ports" for the slice API;
        // IPVS in NAT mode needs a destination port, so it cannot be used.
        warnings.push(new ObjectError(sliceRef(slice), `ports[${i}].port`, 'missing or out of range; port ignored', String(port)));
        return;
      }
      usable.push({ key: portKey(p.name ?? '', p.protocol ?? 'TCP', family), port });
    });
    if (usable.length === 0) continue;
    (slice.endpoints ?? []).forEach((ep, i) => {
      const c = ep.conditions ?? {};
      const nodeNameOf = ep.nodeName ?? '';
      const zoneHints = hintNames(ep.hints?.forZones);
      const nodeHints = hintNames(ep.hints?.forNodes);
      const local = nodeNameOf !== '' && nodeNameOf === nodeName;
      const ref = ep.targetRef;
      const pod = local && ref?.kind === 'Pod' && ref.name ? `${ref.namespace ?? slice.metadata.namespace ?? ''}/${ref.name}` : '';
      for (const raw of ep.addresses ?? []) {
        const ip = parseIp(raw);
        if (!ip || ip.family !== family) {
          warnings.push(
            new ObjectError(sliceRef(slice), `endpoints[${i}].addresses`, `not an ${family} address; endpoint ignored`, raw),
          );
          continue;
        }
        const sortKey = addrSortKey(ip.addr);
        for (const u of usable) {
          const info: EndpointInfo = {
            addr: ip.addr,
            sortKey,
            port: u.port,
            nodeName: nodeNameOf,
            local,
            ready: c.ready !== false,
            serving: c.serving !== false,
            terminating: c.terminating === true,
            zoneHints,
            nodeHints,
            pod,
          };
          let m = byPort.get(u.key);
          if (!m) byPort.set(u.key, (m = new Map()));
          const k = `${info.addr}|${info.port}`;
          const prev = m.get(k);
          if (!prev || rank(info) > rank(prev)) m.set(k, info);
        }
      }
    });
  }
  return new ServiceEndpoints(byPort);
}

/**
 * The endpoints that get traffic, as kube-proxy chooses them
 * (pkg/proxy/topology.go CategorizeEndpoints): the ready ones; when none is
 * ready, the ones that are serving AND terminating (so connections drain to
 * pods still able to answer during a rollout). With `localOnly` the same rule
 * applies among this node's endpoints only.
 *
 * Deliberate difference: kube-router v2.11 always includes serving
 * terminating endpoints next to the ready ones (`isReady || isServing`);
 * we follow kube-proxy, which is what a cluster moving from kube-proxy expects.
 */
export function selectEndpoints(all: readonly EndpointInfo[], localOnly: boolean): EndpointInfo[] {
  const pool = localOnly ? all.filter((e) => e.local) : all;
  const ready = pool.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return pool.filter((e) => e.serving && e.terminating);
}
