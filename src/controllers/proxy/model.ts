// Desired-state types of the service proxy: what one Service compiles into
// (IPVS virtual services with their destinations, VIP addresses for
// kube-dummy-if, ipset members, hairpin entries) and the context the compiler
// reads (this node, the flags). Pure data: no I/O, no clocks.
//
// IPVS values are the kernel module's own types (src/kernel/ipvs/types.ts):
// `VirtualService.service` is an `IpvsService` and `destinations` are
// `IpvsDestination`s, so the reconciler diffs them against `Ipvs.listAll()`
// with `serviceKey`/`serviceEqual`/`destinationEqual` and no mapping.

import type { ObjectError } from '../../errors.js';
import type { AgentOptions } from '../../cmd/options/types.js';
import type { IpFamilyName } from './validate-ip.js';
import type { IpvsDestination, IpvsProtocol, IpvsService } from '../../kernel/ipvs/types.js';

export type { IpvsDestination, IpvsProtocol, IpvsService } from '../../kernel/ipvs/types.js';
export type { IpFamilyName } from './validate-ip.js';

/** kube-router's ipset names (the IPv6 twin is `inet6:<name>`, see kube-router-reference 3.4). */
export const IPSET_SVIP = 'kube-router-svip';
export const IPSET_SVIP_PORT = 'kube-router-svip-prt';
/**
 * `spec.loadBalancerSourceRanges` (kube-proxy's KUBE-LOAD-BALANCER-FW,
 * -SOURCE-CIDR and -SOURCE-IP sets, under kube-router-style names):
 * LoadBalancer IP,proto:port pairs that are restricted (hash:ip,port), the
 * allowed source networks per pair (hash:ip,port,net) and the pair's own IP
 * as a source when a range holds a node IP (hash:ip,port,ip: the node
 * reaching its local LB IP uses that IP as source).
 */
export const IPSET_LB_FW = 'kube-router-lb-fw';
export const IPSET_LB_SRC_NET = 'kube-router-lb-src-net';
export const IPSET_LB_SRC_IP = 'kube-router-lb-src-ip';
export type ProxySetName =
  | typeof IPSET_SVIP
  | typeof IPSET_SVIP_PORT
  | typeof IPSET_LB_FW
  | typeof IPSET_LB_SRC_NET
  | typeof IPSET_LB_SRC_IP;
/** Every per-service set, in a fixed order. */
export const SERVICE_SETS: readonly ProxySetName[] = [IPSET_SVIP, IPSET_SVIP_PORT, IPSET_LB_FW, IPSET_LB_SRC_NET, IPSET_LB_SRC_IP];

/** Where a virtual service's address comes from. */
export type VipKind = 'ClusterIP' | 'ExternalIP' | 'LoadBalancer' | 'NodePort';

/** One IPVS virtual service with its destinations (sorted by address, port). */
export interface VirtualService {
  kind: VipKind;
  /** `spec.ports[i].name` ('' when unnamed). */
  portName: string;
  service: IpvsService;
  destinations: IpvsDestination[];
}

/**
 * A hairpin SNAT entry: traffic from `endpoint` to itself through `vip:port`
 * is SNATed to `vip` (kube-router's KUBE-ROUTER-HAIRPIN rule
 * `-s ep -d ep -m ipvs --vaddr vip --vport port -j SNAT --to-source vip`).
 */
export interface HairpinEntry {
  family: IpFamilyName;
  endpoint: string;
  vip: string;
  port: number;
  protocol: IpvsProtocol;
}

/** Members of one set per family, sorted, in `ipset save` text. */
export interface FamilyEntries {
  inet: string[];
  inet6: string[];
}

/**
 * What one Service needs in kube-router's sets. Masquerade needs no
 * per-service member: its rules are fixed (ipvs match + pod CIDR, or all with
 * --masquerade-all). `kube-router-local-ips` is per node, not per service.
 */
export type ServiceIpsetEntries = Record<ProxySetName, FamilyEntries>;

/** For `externalTrafficPolicy: Local` LoadBalancer services: the health check node port. */
export interface HealthCheck {
  nodePort: number;
  /** Endpoints on this node that serve external traffic. */
  localEndpoints: number;
}

/** A local endpoint pod of a DSR service: the VIP goes on kube-tunnel-if in its network namespace. */
export interface DsrPod {
  /** `namespace/name` (the endpoint's targetRef). */
  pod: string;
  /** The pod IP: the tunnel's local address inside the pod. */
  ip: string;
}

