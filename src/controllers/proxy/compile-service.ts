// compileService: one Service and its EndpointSlices → the IPVS virtual
// services, dummy-interface addresses, ipset members and hairpin entries it
// needs on this node. Pure: no I/O, no clock, no randomness; every output list
// is sorted, so equal inputs give deep-equal outputs whatever the slice order.
//
// Differences from kube-router v2.11, on purpose:
// - serving+terminating endpoints only when no endpoint is ready (kube-proxy's
//   fallback; see endpoints.ts selectEndpoints);
// - a Local-policy VIP with no local endpoint keeps its virtual service with
//   no destination (kube-proxy's shape: IPVS answers "unreachable" at once)
//   where kube-router leaves the service out; `hasLocalEndpoints` tells the
//   router whether to advertise;
// - `kube-router.io/service.local: "true"` makes external traffic Local and
//   leaves internalTrafficPolicy as the spec says (kube-router HEAD forces it
//   to Cluster, older releases to Local; the spec is the user's word);
// - topology hints (topology.ts) and spec.loadBalancerSourceRanges
//   (source-ranges.ts), which kube-router does not implement, as kube-proxy.

import { ObjectError } from '../../errors.js';
import { objectKey, type EndpointSlice, type Protocol, type Service } from '../../informers/types.js';
import { SvcFlag } from '../../kernel/ipvs/attrs.js';
import { compareServices, ipvsService, serviceKey, type IpvsDestination, type IpvsService } from '../../kernel/ipvs/types.js';
import { AF_INET6, compareAddr } from '../../kernel/rtnl/inet.js';
import { readAnnotations, serviceRef, skipReason, type ServiceAnnotations } from './annotations.js';
import type { CompileContext } from './compile-context.js';
import { nodePortAddresses, serviceVips, type ServiceVips } from './compile-vips.js';
import { compileDsrTuple } from './compile-dsr.js';
import { collectEndpoints, selectEndpoints, type EndpointInfo } from './endpoints.js';
import {
  emptyCompiled,
  emptyIpsetEntries,
  IPSET_SVIP,
  IPSET_SVIP_PORT,
  SERVICE_SETS,
  type CompiledService,
  type DsrEntry,
  type HairpinEntry,
  type HealthCheck,
  type VipKind,
  type VirtualService,
} from './model.js';
import { addSourceRangeEntries, sourceRanges } from './source-ranges.js';
import { clusterEndpoints } from './topology.js';
import { hostPrefix, type IpFamilyName } from './validate-ip.js';
import { validPorts, type ValidPort } from './validate-ports.js';

/** Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds`. */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;
const MAX_AFFINITY_TIMEOUT = 86400;

const KIND_ORDER: Record<VipKind, number> = { ClusterIP: 0, ExternalIP: 1, LoadBalancer: 2, NodePort: 3 };

interface ServiceShape {
  scheduler: string;
  flags: number;
  timeout: number;
}

function shapeOf(svc: Service, ann: ServiceAnnotations, warnings: ObjectError[]): ServiceShape {
  let flags = ann.schedFlags;
  let timeout = 0;
  if (svc.spec.sessionAffinity === 'ClientIP') {
    flags |= SvcFlag.PERSISTENT;
    timeout = DEFAULT_AFFINITY_TIMEOUT;
    const t = svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (t !== undefined) {
      if (Number.isInteger(t) && t >= 1 && t <= MAX_AFFINITY_TIMEOUT) timeout = t;
      else
        warnings.push(
          new ObjectError(
            serviceRef(svc),
            'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
            `not in 1-${MAX_AFFINITY_TIMEOUT}; using ${DEFAULT_AFFINITY_TIMEOUT}`,
            String(t),
          ),
        );
    }
  }
  return { scheduler: ann.scheduler, flags, timeout };
}

function familyOfAddr(addr: string): IpFamilyName {
  return addr.includes(':') ? 'IPv6' : 'IPv4';
}

class Builder {
  readonly byKey = new Map<string, VirtualService>();
  readonly hairpin = new Map<string, HairpinEntry>();
  readonly dsr = new Map<string, DsrEntry>();
  private readonly marks = new Set<number>();

  constructor(private readonly shape: ServiceShape) {}

