// An `iptables-restore --noflush` script for one table as nf_tables
// messages (pure): `:CHAIN` (a new chain: created exclusively, as the
// script means a chain that does not exist yet), `-F`, `-X`, `-A`,
// `-I CHAIN N` and `-D CHAIN <spec with a kr: hash comment>`. Positions and
// deletions are resolved against the chains' rules as read from the kernel
// (handle and comment of each): an insertion is placed before or after a
// rule that already exists, a deletion names the rule by handle. Whatever
// the planner cannot express exactly (another command, a rule shape
// compileNftRule does not know, a deletion without a kr: comment, an
// insertion between two rules of the same script) returns a reason, and the
// caller runs iptables-restore instead.

import { compileNftRule, type NftRule } from './nft-rule.js';
import type { IptablesFamily } from './types.js';

export type NftScriptOp =
  | { op: 'create'; chain: string }
  | { op: 'flush'; chain: string }
  | { op: 'delete-chain'; chain: string }
  | { op: 'append'; chain: string; rule: NftRule }
  | { op: 'insert'; chain: string; position: number; rule: NftRule }
  | { op: 'delete-rule'; chain: string; comment: string };

export interface NftScript {
  table: string;
  ops: NftScriptOp[];
}

/** A rule as read back: its handle and its comment, if any. */
export interface NftRuleRef {
  handle: bigint;
  comment?: string;
}

export type NftMessage =
  | { kind: 'newchain'; chain: string }
  | { kind: 'delchain'; chain: string }
  | { kind: 'flush'; chain: string }
  | { kind: 'newrule'; chain: string; rule: NftRule; position?: bigint; append: boolean }
  | { kind: 'delrule'; chain: string; handle: bigint };

const CHAIN_RE = /^[A-Za-z0-9_.:-]+$/;

export function parseRestoreScript(script: string, family: IptablesFamily): NftScript | string {
  const lines = script.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (lines.length < 2 || !lines[0].startsWith('*') || lines[lines.length - 1] !== 'COMMIT') return 'not one table';
  const table = lines[0].slice(1);
  const ops: NftScriptOp[] = [];
  for (const line of lines.slice(1, -1)) {
    const decl = /^:(\S+) - \[0:0\]$/.exec(line);
    if (decl) {
      ops.push({ op: 'create', chain: decl[1] });
      continue;
    }
    const m = /^-([AIDFX]) (\S+)(?: (.*))?$/.exec(line);
    if (!m || !CHAIN_RE.test(m[2])) return `line "${line}"`;
    const [, cmd, chain, rest = ''] = m;
    if (cmd === 'F' || cmd === 'X') {
      if (rest !== '') return `line "${line}"`;
      ops.push({ op: cmd === 'F' ? 'flush' : 'delete-chain', chain });
      continue;
    }
    let ruleText = rest;
    let position = 0;
    if (cmd === 'I') {
      const n = /^(\d+) (.*)$/.exec(rest);
      position = n ? Number(n[1]) : 1;
      ruleText = n ? n[2] : rest;
      if (position < 1) return `line "${line}"`;
    }
    const rule = compileNftRule(ruleText, family);
    if (typeof rule === 'string') return rule;
    if (cmd === 'A') ops.push({ op: 'append', chain, rule });
    else if (cmd === 'I') ops.push({ op: 'insert', chain, position, rule });
    else {
      if (rule.comment === undefined || !rule.comment.startsWith('kr:')) return 'deletion of a rule without a kr: comment';
      ops.push({ op: 'delete-rule', chain, comment: rule.comment });
    }
  }
  return { table, ops };
}

/** The chains whose rules must be read first: existing chains the script inserts into or deletes from. */
export function chainsToRead(s: NftScript): string[] {
  const created = new Set<string>();
  const read = new Set<string>();
  for (const o of s.ops) {
    if (o.op === 'create') created.add(o.chain);
    else if ((o.op === 'insert' || o.op === 'delete-rule') && !created.has(o.chain)) read.add(o.chain);
  }
  return [...read];
}

/** A rule of a chain after the transaction: its handle when it existed, else the message that adds it. */
export interface PlannedRule {
  handle?: bigint;
  comment?: string;
  message?: number;
}

export interface NftPlan {
  messages: NftMessage[];
  /** Every chain of `rules` (and every chain created), as the transaction leaves it; deleted chains absent. */
  chains: Map<string, PlannedRule[]>;
}

/** The messages of one transaction, given the rules of every chain of chainsToRead(s) (not modified). */
export function planNftMessages(s: NftScript, rules: ReadonlyMap<string, readonly NftRuleRef[]>): NftPlan | string {
  const chains = new Map<string, PlannedRule[]>();
  for (const [c, refs] of rules) chains.set(c, refs.map((r) => ({ handle: r.handle, comment: r.comment })));
  const out: NftMessage[] = [];
  const known = (c: string): PlannedRule[] | undefined => chains.get(c);
  for (const o of s.ops) {
    switch (o.op) {
      case 'create':
        chains.set(o.chain, []);
        out.push({ kind: 'newchain', chain: o.chain });
        break;
      case 'flush':
        chains.set(o.chain, []);
        out.push({ kind: 'flush', chain: o.chain });
        break;
      case 'delete-chain':
        chains.delete(o.chain);
        out.push({ kind: 'delchain', chain: o.chain });
        break;
      case 'append':
        known(o.chain)?.push({ comment: o.rule.comment, message: out.length });
        out.push({ kind: 'newrule', chain: o.chain, rule: o.rule, append: true });
        break;
      case 'insert': {
        const list = known(o.chain);
        if (!list) return `rules of ${o.chain} not read`;
        const i = o.position - 1;
        if (i > list.length) return `insert at ${o.position} into ${o.chain} of ${list.length} rules`;
        const next = list[i];
        const prev = i > 0 ? list[i - 1] : undefined;
        let msg: NftMessage;
        if (next?.handle !== undefined) msg = { kind: 'newrule', chain: o.chain, rule: o.rule, position: next.handle, append: false };
        else if (next === undefined) msg = { kind: 'newrule', chain: o.chain, rule: o.rule, append: true };
        else if (i === 0) msg = { kind: 'newrule', chain: o.chain, rule: o.rule, append: false };
        else if (prev?.handle !== undefined) msg = { kind: 'newrule', chain: o.chain, rule: o.rule, position: prev.handle, append: true };
        else return `insert at ${o.position} into ${o.chain} between rules of this script`;
        list.splice(i, 0, { comment: o.rule.comment, message: out.length });
        out.push(msg);
        break;
      }
      case 'delete-rule': {
        const list = known(o.chain);
        if (!list) return `rules of ${o.chain} not read`;
        const i = list.findIndex((r) => r.comment === o.comment);
        if (i < 0) return `no rule "${o.comment}" in ${o.chain}`;
        const h = list[i].handle;
        if (h === undefined) return `deletion of a rule this script added to ${o.chain}`;
        list.splice(i, 1);
        out.push({ kind: 'delrule', chain: o.chain, handle: h });
        break;
      }
    }
  }
  return { messages: out, chains };
}
