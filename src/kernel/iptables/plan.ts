// Pure planning of ONE `iptables-restore --noflush` transaction for one
// table: our chains whose rule hashes differ are flushed and rewritten in the
// same transaction (a packet never sees half a chain), unchanged chains are
// not touched (counters kept), our jumps are put at their positions,
// duplicates and stale jumps deleted, and stale owned chains deleted after
// the jumps to them are gone. Nothing else in the table is named.

import { KubeRouterError } from '../../errors.js';
import { chainRuleHash, hashComment, jumpHash } from './rulehash.js';
import { BUILTIN_CHAINS, MAX_CHAIN_NAME_LEN, type BuiltinChainState, type IptablesDesired, type JumpRule, type OwnedTableState } from './types.js';

export interface IptablesPlan {
  /** The whole script, `*table` ... `COMMIT`; empty when there is nothing to do. */
  script: string[];
  created: string[];
  rewritten: string[];
  deleted: string[];
  jumpsInserted: number;
  jumpsDeleted: number;
}

export interface PlanOptions {
  forceRewrite?: boolean;
  /** Stale chains not to flush or delete (the kernel refused before). */
  keep?: ReadonlySet<string>;
  /** `-D` lines not to emit (the kernel refused before). */
  skipDeletes?: ReadonlySet<string>;
}

function invalid(message: string, object: string): KubeRouterError {
  return new KubeRouterError('KR_ERR_KERNEL', `iptables: ${message}`, { call: 'iptables-restore', object });
}

function validateChain(builtins: ReadonlySet<string>, name: string, rules: readonly string[], owned: (chain: string) => boolean): void {
  if (builtins.has(name)) throw invalid(`built-in chain ${name} cannot be owned; use jumps`, name);
  if (!owned(name)) throw invalid(`chain ${name} is not owned by this caller`, name);
  if (name.length > MAX_CHAIN_NAME_LEN || !/^[A-Za-z0-9_.:-]+$/.test(name)) throw invalid(`invalid chain name "${name}"`, name);
  for (const r of rules) if (/[\n\r]/.test(r)) throw invalid(`rule with a line break in ${name}`, name);
}

/**
 * Checks the chains of `desired` (only those named in `only`, when given)
 * and, unless `jumps` is false (they were checked when applied and are the
 * same), its jumps.
 */
export function validateDesired(desired: IptablesDesired, owned: (chain: string) => boolean, only?: Iterable<string>, jumps = true): void {
  const builtins = new Set(BUILTIN_CHAINS[desired.table]);
  if (only) {
    for (const name of only) validateChain(builtins, name, desired.chains.get(name) ?? [], owned);
  } else {
    for (const [name, rules] of desired.chains) validateChain(builtins, name, rules, owned);
  }
  if (!jumps) return;
  const seen = new Set<string>();
  for (const j of desired.jumps) {
    if (!builtins.has(j.fromChain)) throw invalid(`jump from ${j.fromChain}: not a built-in chain of ${desired.table}`, j.fromChain);
    if (/[\n\r]/.test(j.rule)) throw invalid(`jump rule with a line break in ${j.fromChain}`, j.fromChain);
    const h = jumpHash(j);
    if (seen.has(h)) throw invalid(`duplicate jump in ${j.fromChain}: ${j.rule}`, j.fromChain);
    seen.add(h);
  }
}