  /** A DSR tuple (compile-dsr.ts); first wins for a VIP that is both an externalIP and a LoadBalancer IP. */
  addDsr(
    ref: string,
    kind: VipKind,
    family: IpFamilyName,
    port: ValidPort,
    address: string,
    eps: readonly EndpointInfo[],
    nodeAddrs: ReadonlySet<string>,
    warnings: ObjectError[],
  ): void {
    const k = `${address}|${port.protocol}|${port.port}`;
    if (this.dsr.has(k)) return;
    const c = compileDsrTuple(ref, family, address, port.protocol, port.port, eps, this.shape, this.marks, nodeAddrs, warnings);
    if (!c) return;
    this.dsr.set(k, c.entry);
    this.byKey.set(serviceKey(c.service), { kind, portName: port.name, service: c.service, destinations: c.destinations });
  }

  add(kind: VipKind, port: ValidPort, address: string, vport: number, eps: readonly EndpointInfo[]): void {
    const service: IpvsService = ipvsService({
      protocol: port.protocol,
      address,
      port: vport,
      scheduler: this.shape.scheduler,
      flags: this.shape.flags,
      timeout: this.shape.timeout,
    });
    const key = serviceKey(service);
    // First wins (ClusterIP, ExternalIP, LoadBalancer, NodePort order), e.g.
    // an externalIP that is also a LoadBalancer ingress IP.
    if (this.byKey.has(key)) return;
    // `eps` is deduped and sorted as compareDestinations sorts (endpoints.ts);
    // addresses are canonical already, so the value is built directly (what
    // ipvsDestination() builds: masq, weight 1, no thresholds, no tunnel).
    const destinations: IpvsDestination[] = eps.map((e) => ({
      address: e.addr,
      port: e.port,
      fwdMethod: 'masq',
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
      tunType: 0,
      tunPort: 0,
      tunFlags: 0,
    }));
    this.byKey.set(key, { kind, portName: port.name, service, destinations });
  }

  addHairpin(family: IpFamilyName, eps: readonly EndpointInfo[], vips: readonly string[], port: number, protocol: Protocol): void {
    for (const e of eps) {
      if (!e.local) continue;
      for (const vip of vips) {
        const k = `${e.addr}|${vip}|${port}|${protocol}`;
        if (!this.hairpin.has(k)) this.hairpin.set(k, { family, endpoint: e.addr, vip, port, protocol });
      }
    }
  }
}

