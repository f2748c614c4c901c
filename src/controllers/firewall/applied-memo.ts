// What the last successful apply wrote, so an incremental sync skips the
// kernel for what did not change: a set whose members are the same (the
// compiler hands back the very same object for a set it did not touch; other
// objects are compared by content), an iptables family whose chains and
// jumps are the same, and the stale-set sweep when no set left the desired
// state. The sets as written are trusted as the kernel's state (`known`), so
// an incremental sync reads nothing back. A full sync (startup,
// --iptables-sync-period, a context change, after any failure) ignores the
// memo, reads everything and repairs drift.

import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IptablesDesired } from '../../kernel/iptables/types.js';
import type { Family } from './names.js';

/** Same type, family, options and members. */
export function sameSet(a: IpsetSet, b: IpsetSet): boolean {
  if (a === b) return true;
  if (a.type !== b.type || a.family !== b.family || a.entries.size !== b.entries.size) return false;
  if (JSON.stringify(a.options) !== JSON.stringify(b.options)) return false;
  for (const e of a.entries) if (!b.entries.has(e)) return false;
  return true;
}

export interface AppliedSet {
  /** The desired object applied. */
  desired: IpsetSet;
  /** As written (entries normalised): what the kernel holds. */
  written: IpsetSet;
}

export class AppliedMemo {
  /** Set name -> what was applied, for every set (policy sets and local-pods sets). */
  readonly sets = new Map<string, AppliedSet>();
  /** The tables applied (for writing only the chains that changed; unchanged chains are the same arrays). */
  readonly applied = new Map<Family, IptablesDesired>();
  /** Stale sets the kernel still held when the last apply destroyed them: retried by the next sync. */
  readonly pendingStale = new Map<string, IpsetSet>();
  /** False until a full apply succeeded, and again after any failure. */
  valid = false;

  clear(): void {
    this.sets.clear();
    this.pendingStale.clear();
    this.applied.clear();
    this.valid = false;
  }

  /** The sets whose content differs from what was applied. */
  changedSets(sets: readonly IpsetSet[]): IpsetSet[] {
    return sets.filter((s) => {
      const had = this.sets.get(s.name);
      return !had || !sameSet(had.desired, s);
    });
  }

  /** The sets as written, trusted as the kernel's state. */
  known(): Map<string, IpsetSet> {
    const out = new Map<string, IpsetSet>();
    for (const [n, a] of this.sets) out.set(n, a.written);
    return out;
  }

  /** True when a set applied before is no longer desired (the stale sweep is due). */
  setsRemoved(names: ReadonlySet<string>): boolean {
    for (const n of this.sets.keys()) if (!names.has(n)) return true;
    return false;
  }
}
