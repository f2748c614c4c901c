// The routing controller's desired state for one node: the BGP state
// (compileRouting), the kernel routes, tunnels and rules (planRoutes over the
// learned best paths) and the pod egress ipsets and rules. `dump` gives the
// best paths gobgpd holds and the node's connected subnets as read back;
// `plan` derives the paths the other nodes advertise (their own
// compileRouting: pod CIDRs, next hop their node IP, for every iBGP peer of
// this node: service VIPs are rejected on import) and assumes the subnets.

import type { BgpState } from '../../bgp/state.js';
import type { IpFamily } from '../../bgp/types.js';
import type { SharedCache } from '../../informers/cache.js';
import type { IpsetSet } from '../../kernel/ipset/types.js';
import { compileRouting, type RoutingDesired } from '../../controllers/routing/compile.js';
import { egressRules, egressSets } from '../../controllers/routing/pod-egress.js';
import { planRoutes, type LearnedPath, type RoutePlan } from '../../controllers/routing/routes-plan.js';
import type { AgentOptions } from '../options/types.js';
import { ipsetLines, plannedRouteLines, ruleLines, sortedLines, tunnelLines } from './render.js';
import type { Section } from './report.js';

export function routingFamilies(o: AgentOptions): IpFamily[] {
  return [...(o.enableIpv4 ? (['ipv4'] as const) : []), ...(o.enableIpv6 ? (['ipv6'] as const) : [])];
}

function compileFor(cache: SharedCache, options: AgentOptions, nodeName: string): RoutingDesired {
  return compileRouting({
    nodeName,
    nodes: cache.store('Node').list(),
    services: cache.store('Service').list(),
    endpointSlices: cache.store('EndpointSlice').list(),
    flags: options,
  });
}

export interface RoutingState {
  compiled: RoutingDesired;
  routes: RoutePlan;
  egressSets: IpsetSet[];
  /** `table CHAIN: args` of each egress rule, with its argv for `-C`. */
  egressRules: { family: IpFamily; table: 'nat' | 'filter'; chain: string; args: string[] }[];
}

/** The paths this node would learn from its iBGP peers (plan: no gobgpd to ask). */
export function derivedLearnedPaths(cache: SharedCache, options: AgentOptions, self: RoutingDesired): LearnedPath[] {
  if (!options.enableIbgp || !self.bgp) return [];
  const peers = new Set(self.bgp.peers.map((p) => p.neighborAddress));
  const out: LearnedPath[] = [];
  for (const n of self.nodes) {
    if (n.name === self.self?.name) continue;
    // A node this one peers with (on any of its addresses: MP-BGP carries the
    // IPv6 pod CIDR, next hop the node's IPv6 address, over the IPv4 session).
    const nodeIps = [...n.ips.ipv4, ...n.ips.ipv6];
    if (!nodeIps.some((ip) => peers.has(ip))) continue;
    const other = compileFor(cache, options, n.name);
    for (const p of other.bgp?.paths ?? []) {
      if (!nodeIps.includes(p.nextHop) || !n.podCidrs.includes(p.prefix)) continue;
      out.push({ prefix: p.prefix, nextHop: p.nextHop });
    }
  }
  return out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

/** --connected-subnets, else each of this node's IPs with /24 (IPv4) or /64 (IPv6). */
export function assumedSubnets(self: RoutingDesired, given: readonly string[] | undefined): string[] {
  if (given !== undefined) return [...given];
  const s = self.self;
  if (!s) return [];
  return [...s.ips.ipv4.map((ip) => `${ip}/24`), ...s.ips.ipv6.map((ip) => `${ip}/64`)];
}

export function compileRoutingState(
  cache: SharedCache,
  options: AgentOptions,
  nodeName: string,
  learned: (compiled: RoutingDesired) => LearnedPath[],
  connectedSubnets: (compiled: RoutingDesired) => string[],
): RoutingState {
  const compiled = compileFor(cache, options, nodeName);
  const self = compiled.self;
  const nodeIps: Partial<Record<IpFamily, string>> = {};
  if (self?.ips.ipv4[0]) nodeIps.ipv4 = self.ips.ipv4[0];
  if (self?.ips.ipv6[0]) nodeIps.ipv6 = self.ips.ipv6[0];
  const routes = planRoutes({
    paths: learned(compiled),
    nodeIps,
    connectedSubnets: connectedSubnets(compiled),
    podCidrs: self?.podCidrs ?? [],
    enableOverlay: options.enableOverlay,
    overlayType: options.overlayType,
  });
  const fams = routingFamilies(options);
  const ready = self?.primaryIp !== undefined;
  return {
    compiled,
    routes,
    // The controller sets up pod egress only once this node has an IP.
    egressSets: ready ? egressSets(compiled.nodes, fams) : [],
    egressRules: ready ? fams.flatMap((f) => egressRules(f, options.enablePodEgress).map((r) => ({ family: f, ...r }))) : [],
  };
}

export function bgpLines(b: BgpState | undefined): string[] {
  if (!b || b.global.asn === 0) return [];
  const g = b.global;
  const out = [`global as ${g.asn} router-id ${g.routerId} port ${g.listenPort}`];
  for (const p of b.peers) out.push(`peer ${p.neighborAddress} as ${p.peerAsn}`);
  for (const p of b.paths) out.push(`path ${p.prefix} next-hop ${p.nextHop}`);
  return sortedLines(out);
}

export function egressRuleLine(r: RoutingState['egressRules'][number]): string {
  return `${r.family} ${r.table} ${r.chain}: ${r.args.join(' ')}`;
}

export function routingDesiredSections(s: RoutingState): Section[] {
  return [
    { name: 'bgp', desired: bgpLines(s.compiled.bgp) },
    { name: 'routes', desired: plannedRouteLines([...s.routes.routes, ...s.routes.pbrRoutes]) },
    { name: 'tunnels', desired: tunnelLines(s.routes.tunnels) },
    { name: 'rules', desired: ruleLines(s.routes.rules) },
    { name: 'ipsets', desired: ipsetLines(s.egressSets) },
    { name: 'iptables', desired: sortedLines(s.egressRules.map(egressRuleLine)) },
  ];
}