function sortedUnique(list: string[], cmp: (a: string, b: string) => number): string[] {
  const out = [...new Set(list)].sort(cmp);
  return out;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareHairpin(a: HairpinEntry, b: HairpinEntry): number {
  return (
    compareAddr(a.endpoint, b.endpoint) ||
    compareAddr(a.vip, b.vip) ||
    a.port - b.port ||
    byText(a.protocol, b.protocol)
  );
}

function compareDsr(a: DsrEntry, b: DsrEntry): number {
  return compareAddr(a.vip, b.vip) || byText(a.protocol, b.protocol) || a.port - b.port;
}

function healthCheckOf(svc: Service, etpLocal: boolean, localReady: Set<string>): HealthCheck | null {
  const hc = svc.spec.healthCheckNodePort;
  if (svc.spec.type !== 'LoadBalancer' || !etpLocal || hc === undefined) return null;
  if (!Number.isInteger(hc) || hc < 1 || hc > 65535) return null;
  return { nodePort: hc, localEndpoints: localReady.size };
}

/**
 * Compiles one Service with its EndpointSlices (all of them, in any order).
 * `warnings` in the result name the Service (or slice) and the field.
 */
export function compileService(svc: Service, slices: readonly EndpointSlice[], ctx: CompileContext): CompiledService {
  const key = objectKey(svc);
  const skip = skipReason(svc);
  if (skip) return emptyCompiled(key, skip);

  const warnings: ObjectError[] = [];
  const ann = readAnnotations(svc, warnings);
  const ports = validPorts(svc, warnings);
  const vips: ServiceVips = serviceVips(svc, ann, ctx, warnings);
  const endpoints = collectEndpoints(slices, ctx.node.name, warnings);
  const etpLocal = svc.spec.externalTrafficPolicy === 'Local' || ann.local;
  const itpLocal = svc.spec.internalTrafficPolicy === 'Local';
  const hairpinOn = ctx.flags.hairpinMode || ann.hairpin;
  const ref = serviceRef(svc);
  const hostAddrs: ReadonlySet<string> = ann.dsr
    ? new Set([...(ctx.node.nodeIPs.IPv4 ?? []), ...(ctx.node.nodeIPs.IPv6 ?? []), ...ctx.node.localIPs])
    : new Set();

  const b = new Builder(shapeOf(svc, ann, warnings));
  let hasLocal = false;
  const localReady = new Set<string>();
  const families: readonly IpFamilyName[] = ctx.flags.ipFamilies;

  const perFamily = families.map((family) => ({
    family,
    cips: vips.clusterIps.filter((v) => v.family === family).map((v) => v.addr),
    eips: vips.externalIps.filter((v) => v.family === family).map((v) => v.addr),
    lbips: vips.loadBalancerIps.filter((v) => v.family === family).map((v) => v.addr),
    nodeAddrs: vips.families.includes(family) ? nodePortAddresses(ctx, family) : [],
  }));

  for (const port of ports) {
    for (const { family, cips, eips, lbips, nodeAddrs } of perFamily) {
      const all = endpoints.get(port.name, port.protocol, family);
      const local = selectEndpoints(all, true);
      if (local.length > 0) hasLocal = true;
      for (const e of all) if (e.local && e.ready) localReady.add(e.addr);
      const nodePortOn = port.nodePort !== 0 && nodeAddrs.length > 0;
      if (cips.length + eips.length + lbips.length === 0 && !nodePortOn) continue;

      // Cluster policy: topology hints (topology.ts); Local: this node's endpoints, hints ignored.
      const cluster = itpLocal && etpLocal ? [] : clusterEndpoints(all, ctx.node.name, ctx.node.zone);
      const internal = itpLocal ? local : cluster;
      const external = etpLocal ? local : cluster;
      for (const a of cips) b.add('ClusterIP', port, a, port.port, internal);
      if (ann.dsr) {
        for (const a of eips) b.addDsr(ref, 'ExternalIP', family, port, a, external, hostAddrs, warnings);
        for (const a of lbips) b.addDsr(ref, 'LoadBalancer', family, port, a, external, hostAddrs, warnings);
      } else {
        for (const a of eips) b.add('ExternalIP', port, a, port.port, external);
        for (const a of lbips) b.add('LoadBalancer', port, a, port.port, external);
      }
      if (nodePortOn) for (const a of nodeAddrs) b.add('NodePort', port, a, port.nodePort, external);

      if (hairpinOn && local.length > 0) {
        // kube-router: ClusterIPs; externalIPs with .hairpin.externalips; the
        // NodePort on the node's Internal/External IPs.
        b.addHairpin(family, local, cips, port.port, port.protocol);
        if (ann.hairpinExternalIps) b.addHairpin(family, local, eips, port.port, port.protocol);
        if (port.nodePort !== 0 && vips.families.includes(family)) {
          b.addHairpin(family, local, ctx.node.nodeIPs[family] ?? [], port.nodePort, port.protocol);
        }
      }
    }
  }

  const services = [...b.byKey.values()].sort(
    (x, y) => compareServices(x.service, y.service) || KIND_ORDER[x.kind] - KIND_ORDER[y.kind],
  );

  const ipsetEntries = emptyIpsetEntries();
  const addrs: string[] = [];
  for (const vs of services) {
    const s = vs.service;
    if (s.fwmark) continue;
    const fam = s.af === AF_INET6 ? 'inet6' : 'inet';
    ipsetEntries[IPSET_SVIP][fam].push(s.address);
    ipsetEntries[IPSET_SVIP_PORT][fam].push(`${s.address},${s.protocol.toLowerCase()}:${s.port}`);
    if (vs.kind !== 'NodePort') addrs.push(s.address);
  }
  // DSR VIPs are not on kube-dummy-if (the director has no VIP: table 78
  // delivers the marked packets) but are VIPs for the INPUT firewall.
  for (const d of b.dsr.values()) {
    const fam = d.family === 'IPv6' ? 'inet6' : 'inet';
    ipsetEntries[IPSET_SVIP][fam].push(d.vip);
    ipsetEntries[IPSET_SVIP_PORT][fam].push(`${d.vip},${d.protocol.toLowerCase()}:${d.port}`);
  }
  if (svc.spec.type === 'LoadBalancer') {
    addSourceRangeEntries(svc, sourceRanges(svc, ctx, warnings), vips.loadBalancerIps, ports, ipsetEntries, warnings);
  }
  for (const set of SERVICE_SETS) {
    for (const fam of ['inet', 'inet6'] as const) {
      ipsetEntries[set][fam] = sortedUnique(ipsetEntries[set][fam], set === IPSET_SVIP ? compareAddr : byText);
    }
  }
  const addresses = sortedUnique(addrs, compareAddr).map((a) => hostPrefix(a, familyOfAddr(a)));

  return {
    key,
    skipped: '',
    services,
    addresses,
    ipsetEntries,
    hairpin: [...b.hairpin.values()].sort(compareHairpin),
    dsr: [...b.dsr.values()].sort(compareDsr),
    healthCheck: healthCheckOf(svc, etpLocal, localReady),
    hasLocalEndpoints: hasLocal,
    warnings,
  };
}
