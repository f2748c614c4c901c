// Reads back only what we own from `iptables-save -t <table>`: our chains
// (by name) and our rules in built-in chains (by `kr:` hash, or adopted).
// Foreign lines are skipped after a prefix check, without allocation.

import { extractHash } from './rulehash.js';
import { BUILTIN_CHAINS, type IptablesTable, type OwnedTableState } from './types.js';

export function parseOwnedState(
  text: string,
  table: IptablesTable,
  owned: (chain: string) => boolean,
  adoptJump?: (savedRule: string) => boolean,
): OwnedTableState {
  const state: OwnedTableState = { table, chains: new Map(), builtins: new Map() };
  const builtin = new Set(BUILTIN_CHAINS[table]);
  for (const b of BUILTIN_CHAINS[table]) state.builtins.set(b, { total: 0, ours: [] });
  const ownedCache = new Map<string, boolean>();
  const isOwned = (c: string): boolean => {
    let v = ownedCache.get(c);
    if (v === undefined) {
      v = !builtin.has(c) && owned(c);
      ownedCache.set(c, v);
    }
    return v;
  };
  let inTable = false;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const c0 = line.charCodeAt(0);
    if (c0 === 42 /* * */) {
      inTable = line === `*${table}`;
    } else if (!inTable) {
      continue;
    } else if (c0 === 58 /* : */) {
      const name = line.slice(1, line.indexOf(' '));
      if (isOwned(name)) state.chains.set(name, { name, hashes: [], rules: [] });
    } else if (c0 === 45 /* - */ && line.startsWith('-A ')) {
      const sp = line.indexOf(' ', 3);
      const chain = line.slice(3, sp);
      const spec = line.slice(sp + 1);
      const b = state.builtins.get(chain);
      if (b) {
        const hash = line.includes('kr:') ? extractHash(spec) : null;
        if (hash !== null || (adoptJump !== undefined && adoptJump(spec))) b.ours.push({ index: b.total, hash, spec });
        b.total++;
      } else {
        const ch = state.chains.get(chain);
        if (ch) {
          ch.hashes.push(extractHash(spec));
          ch.rules.push(spec);
        }
      }
    }
  }
  return state;
}
