// Values of the routing controller's pure compilers: the cluster state they
// read (nodes with their parsed annotations) and the names kube-router v2.11
// gives to what it creates in gobgpd (pkg/controllers/routing/bgp_policies.go).

import type { IpFamily } from '../../bgp/types.js';

// ---- node annotations (pkg/controllers/routing/network_routes_controller.go) ----
export const ANN_NODE_ASN = 'kube-router.io/node.asn';
export const ANN_RR_SERVER = 'kube-router.io/rr.server';
export const ANN_RR_CLIENT = 'kube-router.io/rr.client';
export const ANN_PEERS = 'kube-router.io/peers';
export const ANN_PEER_IPS = 'kube-router.io/peer.ips';
export const ANN_PEER_ASNS = 'kube-router.io/peer.asns';
export const ANN_PEER_PASSWORDS = 'kube-router.io/peer.passwords';
export const ANN_PEER_PORTS = 'kube-router.io/peer.ports';
export const ANN_PEER_LOCAL_IPS = 'kube-router.io/peer.localips';
export const ANN_BGP_LOCAL_ADDRESSES = 'kube-router.io/bgp-local-addresses';
export const ANN_COMMUNITIES = 'kube-router.io/node.bgp.communities';
export const ANN_CUSTOM_IMPORT_REJECT = 'kube-router.io/node.bgp.customimportreject';
export const ANN_PATH_PREPEND_AS = 'kube-router.io/path-prepend.as';
export const ANN_PATH_PREPEND_REPEAT = 'kube-router.io/path-prepend.repeat-n';
export const ANN_POD_CIDR = 'kube-router.io/pod-cidr';
export const ANN_POD_CIDRS = 'kube-router.io/pod-cidrs';

// ---- service annotations read by the router (advertisement) ----
export const ANN_SVC_LOCAL = 'kube-router.io/service.local';
export const ANN_SVC_SKIP_LB_IPS = 'kube-router.io/service.skiplbips';
export const ANN_SVC_ADVERTISE_CLUSTER_IP = 'kube-router.io/service.advertise.clusterip';
export const ANN_SVC_ADVERTISE_EXTERNAL_IP = 'kube-router.io/service.advertise.externalip';
export const ANN_SVC_ADVERTISE_LB_IP = 'kube-router.io/service.advertise.loadbalancerip';

// ---- gobgpd defined sets and policies (kube-router's names; v6 twins end in "v6") ----
export const SET_POD_CIDR = 'podcidrdefinedset';
export const SET_POD_CIDR_V6 = 'podcidrdefinedsetv6';
export const SET_SERVICE_VIPS = 'servicevipsdefinedset';
export const SET_SERVICE_VIPS_V6 = 'servicevipsdefinedsetv6';
export const SET_DEFAULT_ROUTE = 'defaultroutedefinedset';
export const SET_DEFAULT_ROUTE_V6 = 'defaultroutedefinedsetv6';
export const SET_CUSTOM_IMPORT_REJECT = 'customimportrejectdefinedset';
export const SET_IBGP_PEERS = 'iBGPpeerset';
export const SET_IBGP_PEERS_V6 = 'iBGPpeersetv6';
export const SET_EXTERNAL_PEERS = 'externalpeerset';
export const SET_EXTERNAL_PEERS_V6 = 'externalpeersetv6';
export const SET_ALL_PEERS = 'allpeerset';
export const SET_ALL_PEERS_V6 = 'allpeersetv6';
/**
 * Not in kube-router: every pod CIDR of the cluster (any node), matched with
 * longer prefixes too, so that an external peer cannot inject a route into
 * the cluster's pod network (issue 4 acceptance).
 */
export const SET_CLUSTER_POD_CIDRS = 'clusterpodcidrdefinedset';
export const SET_CLUSTER_POD_CIDRS_V6 = 'clusterpodcidrdefinedsetv6';

export const POLICY_EXPORT = 'kube_router_export';
export const POLICY_IMPORT = 'kube_router_import';
/** gobgpd's global RIB, the only assignment target kube-router uses. */
export const ASSIGNMENT_GLOBAL = 'global';

export const DEFAULT_BGP_PORT = 179;

/** One external BGP peer, from the flags or from a node's annotations. */
export interface ExternalPeerConfig {
  remoteIp: string;
  remoteAsn: number;
  /** Local address for the session; default the node IP of the peer's family. */
  localIp?: string;
  /** MD5 password, already base64-decoded (never logged). */
  password?: string;
  /** Remote TCP port; default 179. */
  port?: number;
  /**
   * BFD settings from the YAML annotation. Parsed and kept, not applied: the
   * BGP layer has no BFD (gobgpd 3.10's API has no per-peer BFD either).
   */
  bfd?: { enabled: boolean; port?: number; detectionMultiplier?: number; requiredMinRxInterval?: number; desiredMinTxInterval?: number };
}

/** The routing annotations of one node, each already validated. Absent = not set or invalid. */
export interface NodeRoutingAnnotations {
  asn?: number;
  /** `rr.server` cluster id, as dotted IPv4 (gobgpd's form). */
  rrServer?: string;
  /** `rr.client` cluster id, as dotted IPv4. */
  rrClient?: string;
  /** External peers from `peers` (preferred) or the older `peer.*` lists; absent when none. */
  peers?: ExternalPeerConfig[];
  bgpLocalAddresses?: string[];
  /** Communities for exports to external peers, as "high:low". */
  communities: string[];
  /** CIDRs (host bits cleared) never imported, one family only. */
  customImportReject: string[];
  pathPrepend?: { asn: number; repeat: number };
  /** Pod CIDRs from `pod-cidrs` / `pod-cidr`, overriding the spec. */
  podCidrs?: string[];
}

/** A Node as the routing controller sees it. */
export interface RoutingNode {
  name: string;
  /** The first InternalIP, else the first ExternalIP (kube-router's primary node IP). */
  primaryIp?: string;
  /** InternalIPs then ExternalIPs of each family, canonical, deduplicated. */
  ips: Record<IpFamily, string[]>;
  /** Effective pod CIDRs (annotation override, else spec), canonical, sorted v4 first. */
  podCidrs: string[];
  annotations: NodeRoutingAnnotations;
}

/** `Node <name>`, the object reference used in ObjectErrors. */
export function nodeRef(name: string): string {
  return `Node ${name}`;
}

/** The ObjectError field of an annotation. */
export function annotationField(key: string): string {
  return `metadata.annotations[${key}]`;
}
