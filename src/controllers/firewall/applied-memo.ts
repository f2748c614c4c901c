// What the last successful apply wrote, as signatures, so an incremental
// sync skips the kernel for what did not change: a set whose entries are the
// same, an iptables family whose chains and jumps are the same, and the
// stale-set sweep when no set left the desired state. Reading the kernel back
// (`ipset save`, `iptables-save`) is most of a small sync's time; a full sync
// (startup, --iptables-sync-period, a context change, after any failure)
// ignores the memo, reads everything and repairs drift.

import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IptablesDesired } from '../../kernel/iptables/types.js';
import type { Family } from './names.js';

export function setSignature(s: IpsetSet): string {
  return `${s.type}|${s.family}|${JSON.stringify(s.options)}|${[...s.entries].join(',')}`;
}

export function tableSignature(d: IptablesDesired): string {
  const parts: string[] = [];
  for (const [name, rules] of d.chains) parts.push(`${name}\n${rules.join('\n')}`);
  for (const j of d.jumps) parts.push(JSON.stringify(j));
  return parts.join('\n\n');
}

export class AppliedMemo {
  /** Set name -> signature, for every set applied (policy sets and local-pods sets). */
  readonly sets = new Map<string, string>();
  readonly tables = new Map<Family, string>();
  /** The tables applied (for writing only the chains that changed). */
  readonly applied = new Map<Family, IptablesDesired>();
  /** False until a full apply succeeded, and again after any failure. */
  valid = false;

  clear(): void {
    this.sets.clear();
    this.tables.clear();
    this.applied.clear();
    this.valid = false;
  }

  /** The sets whose content differs from what was applied. */
  changedSets(sets: readonly IpsetSet[]): IpsetSet[] {
    return sets.filter((s) => this.sets.get(s.name) !== setSignature(s));
  }

  /** True when a set applied before is no longer desired (the stale sweep is due). */
  setsRemoved(names: ReadonlySet<string>): boolean {
    for (const n of this.sets.keys()) if (!names.has(n)) return true;
    return false;
  }
}
