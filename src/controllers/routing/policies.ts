// gobgpd defined sets, the kube_router_export / kube_router_import policies
// and their global assignments, with kube-router v2.11's semantics
// (pkg/controllers/routing/bgp_policies.go):
//
// Export (default REJECT):
//   pod CIDR sets -> iBGP peer sets (with --enable-ibgp), ACCEPT;
//   service VIP sets -> external peer sets, ACCEPT + next-hop-self
//     (--override-nexthop) + communities + AS-path prepend;
//   pod CIDR sets -> external peer sets (with --advertise-pod-cidr), same actions.
// Import (default ACCEPT), for each peer set of allpeerset(v6):
//   service VIPs, the default route and customimportreject CIDRs -> REJECT;
//   plus (not in kube-router) any prefix inside a pod CIDR of the cluster
//   from an external peer -> REJECT.
//
// Like kube-router, a statement is only emitted when the sets it references
// are non-empty (an empty set in a MatchSet ANY condition matches
// everything), and empty sets are not created at all. Where kube-router pairs
// only IPv4 sets in dual-stack (iBGPpeerset with podcidrdefinedsetv6,
// defaultroutedefinedset with allpeersetv6), we pair every prefix set with
// every neighbor set, so that a v6 route learned over a v4 session (one
// session carries both families) meets the same rules. Statement names are
// <prefix set><neighbor set>, as kube-router's. The policies are versioned by
// content in the BGP layer (state-diff.ts), which replaces them atomically.

import { parseCidr } from '../../bgp/ip.js';
import type { DefinedSet, IpFamily, Policy, PolicyAssignment, PrefixSetEntry, Statement } from '../../bgp/types.js';
import { compareAddr } from '../../kernel/rtnl/inet.js';
import {
  ASSIGNMENT_GLOBAL,
  POLICY_EXPORT,
  POLICY_IMPORT,
  SET_ALL_PEERS,
  SET_ALL_PEERS_V6,
  SET_CLUSTER_POD_CIDRS,
  SET_CLUSTER_POD_CIDRS_V6,
  SET_CUSTOM_IMPORT_REJECT,
  SET_DEFAULT_ROUTE,
  SET_DEFAULT_ROUTE_V6,
  SET_EXTERNAL_PEERS,
  SET_EXTERNAL_PEERS_V6,
  SET_IBGP_PEERS,
  SET_IBGP_PEERS_V6,
  SET_POD_CIDR,
  SET_POD_CIDR_V6,
  SET_SERVICE_VIPS,
  SET_SERVICE_VIPS_V6,
} from './model.js';

export interface PolicyInput {
  /** This node's pod CIDRs. */
  podCidrs: readonly string[];
  /** Every pod CIDR of the cluster (all nodes, and --cluster-cidr when given). */
  clusterPodCidrs: readonly string[];
  /** Every advertisable service VIP (local endpoints or not). */
  vips: readonly string[];
  /** Primary IPs of all nodes (kube-router's iBGPpeerset; empty without --enable-ibgp). */
  ibgpPeerIps: readonly string[];
  externalPeerIps: readonly string[];
  /** This node's customimportreject CIDRs. */
  customImportReject: readonly string[];
  /** Communities ("high:low") added on exports to external peers. */
  communities: readonly string[];
  pathPrepend?: { asn: number; repeat: number };
  enableIbgp: boolean;
  advertisePodCidr: boolean;
  overrideNexthop: boolean;
}

export interface PolicyOutput {
  definedSets: DefinedSet[];
  policies: Policy[];
  assignments: PolicyAssignment[];
}

const MAX_LEN: Record<IpFamily, number> = { ipv4: 32, ipv6: 128 };

