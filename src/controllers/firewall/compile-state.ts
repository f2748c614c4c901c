// The incremental compiler: per-item results cached (compiled policies,
// per-set members by pod, compiled local pods), recomputed only for what a
// change affects, and assembled into the whole desired state on demand.
//
//   policy changed     -> that policy's chains; its sets' refcounts; chains of
//                         LOCAL pods of its namespace (selection may have
//                         changed)
//   pod changed        -> its entries in the sets whose scope covers it; its
//                         own chain when it is (or was) on this node
//   namespace changed  -> entries of its pods in namespaceSelector-scoped sets
//
// Policy chains never depend on pods or namespaces (they reference sets), so
// a pod event rewrites no policy chain.
//
// A set is filled from the view when a policy that uses it first becomes
// active (selects a local pod), and kept up to date from then on (the sets
// and their members: policy-sets.ts): most policies of a cluster select no
// pod of this node, and their sets are never filled (a full compile of S5
// fills 91 sets, not every set of 1,000 policies).
//
// A policy whose last local pod leaves lingers: its chains and sets stay in
// the desired state (kept up to date, jumped to by no pod chain, so they
// match no packet) for up to LINGERING_POLICIES policies, the oldest leaving
// first. Their shared selector chains (KUBE-NWPLCY-SEL-*, built from the
// active policies: compile-pod.ts selectorChains) stay with them. A pod that
// replaces the last one (a rolling update that deletes before it creates, a
// deployment scaled to zero and back) then costs its own chain and jumps
// only, not its policies' chains and sets again: for a pod of 100 policies
// sharing a podSelector, ~15 kernel messages instead of ~315. A restart or a
// policy deleted ends it.
//
// A pod bound to this node that has no IP yet (its sandbox starting) makes
// the policies selecting it active already: their chains, selector chains
// and sets are written while the pod starts, and its IP brings only its own
// chain (the window in which a new pod is reachable before its chain is in
// place is then that of one pod chain, not of 100 policies).

import type { ObjectError } from '../../errors.js';
import type { Pod } from '../../informers/types.js';
import type { IptablesDesired, JumpRule } from '../../kernel/iptables/types.js';
import type { IpsetSet } from '../../kernel/ipset/types.js';
import { compilePolicy } from './compile-policy.js';
import { compilePod, selectingPolicies, selectorChains } from './compile-pod.js';
import { cmp, isActionable, isStarting, podIp, sameList } from './compile-sets.js';
import { PolicySets } from './policy-sets.js';
import { builtinJumps, commonChain, defaultChain, defaultDenyCidrs, inputHead, tailChain, TAIL_JUMP } from './compile-static.js';
import { CHAIN_COMMON, CHAIN_DEFAULT, CHAIN_FORWARD, CHAIN_INPUT, CHAIN_OUTPUT, CHAIN_TAIL, FAMILIES, familySetName, finishRules, LOCAL_PODS_SET, type Family } from './names.js';
import type { ClusterView, CompiledPod, CompiledPolicy, FirewallContext, FirewallDesired, SharedChain } from './model.js';

export interface FirewallChanges {
  policies: Iterable<string>;
  pods: Iterable<string>;
  namespaces: Iterable<string>;
}

/** What an update touched (for metrics and tests). */
export interface UpdateStats {
  policiesCompiled: number;
  podsCompiled: number;
  setsChanged: number;
}

/** The policies a pod's chain jumps to (or will, for a starting pod). */
type PolicyRefs = Pick<CompiledPod, 'ingressPolicies' | 'egressPolicies'>;

/** Whether two compilations of a pod jump to the same policies. */
function samePolicies(a: PolicyRefs | undefined, b: PolicyRefs | null): boolean {
  if (!a || !b) return !a && !b;
  return sameList(a.ingressPolicies, b.ingressPolicies) && sameList(a.egressPolicies, b.egressPolicies);
}

/** Whether two compilations of a pod put the same jumps in the top-level chains. */
function sameTopJumps(a: CompiledPod | undefined, b: CompiledPod | undefined): boolean {
  if (!a || !b) return !a && !b;
  for (const fam of FAMILIES) {
    const x = a.families[fam]?.jumps ?? [];
    const y = b.families[fam]?.jumps ?? [];
    if (x.length !== y.length || x.some((j, i) => j.chain !== y[i].chain || j.rule !== y[i].rule)) return false;
  }
  return true;
}

/** What fixedParts() holds per family. */
interface FixedParts {
  common: readonly string[];
  default: readonly string[];
  tail: readonly string[];
  inputHead: readonly string[];
  tailJump: readonly string[];
  jumps: JumpRule[];
}

