// How we recognise our rules with no memory (felix-style): every rule we
// write carries ONE comment `kr:<hash>[ <human comment>]`, the hash covering
// the rule as WE wrote it. Read-back parses only the hash, never the rule
// (iptables-save prints a canonical form: `-d 10.0.0.1/32`, `-m tcp --dport`,
// reordered matches), so no normalisation of iptables syntax is needed.

import { hash } from 'node:crypto';
import { BoundedMemo } from '../../bounded-memo.js';
import { canonicalRuleText } from './tokens.js';
import type { JumpRule } from './types.js';

export const HASH_LEN = 16;
const HASH_RE = /--comment "?kr:([A-Za-z0-9_-]{16})(?=[\s"]|$)/;
/** iptables comments are at most 255 characters. */
const MAX_COMMENT = 255;

function digest(text: string): string {
  return hash('sha256', text, 'base64url').slice(0, HASH_LEN);
}

/** Rule text -> hash: a sync hashes every rule it writes or compares, mostly the same texts as the last one. */
const RULE_HASHES = new BoundedMemo<string>(50_000);

export function chainRuleHash(rule: string): string {
  return RULE_HASHES.get(rule, (r) => digest(canonicalRuleText(r)));
}

export function jumpHash(j: JumpRule): string {
  return digest(`${j.fromChain}\0${j.position}\0${sanitizeComment(j.comment)}\0${canonicalRuleText(j.rule)}`);
}

/** Control characters, quotes and backslashes dropped (kube-router's sanitizeForComment). */
export function sanitizeComment(c: string): string {
  // eslint-disable-next-line no-control-regex
  return c.replace(/[\x00-\x1f\x7f"\\]/g, '').trim();
}

/** The comment match we prefix a rule with. */
export function hashComment(hash: string, human = ''): string {
  const h = sanitizeComment(human);
  const text = (h ? `kr:${hash} ${h}` : `kr:${hash}`).slice(0, MAX_COMMENT);
  return `-m comment --comment "${text}"`;
}

/** The `kr:` hash in a saved rule, or null. */
export function extractHash(savedRule: string): string | null {
  const m = HASH_RE.exec(savedRule);
  return m ? m[1] : null;
}
