// Pure text builder for the `ipset restore` script of a plan: sorted and
// deterministic (golden-tested). kube-router's BuildIPSetRestore pattern for
// whole-set replacement: fill a TMP- set, `swap` it with the live one, destroy
// the TMP- set, so a live set is never observed empty or half-filled.

import { createArgs, type IpsetPlan } from './plan.js';
import type { IpsetSet } from './types.js';

function sortedEntries(set: IpsetSet): string[] {
  // list:set members keep their order (it is the match order).
  return set.type === 'list:set' ? [...set.entries] : [...set.entries].sort();
}

function fill(lines: string[], name: string, set: IpsetSet): void {
  for (const e of sortedEntries(set)) lines.push(`add ${name} ${e}`);
}

/** The restore script lines (no trailing newline) of a plan. Empty when there is nothing to do. */
export function buildIpsetRestore(plan: IpsetPlan): string[] {
  const lines: string[] = [];
  // TMP- sets left by a crash between `create` and `destroy`: never referenced, so destroyable.
  for (const t of plan.staleTmp) lines.push(`destroy ${t}`);
  for (const op of plan.ops) {
    const name = op.set.name;
    switch (op.kind) {
      case 'create':
        lines.push(`create ${name} ${createArgs(op.set)}`);
        fill(lines, name, op.set);
        break;
      case 'delta':
        // Adds first: the set never goes through an empty state.
        for (const e of op.adds) lines.push(`add ${name} ${e}`);
        for (const e of op.dels) lines.push(`del ${name} ${e}`);
        break;
      case 'swap':
        lines.push(`create ${op.tmp} ${createArgs(op.set)}`);
        fill(lines, op.tmp, op.set);
        lines.push(`swap ${op.tmp} ${name}`);
        lines.push(`destroy ${op.tmp}`);
        break;
      case 'recreate':
        lines.push(`destroy ${name}`);
        lines.push(`create ${name} ${createArgs(op.set)}`);
        fill(lines, name, op.set);
        break;
    }
  }
  return lines;
}

/** Destroy script for stale sets: list:set first (they reference the others), then by name. */
export function buildIpsetDestroy(stale: readonly IpsetSet[]): string[] {
  const sorted = [...stale].sort(
    (a, b) => Number(b.type === 'list:set') - Number(a.type === 'list:set') || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  return sorted.map((s) => `destroy ${s.name}`);
}