/**
 * Policies kept in the kernel after their last local pod left. 100 is the
 * S6 bench's policies per pod; each costs its chains (a few rules) and keeps
 * its sets filled and in the kernel.
 */
export const LINGERING_POLICIES = 128;

export interface FirewallStateOptions {
  /** How many policies linger after their last local pod left (tests: 0). */
  lingeringPolicies?: number;
}

export class FirewallState {
  private readonly policies = new Map<string, CompiledPolicy>();
  private readonly policiesByNs = new Map<string, Set<string>>();
  /** The sets of the registered policies, with their members. */
  private readonly policySets: PolicySets;
  /** Per policy, how many local pod chains jump to it (its chains and sets are in the kernel while > 0). */
  private readonly activeRefs = new Map<string, number>();
  /**
   * Policies whose sets are in `policySets` (with a ref): the active and the
   * lingering ones. Another policy's chains and sets are not even built
   * (CompiledPolicy's lazy part), nor its sets filled.
   */
  private readonly registered = new Set<string>();
  /** Policies no local pod selects any more, still in the kernel, oldest first (see the header). */
  private readonly lingering = new Set<string>();
  private readonly maxLingering: number;
  /** Local pods that have a chain. */
  private readonly pods = new Map<string, CompiledPod>();
  /** Local pods without an IP yet that policies select: those policies (see the header). */
  private readonly starting = new Map<string, PolicyRefs>();
  /** Local actionable pods: key -> IPs per family (kube-router-local-pods). */
  private readonly localIps = new Map<string, Partial<Record<Family, string>>>();
  /** kube-router-local-pods as last built; dropped when localIps changes. */
  private localBuilt?: IpsetSet[];
  // Derived from the maps above, kept between desired() calls and dropped by
  // what changes them, so a sync after one pod event does not walk every
  // policy, pod and set again (each walk is milliseconds under emulation).
  /** Policies some local pod's chain jumps to; dropped when a policy or a local pod's chain changes. */
  private activeCache?: Set<string>;
  /** Sorted errors; dropped when a policy changes. */
  private errorsCache?: ObjectError[];
  /** Policy keys in order; dropped when a policy is added or deleted. */
  private policyOrder?: string[];
  /** Sorted keys of the active policies and of the pods with a chain. */
  private activeKeys?: string[];
  /** Per family: the active policies' shared chains (KUBE-NWPLCY-SEL-*); dropped with the active set. */
  private readonly selectorCache = new Map<Family, SharedChain[]>();
  private podKeys?: string[];
  /**
   * Per family: KUBE-ROUTER-INPUT/-FORWARD/-OUTPUT as last assembled (two
   * jumps per local pod), the same arrays until a pod chain comes, goes or
   * moves to another IP: the reconciler then skips them by identity.
   */
  private readonly topCache = new Map<Family, Record<string, readonly string[]>>();
  private readonly fixed = new Map<Family, FixedParts>();
  /** The view of the last rebuild or update: sets are filled from it when first used. */
  private view?: ClusterView;

  constructor(
    readonly ctx: FirewallContext,
    opts: FirewallStateOptions = {},
  ) {
    this.policySets = new PolicySets(ctx);
    this.maxLingering = opts.lingeringPolicies ?? LINGERING_POLICIES;
  }

  /**
   * The parts of the layout that depend on the context only (the static
   * chains, the head of KUBE-ROUTER-INPUT, the jumps from the built-in
   * chains): built once, and the same arrays every sync, which the
   * reconciler's comparison then passes by identity.
   */
  private fixedParts(fam: Family): FixedParts {
    let f = this.fixed.get(fam);
    if (!f) {
      const keep = this.ctx.ruleComments;
      f = {
        common: finishRules(commonChain(fam), keep),
        default: finishRules(defaultChain(), keep),
        tail: finishRules(tailChain(this.ctx, fam), keep),
        inputHead: finishRules(inputHead(this.ctx, fam), keep),
        tailJump: finishRules([TAIL_JUMP], keep),
        jumps: builtinJumps(),
      };
      this.fixed.set(fam, f);
    }
    return f;
  }