/**
 * One DSR (`kube-router.io/service.dsr: tunnel`) external VIP:port: packets
 * to it are marked `fwmark` in mangle, delivered locally through table 78
 * and sent by an IPVS fwmark service in tunnel mode to the endpoints, which
 * answer the client directly from the VIP.
 */
export interface DsrEntry {
  family: IpFamilyName;
  vip: string;
  protocol: IpvsProtocol;
  port: number;
  fwmark: number;
  /** Local endpoint pods (sorted by pod): the VIP is configured in each. */
  localPods: DsrPod[];
}

/** The compiled desired state of one Service (`namespace/name`). Every list is sorted. */
export interface CompiledService {
  key: string;
  /** Why the service is not proxied (ExternalName, headless, other proxy), '' when it is. */
  skipped: string;
  services: VirtualService[];
  /** Every VIP for kube-dummy-if as `a.b.c.d/32` or `x::y/128` (not node IPs). */
  addresses: string[];
  ipsetEntries: ServiceIpsetEntries;
  hairpin: HairpinEntry[];
  /** DSR VIP:ports (sorted by VIP, protocol, port); their fwmark services are in `services`. */
  dsr: DsrEntry[];
  healthCheck: HealthCheck | null;
  /** Endpoints on this node per policy, for the router's advertisement decisions. */
  hasLocalEndpoints: boolean;
  /** Not part of equality: problems found while compiling (each names the Service and field). */
  warnings: ObjectError[];
}

/** This node, as the compiler needs it. Addresses are canonical text. */
export interface NodeInfo {
  name: string;
  /** The Node's `topology.kubernetes.io/zone` label ('' when none): topology hints. */
  zone: string;
  /** The node's primary IP per family (NodePort target by default). */
  primaryIPs: Partial<Record<IpFamilyName, string>>;
  /** The node's InternalIP and ExternalIP addresses per family (NodePort hairpin). */
  nodeIPs: Partial<Record<IpFamilyName, string[]>>;
  /** Every local address (except kube-dummy-if, kube-bridge, docker) for --nodeport-bindon-all-ip. */
  localIPs: string[];
}

/** The flags the compiler reads, as given (CIDR strings). */
export interface ProxyFlags {
  serviceClusterIpRange: string[];
  serviceExternalIpRange: string[];
  loadbalancerIpRange: string[];
  strictExternalIpValidation: boolean;
  nodeportBindonAllIp: boolean;
  hairpinMode: boolean;
  masqueradeAll: boolean;
  /** Pod CIDRs of the cluster (--cluster-cidr or the nodes' podCIDRs): for masquerade rules, not per service. */
  clusterCidrs: string[];
  /** Families served (--enable-ipv4 / --enable-ipv6): a Service's addresses of another family are left out. */
  ipFamilies: IpFamilyName[];
}

/** The families the proxy serves (--enable-ipv4 / --enable-ipv6), IPv4 first. */
export function proxyFamilies(o: Pick<AgentOptions, 'enableIpv4' | 'enableIpv6'>): IpFamilyName[] {
  return [...(o.enableIpv4 ? (['IPv4'] as const) : []), ...(o.enableIpv6 ? (['IPv6'] as const) : [])];
}

export function proxyFlagsFromOptions(o: AgentOptions, podCidrs: string[] = []): ProxyFlags {
  return {
    serviceClusterIpRange: [...o.serviceClusterIpRange],
    serviceExternalIpRange: [...o.serviceExternalIpRange],
    loadbalancerIpRange: [...o.loadbalancerIpRange],
    strictExternalIpValidation: o.strictExternalIpValidation,
    nodeportBindonAllIp: o.nodeportBindonAllIp,
    hairpinMode: o.hairpinMode,
    masqueradeAll: o.masqueradeAll,
    clusterCidrs: o.clusterCidr.length > 0 ? [...o.clusterCidr] : [...podCidrs],
    ipFamilies: proxyFamilies(o),
  };
}

export function emptyIpsetEntries(): ServiceIpsetEntries {
  return {
    [IPSET_SVIP]: { inet: [], inet6: [] },
    [IPSET_SVIP_PORT]: { inet: [], inet6: [] },
    [IPSET_LB_FW]: { inet: [], inet6: [] },
    [IPSET_LB_SRC_NET]: { inet: [], inet6: [] },
    [IPSET_LB_SRC_IP]: { inet: [], inet6: [] },
  };
}

export function emptyCompiled(key: string, skipped = '', warnings: ObjectError[] = []): CompiledService {
  return {
    key,
    skipped,
    services: [],
    addresses: [],
    ipsetEntries: emptyIpsetEntries(),
    hairpin: [],
    dsr: [],
    healthCheck: null,
    hasLocalEndpoints: false,
    warnings,
  };
}
