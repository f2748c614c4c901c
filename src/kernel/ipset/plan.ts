// Pure diff of desired sets against the sets read back from the kernel.
// Decides per set: nothing, create, member delta, atomic swap, or recreate.

import { createHash } from 'node:crypto';
import type { IpsetSet } from './types.js';

export type IpsetOp =
  | { kind: 'create'; set: IpsetSet }
  | { kind: 'delta'; set: IpsetSet; adds: string[]; dels: string[] }
  | { kind: 'swap'; set: IpsetSet; tmp: string }
  | { kind: 'recreate'; set: IpsetSet };

export interface IpsetPlan {
  /** Sorted: non-list sets by name, then list:set by name, then recreates. */
  ops: IpsetOp[];
  /** TMP- sets left by a crash mid-swap: destroyed first. */
  staleTmp: string[];
  unchanged: number;
}

export const TMP_PREFIX = 'TMP-';
export const DEFAULT_SWAP_THRESHOLD = 64;

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(buf: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** The `create` arguments after the name: `hash:ip family inet hashsize 1024 timeout 0`. */
export function createArgs(set: IpsetSet): string {
  const o = set.options;
  const w: string[] = [set.type];
  if (set.type === 'list:set') {
    if (o.size !== undefined) w.push('size', String(o.size));
    return w.join(' ');
  }
  w.push('family', set.family);
  if (o.hashsize !== undefined) w.push('hashsize', String(o.hashsize));
  if (o.maxelem !== undefined) w.push('maxelem', String(o.maxelem));
  if (o.timeout !== undefined) w.push('timeout', String(o.timeout));
  return w.join(' ');
}

/** kube-router's temporary set name: `TMP-` + 16 base32 chars of a hash of the create options. */
export function tmpSetName(set: IpsetSet): string {
  return TMP_PREFIX + base32(createHash('sha256').update(createArgs(set)).digest()).slice(0, 16);
}

function optionsDiffer(want: IpsetSet, have: IpsetSet): boolean {
  if (want.type === 'list:set') return false;
  if (want.options.timeout !== have.options.timeout) return true;
  return want.options.maxelem !== undefined && want.options.maxelem !== have.options.maxelem;
}

const keyOf = (entry: string): string => (entry.endsWith(' nomatch') ? entry.slice(0, -8) : entry);

function listEqual(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  const bi = b.values();
  for (const x of a) if (bi.next().value !== x) return false;
  return true;
}

function diffSet(want: IpsetSet, have: IpsetSet, threshold: number): IpsetOp | undefined {
  if (want.type !== have.type || (want.type !== 'list:set' && want.family !== have.family)) {
    return { kind: 'recreate', set: want };
  }
  const swap: IpsetOp = { kind: 'swap', set: want, tmp: tmpSetName(want) };
  if (optionsDiffer(want, have)) return swap;
  if (want.type === 'list:set') return listEqual(want.entries, have.entries) ? undefined : swap;
  const haveByKey = new Map<string, string>();
  for (const e of have.entries) haveByKey.set(keyOf(e), e);
  const adds: string[] = [];
  const wantKeys = new Set<string>();
  for (const e of want.entries) {
    const k = keyOf(e);
    wantKeys.add(k);
    const h = haveByKey.get(k);
    if (h === undefined) adds.push(e);
    else if (h !== e) return swap; // only the nomatch flag changed: add would fail, del+add would open a hole
  }
  const dels: string[] = [];
  for (const [k, e] of haveByKey) if (!wantKeys.has(k)) dels.push(e);
  const changes = adds.length + dels.length;
  if (changes === 0) return undefined;
  if (changes > Math.max(threshold, want.entries.size / 2)) return swap;
  adds.sort();
  dels.sort();
  return { kind: 'delta', set: want, adds, dels };
}

const byName = (a: IpsetOp, b: IpsetOp): number => (a.set.name < b.set.name ? -1 : a.set.name > b.set.name ? 1 : 0);
const rank = (op: IpsetOp): number => (op.kind === 'recreate' ? 2 : op.set.type === 'list:set' ? 1 : 0);

/**
 * Plans the changes that bring `actual` to `desired`. `desired` entries must
 * already be normalised. `actual` must include the TMP- sets (for crash leftovers).
 */
export function planIpsets(
  desired: readonly IpsetSet[],
  actual: ReadonlyMap<string, IpsetSet>,
  swapThreshold = DEFAULT_SWAP_THRESHOLD,
): IpsetPlan {
  const ops: IpsetOp[] = [];
  let unchanged = 0;
  for (const want of desired) {
    const have = actual.get(want.name);
    const op = have ? diffSet(want, have, swapThreshold) : { kind: 'create' as const, set: want };
    if (op) ops.push(op);
    else unchanged++;
  }
  ops.sort((a, b) => rank(a) - rank(b) || byName(a, b));
  const staleTmp = [...actual.keys()].filter((n) => n.startsWith(TMP_PREFIX)).sort();
  return { ops, staleTmp, unchanged };
}