  /**
   * Compiles everything from the view (startup, periodic resync). The
   * policies lingering before (or `lingering`, oldest first) go on lingering
   * if they still exist and select no local pod.
   */
  rebuild(view: ClusterView, lingering: Iterable<string> = [...this.lingering]): UpdateStats {
    const keep = [...lingering];
    this.view = view;
    this.policies.clear();
    this.policiesByNs.clear();
    this.policySets.clear();
    this.activeRefs.clear();
    this.registered.clear();
    this.lingering.clear();
    this.pods.clear();
    this.starting.clear();
    this.localIps.clear();
    this.localBuilt = undefined;
    this.dropDerived();
    // Each set is filled from the view when first used (setsUsedBy), so
    // pods only need their own chains here (no per-pod pass over the sets).
    const changedSets = new Set<string>();
    const stats: UpdateStats = { policiesCompiled: 0, podsCompiled: 0, setsChanged: 0 };
    for (const p of view.policies.list()) {
      stats.policiesCompiled++;
      this.updatePolicy(`${p.metadata.namespace}/${p.metadata.name}`, view, changedSets);
    }
    for (const pod of view.pods.list()) {
      if (pod.spec?.nodeName !== this.ctx.nodeName) continue;
      stats.podsCompiled++;
      this.updateLocalPod(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
    }
    for (const k of keep) if (this.policies.has(k) && !this.activeRefs.has(k)) this.linger(k);
    stats.setsChanged = changedSets.size;
    return stats;
  }

  /** Policies that linger (oldest first). */
  lingeringPolicies(): string[] {
    return [...this.lingering];
  }

  /** Applies accumulated changes (from the change tracker). */
  update(changes: FirewallChanges, view: ClusterView): UpdateStats {
    this.view = view;
    const stats: UpdateStats = { policiesCompiled: 0, podsCompiled: 0, setsChanged: 0 };
    const podsToCompile = new Set<string>();
    const changedSets = new Set<string>();
    for (const key of changes.policies) {
      stats.policiesCompiled++;
      this.updatePolicy(key, view, changedSets);
      const ns = key.slice(0, key.indexOf('/'));
      for (const p of view.pods.listNamespace(ns)) podsToCompile.add(`${ns}/${p.metadata.name}`);
      for (const k of this.pods.keys()) if (k.startsWith(`${ns}/`)) podsToCompile.add(k);
    }
    for (const ns of changes.namespaces) {
      for (const pod of view.pods.listNamespace(ns)) this.policySets.updatePod(`${ns}/${pod.metadata.name}`, pod, view, changedSets, true);
    }
    for (const key of changes.pods) {
      this.policySets.updatePod(key, view.pods.get(key), view, changedSets, false);
      podsToCompile.add(key);
    }
    for (const key of podsToCompile) {
      stats.podsCompiled++;
      this.updateLocalPod(key, view.pods.get(key));
    }
    stats.setsChanged = changedSets.size;
    return stats;
  }

  private dropDerived(): void {
    this.dropActive();
    this.errorsCache = undefined;
    this.policyOrder = undefined;
    this.podKeys = undefined;
    this.topCache.clear();
  }

  private dropActive(): void {
    this.activeCache = undefined;
    this.activeKeys = undefined;
    this.selectorCache.clear();
    this.policySets.dropUsed();
  }

  private updatePolicy(key: string, view: ClusterView, changedSets: Set<string>): void {
    // Its sets may come or go (unref, below): the used sets and the ipsets list go with the active set.
    this.dropActive();
    this.errorsCache = undefined;
    const obj = view.policies.get(key);
    const next = obj ? compilePolicy(obj, this.ctx) : undefined;
    this.unregister(key);
    const ns = key.slice(0, key.indexOf('/'));
    if (next) {
      if (!this.policies.has(key)) this.policyOrder = undefined;
      this.policies.set(key, next);
      let s = this.policiesByNs.get(ns);
      if (!s) this.policiesByNs.set(ns, (s = new Set()));
      s.add(key);
      // Still active or lingering (the pods recompiled next decide whether it is selected): its new sets at once.
      if (this.activeRefs.has(key) || this.lingering.has(key)) this.register(key, changedSets);
    } else {
      if (this.policies.delete(key)) this.policyOrder = undefined;
      this.policiesByNs.get(ns)?.delete(key);
      this.lingering.delete(key);
    }
  }

  /** Refs from an active policy to its sets (a set first used is created unfilled). */
  private register(key: string, changedSets?: Set<string>): void {
    const p = this.policies.get(key);
    if (!p || this.registered.has(key)) return;
    this.registered.add(key);
    this.policySets.ref(key, p.sets, changedSets);
  }

  /** Drops a policy's refs to its sets (it is no longer active, or changed). */
  private unregister(key: string): void {
    if (!this.registered.delete(key)) return;
    const p = this.policies.get(key);
    if (p) for (const base of p.sets.keys()) this.policySets.unref(base, key);
  }

  private updateLocalPod(key: string, pod: Pod | undefined): void {
    const here = pod?.spec?.nodeName === this.ctx.nodeName;
    const local = here && isActionable(pod);
    // Count the policies of a starting pod in before those it no longer has
    // out (a pod getting its IP: its chain's refs before the starting ones leave).
    const wasStarting = this.starting.get(key);
    const nowStarting = here && isStarting(pod) ? this.startingRefs(pod) : undefined;
    if (nowStarting && !samePolicies(wasStarting, nowStarting)) {
      this.starting.set(key, nowStarting);
      this.countRefs(nowStarting, 1);
    }
    this.updatePodChain(key, pod, local);
    if (wasStarting && !samePolicies(wasStarting, nowStarting ?? null)) {
      if (!nowStarting) this.starting.delete(key);
      this.countRefs(wasStarting, -1);
    }
  }

  /** The policies selecting a starting pod, or undefined when none does. */
  private startingRefs(pod: Pod): PolicyRefs | undefined {
    const sel = selectingPolicies(pod, this.namespacePolicies(pod));
    if (sel.ingress.length === 0 && sel.egress.length === 0) return undefined;
    return { ingressPolicies: sel.ingress.map((p) => p.key), egressPolicies: sel.egress.map((p) => p.key) };
  }

  /** The compiled policies of `pod`'s namespace. */
  private namespacePolicies(pod: Pod): CompiledPolicy[] {
    return [...(this.policiesByNs.get(pod.metadata.namespace ?? '') ?? [])].map((k) => this.policies.get(k) as CompiledPolicy);
  }

  private updatePodChain(key: string, pod: Pod | undefined, local: boolean): void {
    if (!local || !pod) {
      const had = this.pods.get(key);
      if (had) {
        this.pods.delete(key);
        this.countRefs(had, -1);
        this.podKeys = undefined;
        this.topCache.clear();
      }
      if (this.localIps.delete(key)) this.localBuilt = undefined;
      return;
    }
    const compiled = compilePod(pod, this.namespacePolicies(pod), this.ctx);
    const had = this.pods.get(key);
    if (compiled) this.pods.set(key, compiled);
    else this.pods.delete(key);
    if (!had !== !compiled) this.podKeys = undefined;
    if (!sameTopJumps(had, compiled ?? undefined)) this.topCache.clear();
    if (!samePolicies(had, compiled)) {
      if (had) this.countRefs(had, -1);
      if (compiled) this.countRefs(compiled, 1);
    }
    // Selected or not, the pod's firewall state is now known (an unselected
    // pod needs no chain): it joins kube-router-local-pods.
    const ips: Partial<Record<Family, string>> = {};
    for (const fam of this.ctx.families) {
      const ip = podIp(pod, fam);
      if (ip) ips[fam] = ip;
    }
    const hadIps = this.localIps.get(key);
    if (!hadIps || this.ctx.families.some((f) => hadIps[f] !== ips[f])) this.localBuilt = undefined;
    this.localIps.set(key, ips);
  }

  /**
   * Counts a pod chain's jumps to policies in or out. A policy whose count
   * reaches 0 lingers (it stays in the kernel: the active set is the same);
   * one that comes back from lingering was in it all along.
   */
  private countRefs(pod: PolicyRefs, delta: 1 | -1): void {
    for (const k of [...pod.ingressPolicies, ...pod.egressPolicies]) {
      const n = (this.activeRefs.get(k) ?? 0) + delta;
      if (n > 0) this.activeRefs.set(k, n);
      else this.activeRefs.delete(k);
      if (n === 0) this.linger(k);
      else if (n === 1 && delta === 1 && !this.lingering.delete(k)) {
        this.dropActive();
        this.register(k);
      }
    }
  }

  /** `key` lingers (newest); past the limit the oldest leaves the kernel. */
  private linger(key: string): void {
    if (this.policies.has(key) && this.maxLingering > 0) {
      this.lingering.delete(key);
      this.lingering.add(key);
      this.register(key);
    } else {
      this.dropActive();
      this.unregister(key);
      this.lingering.delete(key);
    }
    for (const old of this.lingering) {
      if (this.lingering.size <= this.maxLingering) break;
      this.lingering.delete(old);
      this.dropActive();
      this.unregister(old);
    }
  }

  /** Compiled policies (for diagnostics and tests). */
  compiledPolicies(): ReadonlyMap<string, CompiledPolicy> {
    return this.policies;
  }

  compiledPods(): ReadonlyMap<string, CompiledPod> {
    return this.pods;
  }

  errors(): ObjectError[] {
    if (this.errorsCache) return [...this.errorsCache];
    const out: ObjectError[] = [];
    for (const k of (this.policyOrder ??= [...this.policies.keys()].sort(cmp))) {
      const errs = (this.policies.get(k) as CompiledPolicy).errors;
      if (errs.length) out.push(...errs);
    }
    this.errorsCache = out;
    return [...out];
  }

  /** The whole desired state, deterministic (sorted where order does not matter). */
  desired(): FirewallDesired {
    const iptables: FirewallDesired['iptables'] = {};
    const warnings: string[] = [];
    if (this.ctx.defaultDeny && this.ctx.podCidrs.length === 0) {
      warnings.push('--netpol-default-deny needs the node pod CIDR (spec.podCIDRs): default deny is off');
    }
    const podKeys = (this.podKeys ??= [...this.pods.keys()].sort(cmp));
    // Only policies that select a local pod (or linger) reach the kernel
    // (their chains and sets); the others stay compiled in memory, ready
    // when one does.
    const active = this.activePolicies();
    const policyKeys = (this.activeKeys ??= [...active].sort(cmp));
    for (const fam of this.ctx.families) {
      const chains = new Map<string, readonly string[]>();
      const fixed = this.fixedParts(fam);
      chains.set(CHAIN_COMMON, fixed.common);
      chains.set(CHAIN_DEFAULT, fixed.default);
      chains.set(CHAIN_TAIL, fixed.tail);
      for (const k of policyKeys) {
        const p = this.policies.get(k) as CompiledPolicy;
        for (const d of ['ingress', 'egress'] as const) {
          const name = p.chainNames[fam]?.[d];
          if (name) chains.set(name, p.chains.get(name) as readonly string[]);
        }
      }
      for (const k of podKeys) {
        const f = (this.pods.get(k) as CompiledPod).families[fam];
        if (!f) continue;
        chains.set(f.chain, f.rules);
      }
      for (const c of this.selectorChains(fam, policyKeys)) chains.set(c.chain, c.rules);
      const top = this.topChains(fam, podKeys, fixed);
      for (const c of [CHAIN_INPUT, CHAIN_FORWARD, CHAIN_OUTPUT]) chains.set(c, top[c]);
      const d: IptablesDesired = { table: 'filter', chains, jumps: fixed.jumps };
      iptables[fam] = d;
    }
    return { iptables, ipsets: this.policySets.kernelSets(active, this.view as ClusterView), localPods: this.localPodsSets(), errors: this.errors(), warnings };
  }

  /** The top-level chains of `fam`: fixed head, each pod's jumps (pods in key order), the tail jump. */
  private topChains(fam: Family, podKeys: readonly string[], fixed: FixedParts): Record<string, readonly string[]> {
    let top = this.topCache.get(fam);
    if (top) return top;
    const acc: Record<string, string[]> = { [CHAIN_INPUT]: [...fixed.inputHead], [CHAIN_FORWARD]: [], [CHAIN_OUTPUT]: [] };
    for (const k of podKeys) for (const j of (this.pods.get(k) as CompiledPod).families[fam]?.jumps ?? []) acc[j.chain].push(j.rule);
    for (const c of [CHAIN_INPUT, CHAIN_FORWARD, CHAIN_OUTPUT]) acc[c].push(...fixed.tailJump);
    top = acc;
    this.topCache.set(fam, top);
    return top;
  }

  /** The shared chains of the active policies (selectorChains), kept until the active set or a policy changes. */
  private selectorChains(fam: Family, policyKeys: readonly string[]): SharedChain[] {
    let out = this.selectorCache.get(fam);
    if (!out) {
      out = selectorChains(
        policyKeys.map((k) => this.policies.get(k) as CompiledPolicy),
        fam,
        !!this.ctx.ruleComments,
      );
      this.selectorCache.set(fam, out);
    }
    return out;
  }

  /** Keys of the policies some local pod's chain jumps to, and of the lingering ones. */
  private activePolicies(): Set<string> {
    if (this.activeCache) return this.activeCache;
    const out = new Set<string>();
    for (const k of this.activeRefs.keys()) if (this.policies.has(k)) out.add(k);
    for (const k of this.lingering) out.add(k);
    this.activeCache = out;
    return out;
  }

  private localPodsSets(): IpsetSet[] {
    if (this.localBuilt) return this.localBuilt;
    const out: IpsetSet[] = [];
    for (const fam of this.ctx.families) {
      if (defaultDenyCidrs(this.ctx, fam).length === 0) continue;
      const ips = [...this.localIps.values()].map((x) => x[fam]).filter((x): x is string => !!x).sort(cmp);
      out.push({ name: familySetName(LOCAL_PODS_SET, fam), type: 'hash:ip', family: fam === 'ipv6' ? 'inet6' : 'inet', options: { timeout: 0 }, entries: new Set(ips) });
    }
    this.localBuilt = out;
    return out;
  }
}