/** Same rules in the same order (the same array, usually, for a chain nobody recompiled). */
export function sameRules(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const sameJumps = (a: readonly JumpRule[], b: readonly JumpRule[]): boolean => a === b || (a.length === b.length && a.every((j, i) => jumpHash(j) === jumpHash(b[i])));

const sorted = (xs: Iterable<string>): string[] => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

interface JumpChange {
  deletes: string[];
  inserts: string[];
}

function planJumps(chain: string, want: readonly JumpRule[], act: BuiltinChainState): JumpChange {
  const first = want.filter((j) => j.position === 'first');
  const last = want.filter((j) => j.position === 'last');
  const hashCount = new Map<string | null, number>();
  for (const r of act.ours) hashCount.set(r.hash, (hashCount.get(r.hash) ?? 0) + 1);
  const byIndex = new Map(act.ours.map((r) => [r.index, r]));
  // A block is in place when each of its positions holds our rule with the
  // expected hash, and that rule has no duplicate elsewhere (a `-D <spec>` of
  // the duplicate would remove the first match, i.e. the good one).
  const blockOk = (jumps: JumpRule[], startIndex: number): boolean =>
    startIndex >= 0 &&
    jumps.every((j, i) => {
      const h = jumpHash(j);
      return byIndex.get(startIndex + i)?.hash === h && hashCount.get(h) === 1;
    });
  const firstOk = blockOk(first, 0);
  const lastOk = blockOk(last, act.total - last.length) && (!firstOk || last.length === 0 || act.total - last.length >= first.length);
  const kept = new Set<number>();
  if (firstOk) first.forEach((_, i) => kept.add(i));
  if (lastOk) last.forEach((_, i) => kept.add(act.total - last.length + i));
  const deletes = act.ours.filter((r) => !kept.has(r.index)).map((r) => `-D ${chain} ${r.spec}`);
  const inserts: string[] = [];
  const text = (j: JumpRule): string => `${hashComment(jumpHash(j), j.comment)} ${j.rule}`;
  if (!firstOk) for (const j of [...first].reverse()) inserts.push(`-I ${chain} 1 ${text(j)}`);
  if (!lastOk) for (const j of last) inserts.push(`-A ${chain} ${text(j)}`);
  return { deletes, inserts };
}

export function planIptables(desired: IptablesDesired, actual: OwnedTableState, opts: PlanOptions = {}): IptablesPlan {
  const keep = opts.keep ?? new Set<string>();
  const skip = opts.skipDeletes ?? new Set<string>();
  const created: string[] = [];
  const rewritten: string[] = [];
  const ruleLines: string[] = [];
  for (const name of sorted(desired.chains.keys())) {
    const rules = desired.chains.get(name) as readonly string[];
    const hashes = rules.map(chainRuleHash);
    const have = actual.chains.get(name);
    if (!have) created.push(name);
    else if (opts.forceRewrite || have.hashes.length !== hashes.length || have.hashes.some((h, i) => h !== hashes[i])) {
      rewritten.push(name);
      ruleLines.push(`-F ${name}`);
    } else continue;
    rules.forEach((r, i) => ruleLines.push(`-A ${name} ${hashComment(hashes[i])} ${r}`));
  }
  const stale = sorted([...actual.chains.keys()].filter((c) => !desired.chains.has(c) && !keep.has(c)));

  const deletes: string[] = [];
  const inserts: string[] = [];
  for (const chain of BUILTIN_CHAINS[desired.table]) {
    const act = actual.builtins.get(chain) ?? { total: 0, ours: [] };
    const j = planJumps(
      chain,
      desired.jumps.filter((x) => x.fromChain === chain),
      act,
    );
    deletes.push(...j.deletes.filter((d) => !skip.has(d)));
    inserts.push(...j.inserts);
  }

  const body = [
    ...created.map((c) => `:${c} - [0:0]`),
    ...deletes,
    ...stale.map((c) => `-F ${c}`),
    ...ruleLines,
    ...inserts,
    ...stale.map((c) => `-X ${c}`),
  ];
  return {
    script: body.length ? [`*${desired.table}`, ...body, 'COMMIT'] : [],
    created,
    rewritten,
    deleted: stale,
    jumpsInserted: inserts.length,
    jumpsDeleted: deletes.length,
  };
}

/**
 * The chains of `desired` that differ from `previous` (what the caller
 * applied last and trusts to be in the kernel): new chains created, changed
 * ones flushed and rewritten, chains no longer desired flushed and deleted.
 * Same rule text (hash comments) as planIptables. Jumps are not planned:
 * undefined when they differ (the caller must use the reading path).
 */
/**
 * The changed middle of a chain as deletions (by rule, with its hash
 * comment, so a drifted chain fails the transaction instead of losing the
 * wrong rule) and insertions at their positions, when that is less than
 * half the chain: a pod joining the node adds its jumps to the top-level
 * chains without rewriting the jumps of every other pod. undefined: flush
 * and rewrite.
 */
export function chainEdits(name: string, before: readonly string[], rules: readonly string[]): string[] | undefined {
  let head = 0;
  while (head < before.length && head < rules.length && before[head] === rules[head]) head++;
  let tail = 0;
  while (tail < before.length - head && tail < rules.length - head && before[before.length - 1 - tail] === rules[rules.length - 1 - tail]) tail++;
  const dels = before.slice(head, before.length - tail);
  const ins = rules.slice(head, rules.length - tail);
  if (dels.length + ins.length >= rules.length / 2) return undefined;
  const out = dels.map((r) => `-D ${name} ${hashComment(chainRuleHash(r))} ${r}`);
  ins.forEach((r, i) => out.push(`-I ${name} ${head + 1 + i} ${hashComment(chainRuleHash(r))} ${r}`));
  return out;
}

export function planChainChanges(desired: IptablesDesired, previous: IptablesDesired): IptablesPlan | undefined {
  if (desired.table !== previous.table) return undefined;
  if (!sameJumps(desired.jumps, previous.jumps)) return undefined;
  const created: string[] = [];
  const rewritten: string[] = [];
  const ruleLines: string[] = [];
  // Only the chains that differ are sorted (the script's order): most of a large table is unchanged.
  const differing: string[] = [];
  const prev = previous.chains;
  desired.chains.forEach((rules, name) => {
    const before = prev.get(name);
    if (before === undefined || !sameRules(before, rules)) differing.push(name);
  });
  for (const name of sorted(differing)) {
    const rules = desired.chains.get(name) as readonly string[];
    const before = previous.chains.get(name);
    if (!before) created.push(name);
    else {
      rewritten.push(name);
      const edits = chainEdits(name, before, rules);
      if (edits) {
        ruleLines.push(...edits);
        continue;
      }
      ruleLines.push(`-F ${name}`);
    }
    rules.forEach((r) => ruleLines.push(`-A ${name} ${hashComment(chainRuleHash(r))} ${r}`));
  }
  // Every desired chain was there before and there are as many: none left.
  const stale: string[] = [];
  if (created.length > 0 || desired.chains.size !== previous.chains.size) {
    for (const c of previous.chains.keys()) if (!desired.chains.has(c)) stale.push(c);
    stale.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  const body = [...created.map((c) => `:${c} - [0:0]`), ...stale.map((c) => `-F ${c}`), ...ruleLines, ...stale.map((c) => `-X ${c}`)];
  return { script: body.length ? [`*${desired.table}`, ...body, 'COMMIT'] : [], created, rewritten, deleted: stale, jumpsInserted: 0, jumpsDeleted: 0 };
}
