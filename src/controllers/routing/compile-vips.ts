// Which service IPs this node advertises over BGP (kube-router's
// pkg/controllers/routing/ecmp_vip.go getVIPs / getVIPsForService /
// getAllVIPsForService):
// - ClusterIPs (spec.clusterIPs, with clusterIP) of ClusterIP / NodePort /
//   LoadBalancer services with --advertise-cluster-ip, externalIPs with
//   --advertise-external-ip, LoadBalancer ingress IPs with
//   --advertise-loadbalancer-ip; each overridable per service by
//   `kube-router.io/service.advertise.{clusterip,externalip,loadbalancerip}`
//   (Go ParseBool; an unparsable value means false, as kube-router);
//   `service.skiplbips` (presence) drops the LoadBalancer IPs. Headless and
//   ExternalName services have none.
// - With externalTrafficPolicy Local or the `service.local` annotation
//   (presence, as the routing controller reads it) every VIP of the service
//   is withdrawn from a node without a local endpoint; with
//   internalTrafficPolicy Local the ClusterIPs are (kube-router-reference 5).
// - A VIP shared by several services is advertised when any of them says so.
// `all` is every advertisable VIP ignoring endpoints: kube-router builds the
// servicevipsdefinedset from it (getAllVIPs), so the import policy rejects
// them even while this node does not advertise them.

import { canonicalIp } from '../../bgp/ip.js';
import { ObjectError } from '../../errors.js';
import { compareAddr } from '../../kernel/rtnl/inet.js';
import type { EndpointSlice, Service } from '../../informers/types.js';
import {
  ANN_SVC_ADVERTISE_CLUSTER_IP,
  ANN_SVC_ADVERTISE_EXTERNAL_IP,
  ANN_SVC_ADVERTISE_LB_IP,
  ANN_SVC_LOCAL,
  ANN_SVC_SKIP_LB_IPS,
} from './model.js';

export interface VipFlags {
  advertiseClusterIp: boolean;
  advertiseExternalIp: boolean;
  advertiseLoadbalancerIp: boolean;
}

export interface VipInput {
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  nodeName: string;
  /** Every IP of this node (endpoints without nodeName are matched on these). */
  nodeIps: readonly string[];
  flags: VipFlags;
}

export interface VipResult {
  /** VIPs to advertise now, canonical, sorted. */
  active: string[];
  /** Every advertisable VIP, local endpoints or not, canonical, sorted. */
  all: string[];
  warnings: ObjectError[];
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function svcRef(svc: Service): string {
  return `Service ${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
}

function shouldAdvertise(svc: Service, key: string, dflt: boolean, warnings: ObjectError[]): boolean {
  const v = svc.metadata.annotations?.[key];
  if (v === undefined) return dflt;
  if (GO_TRUE.has(v)) return true;
  if (!GO_FALSE.has(v)) warnings.push(new ObjectError(svcRef(svc), `metadata.annotations[${key}]`, 'not a boolean: treated as false (as kube-router)', v));
  return false;
}

function ipsOf(svc: Service, field: string, list: readonly string[], warnings: ObjectError[]): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const ip = canonicalIp(raw.trim());
    if (ip === undefined) warnings.push(new ObjectError(svcRef(svc), field, 'not an IP address; not advertised', raw));
    else if (!out.includes(ip)) out.push(ip);
  }
  return out;
}

function isHeadless(svc: Service): boolean {
  const c = svc.spec.clusterIP;
  return c === undefined || c === '' || c === 'None';
}

/** The VIPs of one service split by kind, honouring the advertise flags and annotations. */
export function serviceVips(svc: Service, flags: VipFlags, warnings: ObjectError[]): { clusterIps: string[]; external: string[] } {
  const type = svc.spec.type ?? 'ClusterIP';
  if (type === 'ExternalName' || isHeadless(svc)) return { clusterIps: [], external: [] };
  const clusterIps: string[] = [];
  if (shouldAdvertise(svc, ANN_SVC_ADVERTISE_CLUSTER_IP, flags.advertiseClusterIp, warnings)) {
    const list = [...(svc.spec.clusterIPs ?? [])];
    if (svc.spec.clusterIP && !list.includes(svc.spec.clusterIP)) list.push(svc.spec.clusterIP);
    clusterIps.push(...ipsOf(svc, 'spec.clusterIPs', list, warnings));
  }
  const external: string[] = [];
  if (shouldAdvertise(svc, ANN_SVC_ADVERTISE_EXTERNAL_IP, flags.advertiseExternalIp, warnings)) {
    external.push(...ipsOf(svc, 'spec.externalIPs', svc.spec.externalIPs ?? [], warnings));
  }
  const skipLb = svc.metadata.annotations?.[ANN_SVC_SKIP_LB_IPS] !== undefined;
  if (type === 'LoadBalancer' && !skipLb && shouldAdvertise(svc, ANN_SVC_ADVERTISE_LB_IP, flags.advertiseLoadbalancerIp, warnings)) {
    const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== '');
    for (const ip of ipsOf(svc, 'status.loadBalancer.ingress[].ip', ingress, warnings)) if (!external.includes(ip)) external.push(ip);
  }
  return { clusterIps, external };
}

/** Services (namespace/name) with an endpoint on this node: nodeName match, or one of its IPs when nodeName is unset. */
export function servicesWithLocalEndpoints(slices: readonly EndpointSlice[], nodeName: string, nodeIps: readonly string[]): Set<string> {
  const ips = new Set(nodeIps.map((ip) => canonicalIp(ip) ?? ip));
  const out = new Set<string>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (svc === undefined || s.addressType === 'FQDN') continue;
    const local = s.endpoints.some((e) => {
      const usable = e.conditions?.ready !== false || e.conditions?.serving === true;
      if (!usable) return false;
      if (e.nodeName !== undefined && e.nodeName !== '') return e.nodeName === nodeName;
      return e.addresses.some((a) => ips.has(canonicalIp(a) ?? a));
    });
    if (local) out.add(`${s.metadata.namespace ?? ''}/${svc}`);
  }
  return out;
}

function sortIps(ips: Iterable<string>): string[] {
  return [...new Set(ips)].sort(compareAddr);
}

export function compileVips(input: VipInput): VipResult {
  const warnings: ObjectError[] = [];
  const local = servicesWithLocalEndpoints(input.endpointSlices, input.nodeName, input.nodeIps);
  const active = new Set<string>();
  const all = new Set<string>();
  for (const svc of input.services) {
    const { clusterIps, external } = serviceVips(svc, input.flags, warnings);
    if (clusterIps.length === 0 && external.length === 0) continue;
    const hasLocal = local.has(`${svc.metadata.namespace ?? ''}/${svc.metadata.name}`);
    const etpLocal = svc.spec.externalTrafficPolicy === 'Local' || svc.metadata.annotations?.[ANN_SVC_LOCAL] !== undefined;
    const itpLocal = svc.spec.internalTrafficPolicy === 'Local';
    for (const ip of [...clusterIps, ...external]) all.add(ip);
    if (etpLocal && !hasLocal) continue;
    for (const ip of external) active.add(ip);
    if (itpLocal && !hasLocal) continue;
    for (const ip of clusterIps) active.add(ip);
  }
  return { active: sortIps(active), all: sortIps(all), warnings };
}
