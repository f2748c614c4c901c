// The sets of the active policies: which policies refer to each, the
// members each pod contributes (filled from the view when a set is first
// used, then patched per pod and namespace event), and the kernel sets built
// from them. A set whose last policy leaves is kept filled a while (up to
// DORMANT_SETS): a pod replacing the last local pod of its policies, or a
// policy updated, finds it filled.

import type { Pod } from '../../informers/types.js';
import type { IpsetSet } from '../../kernel/ipset/types.js';
import { cmp, groupHasPod, isActionable, namespaceLabels, podEntries, sameList, setMembers, toIpset } from './compile-sets.js';
import { FAMILIES, type Family } from './names.js';
import type { ClusterView, FirewallContext, SetUse } from './model.js';

interface SetState {
  use: SetUse;
  /** Policies referencing it. */
  refs: Set<string>;
  /**
   * Per family: pod key -> entries it contributes (ipBlock sets: key '').
   * Undefined until an active policy uses the set (setsUsedBy fills it).
   */
  byPod?: Map<Family, Map<string, string[]>>;
  /**
   * The kernel sets last built from byPod, per family; dropped on every
   * change. An unchanged set is the same object sync after sync, which is how
   * the applied memo tells it did not change without comparing members.
   */
  built?: Map<Family, IpsetSet>;
}

/**
 * Filled sets kept after their last policy leaves. Each costs its members'
 * memory and a visit per event of a pod that could be in it; 100 is the S6
 * bench's policies per pod, whose sets come back when the next pod does.
 */
const DORMANT_SETS = 128;


export class PolicySets {
  /** By base (IPv4) name. */
  private readonly sets = new Map<string, SetState>();
  /**
   * Pod sets by the namespace they are scoped to, and those scoped by a
   * namespaceSelector: a pod event visits only the sets it can be in.
   */
  private readonly setsByNs = new Map<string, Set<string>>();
  private readonly selectorScopedSets = new Set<string>();
  /** Sets no policy refers to, kept filled (oldest first): see unref. */
  private readonly dormant = new Set<string>();
  /** Sets whose members changed since kernelSets() was cached. */
  private readonly dirtySets = new Set<SetState>();
  /** Set bases in name order; dropped when a set is created or deleted. */
  private setOrder?: string[];
  /** The sets the active policies use, in name order; dropped by dropUsed(). */
  private usedSets?: SetState[];
  /** kernelSets() (patched for dirtySets) and each set's place in it; dropped with usedSets. */
  private kernelCache?: IpsetSet[];
  private readonly kernelIndex = new Map<string, number>();

  constructor(private readonly ctx: FirewallContext) {}

  clear(): void {
    this.sets.clear();
    this.setsByNs.clear();
    this.selectorScopedSets.clear();
    this.dormant.clear();
    this.dirtySets.clear();
    this.setOrder = undefined;
    this.dropUsed();
  }

  /** The set of active policies changed: which sets are used is worked out again. */
  dropUsed(): void {
    this.usedSets = undefined;
    this.kernelCache = undefined;
  }

  /** Refs from policy `key` to its sets (a set first used is created unfilled; `changedSets` gets it). */
  ref(key: string, sets: ReadonlyMap<string, SetUse>, changedSets?: Set<string>): void {
    for (const [base, use] of sets) {
      let st = this.sets.get(base);
      if (!st) {
        st = { use, refs: new Set() };
        this.sets.set(base, st);
        this.indexSet(base, use, true);
        this.setOrder = undefined;
        changedSets?.add(base);
      }
      this.dormant.delete(base);
      for (const fam of Object.keys(use.names) as Family[]) st.use.names[fam] = use.names[fam];
      st.refs.add(key);
    }
  }

  /** Drops `policy`'s ref to a set; a set nobody refers to leaves the desired state. */
  unref(base: string, policy: string): void {
    const st = this.sets.get(base);
    if (!st) return;
    st.refs.delete(policy);
    if (st.refs.size > 0) return;
    // It leaves the desired state. A filled set is kept (and kept up to
    // date) a while: a pod replacing the last local pod of its policies, or
    // a policy updated, finds it filled. Built afresh when it comes back, so
    // the applied memo takes it for a new set, which the kernel no longer has.
    st.built = undefined;
    if (st.byPod) {
      this.dormant.add(base);
      for (const old of this.dormant) {
        if (this.dormant.size <= DORMANT_SETS) break;
        this.dormant.delete(old);
        this.dropSet(old);
      }
    } else this.dropSet(base);
  }

  private dropSet(base: string): void {
    const st = this.sets.get(base);
    if (!st) return;
    this.sets.delete(base);
    this.indexSet(base, st.use, false);
    this.setOrder = undefined;
  }

  private indexSet(base: string, use: SetUse, add: boolean): void {
    const spec = use.spec;
    if (spec.kind === 'ipBlock') return;
    const scope = spec.group.scope;
    if (!('namespace' in scope)) {
      if (add) this.selectorScopedSets.add(base);
      else this.selectorScopedSets.delete(base);
      return;
    }
    let l = this.setsByNs.get(scope.namespace);
    if (add) {
      if (!l) this.setsByNs.set(scope.namespace, (l = new Set()));
      l.add(base);
    } else if (l) {
      l.delete(base);
      if (l.size === 0) this.setsByNs.delete(scope.namespace);
    }
  }

