// Cluster state -> the desired BGP state of this node (the BgpState that
// src/bgp/state.ts diffs against gobgpd and applies). Pure: no I/O, no clock.
//
// - global: ASN (--cluster-asn with --nodes-full-mesh, else this node's
//   kube-router.io/node.asn), router id (node IPv4, --router-id, or
//   `generate` = FNV-1a 32 of the primary IP's 16-byte form, as kube-router's
//   pkg/bgp/id.go), --bgp-port, listen addresses (bgp-local-addresses or the
//   node IP of each enabled family), graceful restart from the flags;
// - peers: iBGP (peers.ts) and external (flags, else this node's annotations);
// - local paths: this node's pod CIDRs and the active service VIPs, next hop
//   = the node IP of the prefix's family;
// - defined sets, policies and assignments (policies.ts); none on a
//   route-reflector server (kube-router skips AddPolicies there).

import { canonicalIp, ipFamily, parseCidr } from '../../bgp/ip.js';
import type { BgpState } from '../../bgp/state.js';
import type { BgpPath, GlobalConfig, IpFamily, PeerSpec } from '../../bgp/types.js';
import type { AgentOptions } from '../../cmd/options/types.js';
import { KubeRouterError, ObjectError } from '../../errors.js';
import type { EndpointSlice, Node, Service } from '../../informers/types.js';
import { compareAddr } from '../../kernel/rtnl/inet.js';
import { annotationError, normalizeCidrs, toRoutingNode } from './annotations.js';
import { compileVips } from './compile-vips.js';
import { ANN_NODE_ASN, annotationField, nodeRef, type RoutingNode } from './model.js';
import { externalPeerSpecs, flagPeers, ibgpPeers, localAddressFor, sessionFamilies, type PeerFlags } from './peers.js';
import { compilePolicies } from './policies.js';

export type RoutingFlags = PeerFlags &
  Pick<
    AgentOptions,
    | 'clusterAsn'
    | 'routerId'
    | 'advertiseClusterIp'
    | 'advertiseExternalIp'
    | 'advertiseLoadbalancerIp'
    | 'advertisePodCidr'
    | 'overrideNexthop'
    | 'clusterCidr'
  >;

export interface RoutingInput {
  /** This node's name (--hostname-override / NODE_NAME / hostname). */
  nodeName: string;
  nodes: readonly Node[];
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  flags: RoutingFlags;
  /** Content of --peer-router-passwords-file, split on ',' (used when --peer-router-passwords is empty). */
  peerRouterPasswordsFromFile?: readonly string[];
}

export interface RoutingDesired {
  /** Undefined when BGP cannot run on this node (unknown node, no IP, no ASN, no router id): see warnings. */
  bgp?: BgpState;
  /** This node, parsed. */
  self?: RoutingNode;
  /** Every node, parsed, sorted by name. */
  nodes: RoutingNode[];
  /** Service VIPs advertised now. */
  advertisedVips: string[];
  /** Bad annotations, nodes without IP or pod CIDR, bad flags: log them, the rest is compiled. */
  warnings: KubeRouterError[];
}

/** FNV-1a 32 of the IP as Go's net.ParseIP holds it (16 bytes, v4-in-v6 for IPv4), as dotted quad. */
export function generateRouterId(ip: string): string {
  const bytes: number[] = [];
  if (ipFamily(ip) === 'ipv4') bytes.push(...new Array<number>(10).fill(0), 0xff, 0xff, ...ip.split('.').map(Number));
  else {
    const full = canonicalIp(ip) ?? ip;
    const [head, tail] = full.includes('::') ? full.split('::') : [full, undefined];
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
    for (const g of groups) bytes.push(g >> 8, g & 0xff);
  }
  let hash = 0x811c9dc5;
  for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  return [hash >>> 24, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff].join('.');
}

/** kube-router's GenerateRouterID: `generate`, an explicit id, or the primary IP when it is IPv4. */
export function routerIdFor(primaryIp: string, flag: string): string | undefined {
  if (flag === 'generate') return generateRouterId(primaryIp);
  if (flag !== '') return flag;
  return ipFamily(primaryIp) === 'ipv4' ? primaryIp : undefined;
}

function familyEnabled(f: IpFamily, flags: RoutingFlags): boolean {
  return f === 'ipv4' ? flags.enableIpv4 : flags.enableIpv6;
}

