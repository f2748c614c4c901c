// Desired-state types of the NetworkPolicy firewall: what one policy compiles
// into (its chains and the sets they reference), what one local pod compiles
// into (its KUBE-POD-FW chain), what a set holds, and the assembled kernel
// state handed to the reconciler. Pure data: no I/O, no clocks.
//
// Kernel values are the kernel modules' own types: per family one
// `IptablesDesired` for the filter table (chains as name -> rules, text after
// `-A CHAIN`; jumps from INPUT/FORWARD/OUTPUT) and a list of `IpsetSet`s.

import type { ObjectError } from '../../errors.js';
import type { Namespace, NetworkPolicy, Pod, Protocol } from '../../informers/types.js';
import type { Store } from '../../informers/cache.js';
import type { IptablesDesired } from '../../kernel/iptables/types.js';
import type { IpsetSet, IpsetType } from '../../kernel/ipset/types.js';
import type { CompiledSelector } from './selectors.js';
import type { Direction, Family } from './names.js';

export type { Direction, Family } from './names.js';

/** What the compiler reads besides the cluster objects. */
export interface FirewallContext {
  nodeName: string;
  /** Enabled families (--enable-ipv4 / --enable-ipv6). */
  families: readonly Family[];
  /** --service-cluster-ip-range (RETURN early in KUBE-ROUTER-INPUT). */
  serviceClusterIpRanges: readonly string[];
  serviceExternalIpRanges: readonly string[];
  loadbalancerIpRanges: readonly string[];
  /** `first:last` (multiport syntax). */
  nodePortRange: string;
  /** --netpol-default-deny. Needs `podCidrs`; off (with a warning) without them. */
  defaultDeny: boolean;
  /** This node's pod CIDRs (spec.podCIDRs). */
  podCidrs: readonly string[];
  /**
   * Keep kube-router's human comments in rules (sanitized). Off by default:
   * the iptables module adds its own `kr:` comment to every rule.
   */
  ruleComments?: boolean;
}

/** The cluster objects the compiler reads (the shared informer cache's stores). */
export interface ClusterView {
  pods: Store<Pod>;
  namespaces: Store<Namespace>;
  policies: Store<NetworkPolicy>;
}

/** Which namespaces a pod group covers: the policy's own, or those a namespaceSelector matches. */
export type NamespaceScope = { namespace: string } | { selector: CompiledSelector };

/** Pods selected by a podSelector within a namespace scope (a policy's targets, or a pod peer). */
export interface PodGroup {
  scope: NamespaceScope;
  pods: CompiledSelector;
  /** Canonical text: selector + scope. Sets are named from it. */
  key: string;
}

/**
 * What one set holds, family-independent. Its `key` (canonical form) names
 * the set, so every rule of every policy that uses the same peer shares it.
 */
export type SetSpec =
  | { kind: 'pods'; key: string; group: PodGroup }
  /** `ip,proto:port` of the group's pods whose container port `port` (a name) has `protocol`. */
  | { kind: 'namedPort'; key: string; group: PodGroup; port: string; protocol: Protocol }
  /** An ipBlock of one family: `cidr` plus `except` entries with `nomatch`. */
  | { kind: 'ipBlock'; key: string; family: Family; cidr: string; except: readonly string[] };

export const SET_TYPE: Record<SetSpec['kind'], IpsetType> = {
  pods: 'hash:ip',
  namedPort: 'hash:ip,port',
  ipBlock: 'hash:net',
};

/** A set as a chain uses it. */
export interface SetUse {
  spec: SetSpec;
  /** Per family, the set's kernel name. */
  names: Partial<Record<Family, string>>;
}

/** The compiled form of one NetworkPolicy (independent of pod IPs: pods change sets, not chains). */
export interface CompiledPolicy {
  /** `namespace/name`. */
  key: string;
  namespace: string;
  name: string;
  /** Effective policyTypes. */
  ingress: boolean;
  egress: boolean;
  /** The pods it selects (spec.podSelector in its namespace). */
  targets: PodGroup;
  // chainNames, chains and sets are built on first use (compile-policy.ts).
  /** Chain name per family and direction (for the types it has). */
  chainNames: Partial<Record<Family, Partial<Record<Direction, string>>>>;
  /** Every chain of the policy, all families: name -> rules. */
  chains: ReadonlyMap<string, readonly string[]>;
  /** Sets its chains reference, by base (IPv4) set name. */
  sets: ReadonlyMap<string, SetUse>;
  /** Set when the policy could not be compiled: it then allows nothing (fail closed). */
  errors: readonly ObjectError[];
}

/** A KUBE-NWPLCY-SEL-* chain: the jumps to the policies of one podSelector (names.ts selectorChainName). */
export interface SharedChain {
  chain: string;
  rules: readonly string[];
}

/** A rule of KUBE-ROUTER-INPUT/-FORWARD/-OUTPUT that sends a pod's traffic to its chain. */
export interface TopLevelJump {
  chain: string;
  rule: string;
}

/** The compiled form of one local pod that some policy selects. */
export interface CompiledPod {
  /** `namespace/name`. */
  key: string;
  /** Per family with an address: the pod IP, its chain and rules, and its jumps from the top-level chains. */
  families: Partial<Record<Family, { ip: string; chain: string; rules: readonly string[]; jumps: readonly TopLevelJump[] }>>;
  /** Policies applied (keys), for diagnostics. */
  ingressPolicies: readonly string[];
  egressPolicies: readonly string[];
}

/** The whole desired kernel state. */
export interface FirewallDesired {
  /** Per enabled family: the filter table's owned chains and jumps. */
  iptables: Partial<Record<Family, IptablesDesired>>;
  /** Every KUBE-SRC-/KUBE-DST- set (both families), sorted by name. */
  ipsets: IpsetSet[];
  /**
   * --netpol-default-deny: `kube-router-local-pods` per family. Members
   * ADDED to it must be applied after the iptables transaction that creates
   * the pods' chains (removals may go first), or a new pod is briefly open.
   */
  localPods: IpsetSet[];
  /** Policies that could not be compiled (each enforced fail-closed). */
  errors: readonly ObjectError[];
  /** Non-fatal configuration problems (e.g. default deny without a pod CIDR). */
  warnings: readonly string[];
}

/** Owned chain names (the reconciler's `owned` predicate). */
export function isOwnedChain(name: string): boolean {
  return name.startsWith('KUBE-NWPLCY-') || name.startsWith('KUBE-POD-FW-') || name === 'KUBE-ROUTER-INPUT' || name === 'KUBE-ROUTER-FORWARD' || name === 'KUBE-ROUTER-OUTPUT';
}

/** Owned set names (the reconciler's `owned` predicate for destroyStale). */
export function isOwnedSet(name: string): boolean {
  const base = name.startsWith('inet6:') ? name.slice(6) : name;
  return base.startsWith('KUBE-SRC-') || base.startsWith('KUBE-DST-') || base === 'kube-router-local-pods';
}
