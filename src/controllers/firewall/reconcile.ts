// Applies a FirewallDesired to the kernel in the order netfilter needs:
//   1. ipset creates/updates of every policy set, and of kube-router-local-pods
//      with REMOVALS ONLY (its new members must wait for the pods' chains);
//   2. one iptables-restore --noflush transaction per family (our chains and
//      jumps only);
//   3. kube-router-local-pods additions (the pods' chains now exist);
//   4. destroy of our stale sets (iptables no longer references them).
// A failure stops the sequence: the iptables transaction is all or nothing,
// so the kernel keeps the previous rules, and the next sync retries.
// With a valid AppliedMemo (incremental syncs), each step is skipped when its
// part of the desired state equals what the last apply wrote, and nothing is
// read back: steps 1 and 3 pass only the sets that changed, diffed against
// the sets as last written (`known`), and step 2 writes only the chains that
// changed (Iptables.applyChains).

import type { Ipset, IpsetApplyResult, IpsetSet } from '../../kernel/ipset/types.js';
import type { Iptables, IptablesApplyResult } from '../../kernel/iptables/types.js';
import { AppliedMemo, type AppliedSet } from './applied-memo.js';
import { isOwnedChain, isOwnedSet, type Family, type FirewallDesired } from './model.js';

export interface FirewallKernel {
  ipset: Ipset;
  /** One Iptables per enabled family. */
  iptables: Partial<Record<Family, Iptables>>;
}

export interface ReconcileOptions {
  /** Rewrite every chain even when its hashes match (periodic drift repair). */
  forceRewrite?: boolean;
  /**
   * What the previous applies wrote. Used (to skip unchanged parts) only
   * when valid and not `full`; updated on success, cleared on failure.
   */
  memo?: AppliedMemo;
  /** Ignore the memo: read and reconcile everything. */
  full?: boolean;
}

export interface ReconcileResult {
  /** Restore lines written (ipset + iptables): 0 for a no-op. */
  lines: number;
  ipsets: IpsetApplyResult;
  iptables: Partial<Record<Family, IptablesApplyResult>>;
  localPods: IpsetApplyResult;
  destroyedSets: string[];
  /** Stale sets or chains the kernel refused to remove, other than pendingSets (retried by the next, full, sync). */
  kept: string[];
  /**
   * Stale sets the kernel refused to destroy that are known as last written:
   * retried by the next incremental sync (AppliedMemo.pendingStale). A set's
   * last reference goes with the rules deleted in this very sync, and
   * nf_tables releases it only after the commit (deferred destruction), so
   * "in use" right after is the normal case when no restore process's exit
   * time hides it.
   */
  pendingSets: { set: IpsetSet; reason: string }[];
}

/** kube-router's own jumps (`--comment "kube-router netpol - <uuid>"`), adopted so a takeover removes them. */
export function adoptKubeRouterJump(savedRule: string): boolean {
  return /kube-router netpol/.test(savedRule) && /-j KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)\b/.test(savedRule);
}

/** The local-pods sets restricted to members the kernel already has (removals only). */
export function removalsOnly(desired: readonly IpsetSet[], actual: ReadonlyMap<string, IpsetSet>): IpsetSet[] {
  return desired.map((s) => {
    const cur = actual.get(s.name);
    const keep = new Set<string>();
    if (cur && cur.type === s.type && cur.family === s.family) for (const e of s.entries) if (cur.entries.has(e)) keep.add(e);
    return { ...s, entries: keep };
  });
}

const NOTHING: IpsetApplyResult = { lines: 0, created: [], updated: [], swapped: [], recreated: [], unchanged: 0, applied: [] };

export async function applyFirewall(kernel: FirewallKernel, desired: FirewallDesired, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
  const memo = opts.memo;
  // What the previous apply wrote; undefined: reconcile everything.
  const prev = memo !== undefined && memo.valid && !opts.full && !opts.forceRewrite ? memo : undefined;
  try {
    const result = await applySteps(kernel, desired, opts, prev);
    if (memo) {
      // Every desired set as now written: this apply's, or the previous one's for the sets it skipped.
      const written = new Map<string, IpsetSet>();
      for (const s of [...result.ipsets.applied, ...result.localPods.applied]) written.set(s.name, s);
      const sets = new Map<string, AppliedSet>();
      let complete = true;
      for (const s of [...desired.ipsets, ...desired.localPods]) {
        const w = written.get(s.name) ?? prev?.sets.get(s.name)?.written;
        if (w) sets.set(s.name, { desired: s, written: w });
        else complete = false;
      }
      memo.clear();
      for (const [n, a] of sets) memo.sets.set(n, a);
      for (const fam of Object.keys(desired.iptables) as Family[]) {
        const d = desired.iptables[fam];
        if (d && kernel.iptables[fam]) memo.applied.set(fam, d);
      }
      // A stale chain, or a stale set we do not know, is retried by the next (full) apply;
      // a known stale set by the next incremental one.
      for (const p of result.pendingSets) memo.pendingStale.set(p.set.name, p.set);
      memo.valid = result.kept.length === 0 && complete;
    }
    return result;
  } catch (err) {
    memo?.clear();
    throw err;
  }
}