function localPaths(self: RoutingNode, prefixes: readonly string[], flags: RoutingFlags, warnings: KubeRouterError[]): BgpPath[] {
  const out: BgpPath[] = [];
  for (const text of prefixes) {
    const c = parseCidr(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
    if (!c || !familyEnabled(c.family, flags)) continue;
    const nextHop = localAddressFor(self, c.address);
    if (nextHop === undefined) {
      warnings.push(new ObjectError(nodeRef(self.name), 'status.addresses', `no ${c.family} node IP to use as next hop: ${text} is not advertised`));
      continue;
    }
    out.push({ prefix: `${c.address}/${c.length}`, family: c.family, nextHop, origin: 'igp', isWithdraw: false });
  }
  return out;
}

function globalConfig(self: RoutingNode & { primaryIp: string }, asn: number, routerId: string, flags: RoutingFlags): GlobalConfig {
  const listen =
    self.annotations.bgpLocalAddresses ??
    sessionFamilies(flags)
      .map((f) => (ipFamily(self.primaryIp) === f ? self.primaryIp : self.ips[f][0]))
      .filter((ip): ip is string => ip !== undefined);
  const g: GlobalConfig = { asn, routerId, listenPort: flags.bgpPort, listenAddresses: listen };
  if (flags.bgpGracefulRestart) {
    g.gracefulRestart = {
      enabled: true,
      restartTime: Math.round(flags.bgpGracefulRestartTime / 1000),
      deferralTime: Math.round(flags.bgpGracefulRestartDeferralTime / 1000),
      localRestarting: true,
    };
  }
  return g;
}

/** Which parse errors of another node matter to this one. */
function relevantForOthers(e: KubeRouterError, flags: RoutingFlags): boolean {
  const f = e.context.field;
  if (f === 'status.addresses' || f === 'spec.podCIDR' || f === 'spec.podCIDRs') return true;
  return !flags.nodesFullMesh && f === annotationField(ANN_NODE_ASN);
}

export function compileRouting(input: RoutingInput): RoutingDesired {
  const { flags } = input;
  const warnings: KubeRouterError[] = [];
  const nodes: RoutingNode[] = [];
  for (const n of [...input.nodes].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))) {
    const parsed = toRoutingNode(n);
    nodes.push(parsed.node);
    const isSelf = n.metadata.name === input.nodeName;
    warnings.push(...parsed.errors.filter((e) => isSelf || relevantForOthers(e, flags)));
  }
  const self = nodes.find((n) => n.name === input.nodeName);
  const out: RoutingDesired = { nodes, advertisedVips: [], warnings };
  if (!self) {
    warnings.push(new ObjectError(nodeRef(input.nodeName), 'metadata.name', 'this node is not in the Node list: BGP is not configured'));
    return out;
  }
  out.self = self;
  if (self.primaryIp === undefined) return out;
  const selfWithIp = { ...self, primaryIp: self.primaryIp };

  const asn = flags.nodesFullMesh ? flags.clusterAsn : self.annotations.asn;
  if (asn === undefined) {
    warnings.push(annotationError(self.name, ANN_NODE_ASN, 'a valid ASN is required with --nodes-full-mesh=false: BGP is not started'));
    return out;
  }
  const routerId = routerIdFor(self.primaryIp, flags.routerId);
  if (routerId === undefined) {
    warnings.push(new KubeRouterError('KR_ERR_FLAG', 'router-id must be specified (--router-id) when the primary node IP is IPv6', { field: '--router-id', object: nodeRef(self.name) }));
    return out;
  }

  // Peers: iBGP, then external (flags, else this node's annotations). An
  // external address that is also a node keeps its iBGP session.
  const internal = ibgpPeers(self, nodes, asn, flags);
  let externalConfigs = self.annotations.peers ?? [];
  if (flags.peerRouterIps.length > 0) {
    const fromFlags = flagPeers(flags, input.peerRouterPasswordsFromFile);
    warnings.push(...fromFlags.errors);
    externalConfigs = fromFlags.peers;
  }
  const external = externalPeerSpecs(self, externalConfigs, flags).filter((p) => {
    if (!internal.some((i) => i.neighborAddress === p.neighborAddress)) return true;
    warnings.push(new KubeRouterError('KR_ERR_CONFIG', `external peer ${p.neighborAddress} is also a cluster node: kept as an iBGP peer`, { value: p.neighborAddress }));
    return false;
  });
  const peers: PeerSpec[] = [...internal, ...external].sort((a, b) => compareAddr(a.neighborAddress, b.neighborAddress));

  // Paths: pod CIDRs, then the active VIPs.
  const allIps = [...self.ips.ipv4, ...self.ips.ipv6];
  const vips = compileVips({
    services: input.services,
    endpointSlices: input.endpointSlices,
    nodeName: self.name,
    nodeIps: allIps,
    flags,
  });
  warnings.push(...vips.warnings);
  const podPaths = localPaths(self, self.podCidrs, flags, warnings);
  const vipPaths = localPaths(self, vips.active.filter((v) => !self.podCidrs.includes(v)), flags, warnings);
  out.advertisedVips = vipPaths.map((p) => p.prefix.split('/')[0]);
  const paths = [...podPaths, ...vipPaths].sort(
    (a, b) => compareAddr(a.prefix.split('/')[0], b.prefix.split('/')[0]) || Number(a.prefix.split('/')[1]) - Number(b.prefix.split('/')[1]),
  );

  const bgp: BgpState = {
    global: globalConfig(selfWithIp, asn, routerId, flags),
    peers,
    definedSets: [],
    policies: [],
    assignments: [],
    paths,
  };
  if (self.annotations.rrServer === undefined) {
    const policy = compilePolicies({
      podCidrs: self.podCidrs,
      clusterPodCidrs: normalizeCidrs([...nodes.flatMap((n) => n.podCidrs), ...flags.clusterCidr]),
      vips: vips.all,
      ibgpPeerIps: nodes.map((n) => n.primaryIp).filter((ip): ip is string => ip !== undefined),
      externalPeerIps: external.map((p) => p.neighborAddress),
      customImportReject: self.annotations.customImportReject,
      communities: self.annotations.communities,
      ...(self.annotations.pathPrepend ? { pathPrepend: self.annotations.pathPrepend } : {}),
      enableIbgp: flags.enableIbgp,
      advertisePodCidr: flags.advertisePodCidr,
      overrideNexthop: flags.overrideNexthop,
    });
    bgp.definedSets = policy.definedSets;
    bgp.policies = policy.policies;
    bgp.assignments = policy.assignments;
  }
  out.bgp = bgp;
  return out;
}