function byFamily(cidrs: readonly string[], family: IpFamily): { prefix: string; length: number }[] {
  const out: { prefix: string; length: number }[] = [];
  for (const text of cidrs) {
    const c = parseCidr(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
    if (!c || c.family !== family) continue;
    const prefix = `${c.address}/${c.length}`;
    if (!out.some((o) => o.prefix === prefix)) out.push({ prefix, length: c.length });
  }
  return out.sort((a, b) => compareAddr(a.prefix.split('/')[0], b.prefix.split('/')[0]) || a.length - b.length);
}

/** Exact-match entries (min = max = prefix length), or up to the host length when `orLonger`. */
function prefixSet(name: string, cidrs: readonly string[], family: IpFamily, orLonger = false): DefinedSet | undefined {
  const entries: PrefixSetEntry[] = byFamily(cidrs, family).map(({ prefix, length }) => ({
    prefix,
    maskLengthMin: length,
    maskLengthMax: orLonger ? MAX_LEN[family] : length,
  }));
  return entries.length > 0 ? { type: 'prefix', name, prefixes: entries } : undefined;
}

function neighborSet(name: string, ips: readonly string[], family: IpFamily): DefinedSet | undefined {
  const members = byFamily(ips, family).map((e) => e.prefix);
  return members.length > 0 ? { type: 'neighbor', name, neighbors: members } : undefined;
}

function statement(prefixSetName: string, neighborSetName: string, actions: Statement['actions']): Statement {
  return {
    name: prefixSetName + neighborSetName,
    conditions: { prefixSet: { name: prefixSetName, match: 'any' }, neighborSet: { name: neighborSetName, match: 'any' } },
    actions,
  };
}

export function compilePolicies(input: PolicyInput): PolicyOutput {
  const sets: (DefinedSet | undefined)[] = [
    prefixSet(SET_POD_CIDR, input.podCidrs, 'ipv4'),
    prefixSet(SET_POD_CIDR_V6, input.podCidrs, 'ipv6'),
    prefixSet(SET_SERVICE_VIPS, input.vips, 'ipv4'),
    prefixSet(SET_SERVICE_VIPS_V6, input.vips, 'ipv6'),
    prefixSet(SET_DEFAULT_ROUTE, ['0.0.0.0/0'], 'ipv4'),
    prefixSet(SET_DEFAULT_ROUTE_V6, ['::/0'], 'ipv6'),
    // kube-router: min = the CIDR's length, max = 32 (the set is one family only).
    ...(['ipv4', 'ipv6'] as const).map((f) => prefixSet(SET_CUSTOM_IMPORT_REJECT, input.customImportReject, f, true)),
    prefixSet(SET_CLUSTER_POD_CIDRS, input.clusterPodCidrs, 'ipv4', true),
    prefixSet(SET_CLUSTER_POD_CIDRS_V6, input.clusterPodCidrs, 'ipv6', true),
    neighborSet(SET_IBGP_PEERS, input.enableIbgp ? input.ibgpPeerIps : [], 'ipv4'),
    neighborSet(SET_IBGP_PEERS_V6, input.enableIbgp ? input.ibgpPeerIps : [], 'ipv6'),
    neighborSet(SET_EXTERNAL_PEERS, input.externalPeerIps, 'ipv4'),
    neighborSet(SET_EXTERNAL_PEERS_V6, input.externalPeerIps, 'ipv6'),
    neighborSet(SET_ALL_PEERS, [...input.externalPeerIps, ...(input.enableIbgp ? input.ibgpPeerIps : [])], 'ipv4'),
    neighborSet(SET_ALL_PEERS_V6, [...input.externalPeerIps, ...(input.enableIbgp ? input.ibgpPeerIps : [])], 'ipv6'),
  ];
  // customimportreject holds one family: keep the first non-empty one.
  const definedSets: DefinedSet[] = [];
  for (const s of sets) if (s && !definedSets.some((d) => d.type === s.type && d.name === s.name)) definedSets.push(s);
  const has = (name: string): boolean => definedSets.some((s) => s.name === name);
  const present = (...names: string[]): string[] => names.filter(has);

  // ---- export ----
  const exportStatements: Statement[] = [];
  if (input.enableIbgp) {
    for (const pod of present(SET_POD_CIDR, SET_POD_CIDR_V6)) {
      for (const peers of present(SET_IBGP_PEERS, SET_IBGP_PEERS_V6)) exportStatements.push(statement(pod, peers, { routeAction: 'accept' }));
    }
  }
  const external: Statement['actions'] = { routeAction: 'accept' };
  if (input.communities.length > 0) external.community = { type: 'add', communities: [...input.communities] };
  if (input.pathPrepend) external.asPrepend = { asn: input.pathPrepend.asn, repeat: input.pathPrepend.repeat };
  if (input.overrideNexthop) external.nextHop = { self: true };
  for (const peers of present(SET_EXTERNAL_PEERS, SET_EXTERNAL_PEERS_V6)) {
    for (const vips of present(SET_SERVICE_VIPS, SET_SERVICE_VIPS_V6)) exportStatements.push(statement(vips, peers, external));
    if (input.advertisePodCidr) {
      for (const pod of present(SET_POD_CIDR, SET_POD_CIDR_V6)) exportStatements.push(statement(pod, peers, external));
    }
  }

  // ---- import ----
  const reject: Statement['actions'] = { routeAction: 'reject' };
  const importStatements: Statement[] = [];
  for (const peers of present(SET_ALL_PEERS, SET_ALL_PEERS_V6)) {
    for (const set of present(SET_SERVICE_VIPS, SET_SERVICE_VIPS_V6, SET_DEFAULT_ROUTE, SET_DEFAULT_ROUTE_V6, SET_CUSTOM_IMPORT_REJECT)) {
      importStatements.push(statement(set, peers, reject));
    }
  }
  for (const peers of present(SET_EXTERNAL_PEERS, SET_EXTERNAL_PEERS_V6)) {
    for (const set of present(SET_CLUSTER_POD_CIDRS, SET_CLUSTER_POD_CIDRS_V6)) importStatements.push(statement(set, peers, reject));
  }

  return {
    definedSets,
    policies: [
      { name: POLICY_EXPORT, statements: exportStatements },
      { name: POLICY_IMPORT, statements: importStatements },
    ],
    assignments: [
      { name: ASSIGNMENT_GLOBAL, direction: 'export', policies: [POLICY_EXPORT], defaultAction: 'reject' },
      { name: ASSIGNMENT_GLOBAL, direction: 'import', policies: [POLICY_IMPORT], defaultAction: 'accept' },
    ],
  };
}