async function applySteps(kernel: FirewallKernel, desired: FirewallDesired, opts: ReconcileOptions, prev: AppliedMemo | undefined): Promise<ReconcileResult> {
  const policySets = prev ? prev.changedSets(desired.ipsets) : desired.ipsets;
  const localSets = prev ? prev.changedSets(desired.localPods) : desired.localPods;
  const localNames = localSets.map((s) => s.name);
  // Incremental: the sets as the last apply wrote them stand for the kernel (nothing is read back).
  const known = prev?.known();
  const actualLocal = localNames.length === 0 ? new Map<string, IpsetSet>() : (known ?? (await kernel.ipset.list({ names: localNames })));
  const phase1 = [...policySets, ...removalsOnly(localSets, actualLocal)];
  const ipsets = phase1.length > 0 ? await kernel.ipset.applyCreatesAndUpdates(phase1, { known }) : NOTHING;
  // The local-pods sets now hold the removals-only version written in phase 1.
  if (known) for (const s of ipsets.applied) known.set(s.name, s);
  let lines = ipsets.lines;
  const iptables: ReconcileResult['iptables'] = {};
  const kept: string[] = [];
  for (const fam of Object.keys(desired.iptables) as Family[]) {
    const ipt = kernel.iptables[fam];
    const d = desired.iptables[fam];
    if (!ipt || !d) continue;
    // Trusted previous state: write the changed chains without reading back (nothing, when none changed).
    const before = prev?.applied.get(fam);
    const quick = before && ipt.applyChains ? await ipt.applyChains(d, before, { owned: isOwnedChain }) : undefined;
    if (quick?.lines === 0) continue;
    const r = quick ?? (await ipt.apply(d, { owned: isOwnedChain, adoptJump: adoptKubeRouterJump, forceRewrite: opts.forceRewrite }));
    iptables[fam] = r;
    lines += r.lines;
    for (const k of r.keptStale) kept.push(`chain ${k.chain} (${fam}): ${k.reason}`);
  }
  const localPods = localSets.length > 0 ? await kernel.ipset.applyCreatesAndUpdates(localSets, { known }) : NOTHING;
  lines += localPods.lines;
  const names = [...desired.ipsets, ...desired.localPods].map((s) => s.name);
  let destroyedSets: string[] = [];
  const pendingSets: ReconcileResult['pendingSets'] = [];
  const pending = prev ? [...prev.pendingStale.values()] : [];
  if (!prev || prev.setsRemoved(new Set(names)) || pending.length > 0) {
    const candidates = known ? new Map([...pending.map((p): [string, IpsetSet] => [p.name, p]), ...known]) : undefined;
    const destroyed = await kernel.ipset.destroyStale(names, { owned: isOwnedSet, known: candidates?.values() });
    lines += destroyed.lines;
    destroyedSets = destroyed.destroyed;
    for (const k of destroyed.kept) {
      const set = candidates?.get(k.name);
      if (set) pendingSets.push({ set, reason: k.reason });
      else kept.push(`set ${k.name}: ${k.reason}`);
    }
  }
  return { lines, ipsets, iptables, localPods, destroyedSets, kept, pendingSets };
}

/** --cleanup-config: our chains and jumps (every family) and our sets; nothing else. */
export async function cleanupFirewall(kernel: FirewallKernel): Promise<{ chains: string[]; sets: string[] }> {
  const chains: string[] = [];
  for (const ipt of Object.values(kernel.iptables)) {
    if (!ipt) continue;
    const r = await ipt.apply({ table: 'filter', chains: new Map(), jumps: [] }, { owned: isOwnedChain, adoptJump: adoptKubeRouterJump });
    chains.push(...r.deleted);
  }
  const sets = await kernel.ipset.destroyStale([], { owned: isOwnedSet });
  return { chains, sets: sets.destroyed };
}