  private fill(use: SetUse, view: ClusterView): Map<Family, Map<string, string[]>> {
    const out = new Map<Family, Map<string, string[]>>();
    for (const fam of this.ctx.families) {
      const m = new Map<string, string[]>();
      if (use.spec.kind === 'ipBlock') {
        const e = setMembers(use.spec, fam, view);
        if (e.length) m.set('', e);
      } else {
        const group = use.spec.group;
        const scope = group.scope;
        const add = (pod: Pod): void => {
          if (!isActionable(pod)) return;
          const e = podEntries(use.spec, pod, fam);
          if (e.length) m.set(`${pod.metadata.namespace}/${pod.metadata.name}`, e);
        };
        if ('namespace' in scope) {
          for (const pod of view.pods.listNamespace(scope.namespace)) if (group.pods.matches(pod.metadata.labels)) add(pod);
        } else if (scope.selector.matches(undefined)) {
          // It matches a namespace without labels, as it does one the cache lacks: every pod.
          for (const pod of view.pods.list()) if (groupHasPod(group, pod, namespaceLabels(view, pod.metadata.namespace ?? ''))) add(pod);
        } else {
          // The pods of the namespaces it matches (the store indexes pods by namespace).
          for (const n of view.namespaces.list()) {
            if (!scope.selector.matches(n.metadata.labels)) continue;
            for (const pod of view.pods.listNamespace(n.metadata.name)) if (group.pods.matches(pod.metadata.labels)) add(pod);
          }
        }
      }
      out.set(fam, m);
    }
    return out;
  }

  /** A pod changed: its entries in the sets whose scope covers it (`selectorScopedOnly`: its namespace's labels changed). */
  updatePod(key: string, pod: Pod | undefined, view: ClusterView, changedSets: Set<string>, selectorScopedOnly: boolean): void {
    const live = isActionable(pod) ? pod : undefined;
    const ns = key.slice(0, key.indexOf('/'));
    const labels = live ? namespaceLabels(view, ns) : undefined;
    const candidates = selectorScopedOnly ? [...this.selectorScopedSets] : [...(this.setsByNs.get(ns) ?? []), ...this.selectorScopedSets];
    for (const base of candidates) {
      const st = this.sets.get(base) as SetState;
      const spec = st.use.spec;
      // Not filled yet: filled from the view when it is first used.
      if (spec.kind === 'ipBlock' || !st.byPod) continue;
      const member = live !== undefined && groupHasPod(spec.group, live, labels);
      for (const fam of this.ctx.families) {
        const m = st.byPod.get(fam) as Map<string, string[]>;
        const next = member ? podEntries(spec, live as Pod, fam) : [];
        if (sameList(m.get(key), next)) continue;
        if (next.length) m.set(key, next);
        else m.delete(key);
        changedSets.add(base);
        st.built = undefined;
        this.dirtySets.add(st);
      }
    }
  }

  /**
   * The sets of the active policies, sorted by name. An IPv4 set is named
   * by its base and its IPv6 twin `inet6:<base>`, which sorts after every
   * `KUBE-` name: so base order, IPv4 first, is name order, and the bases
   * are sorted only when a set comes or goes.
   */
  kernelSets(active: ReadonlySet<string>, view: ClusterView): IpsetSet[] {
    const cache = this.kernelCache;
    if (cache) {
      // Only members changed: those sets are built again in place.
      for (const st of this.dirtySets) {
        for (const fam of this.ctx.families) {
          const name = st.use.names[fam];
          const at = name === undefined ? undefined : this.kernelIndex.get(name);
          if (at !== undefined) cache[at] = this.builtSet(st, fam, name as string);
        }
      }
      this.dirtySets.clear();
      return [...cache];
    }
    this.dirtySets.clear();
    const used = (this.usedSets ??= this.setsUsedBy(active, view));
    const out: IpsetSet[] = [];
    this.kernelIndex.clear();
    for (const fam of FAMILIES) {
      if (!this.ctx.families.includes(fam)) continue;
      for (const st of used) {
        const name = st.use.names[fam];
        if (!name) continue;
        this.kernelIndex.set(name, out.length);
        out.push(this.builtSet(st, fam, name));
      }
    }
    this.kernelCache = out;
    return [...out];
  }

  /** The kernel set of `st` in `fam`, built again only after its members changed. */
  private builtSet(st: SetState, fam: Family, name: string): IpsetSet {
    const built = (st.built ??= new Map());
    let set = built.get(fam);
    if (!set || set.name !== name) {
      const entries = new Set<string>();
      for (const e of ((st.byPod as Map<Family, Map<string, string[]>>).get(fam) as Map<string, string[]>).values()) for (const x of e) entries.add(x);
      set = toIpset(name, st.use.spec, fam, [...entries].sort(cmp));
      built.set(fam, set);
    }
    return set;
  }

  private setsUsedBy(active: ReadonlySet<string>, view: ClusterView): SetState[] {
    const order = (this.setOrder ??= [...this.sets.keys()].sort(cmp));
    const used: SetState[] = [];
    for (const base of order) {
      const st = this.sets.get(base) as SetState;
      for (const k of st.refs) {
        if (active.has(k)) {
          st.byPod ??= this.fill(st.use, view);
          used.push(st);
          break;
        }
      }
    }
    return used;
  }
}
