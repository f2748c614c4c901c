// labelSelector and fieldSelector query strings, parsed as apimachinery's
// labels.Parse and fields.ParseSelector do. Bad syntax throws a 400.

import { badRequest } from './status.js';

export type LabelOp = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type Labels = Record<string, string> | undefined;

export type LabelMatcher = (labels: Labels) => boolean;

const KEY_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, sel: string): void {
  if (!KEY_RE.test(key) || key.length > 317) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${sel}"`);
}

function checkValue(v: string, sel: string): void {
  if (v.length > 63 || !VALUE_RE.test(v)) throw badRequest(`unable to parse requirement: invalid label value: "${v}" in selector "${sel}"`);
}

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseLabelSelector(sel: string | undefined): LabelRequirement[] {
  if (sel === undefined || sel.trim() === '') return [];
  const reqs: LabelRequirement[] = [];
  for (const raw of splitTop(sel)) {
    const part = raw.trim();
    if (part === '') throw badRequest(`unable to parse requirement: found '', expected: identifier in selector "${sel}"`);
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^!\s*(\S+)$/))) {
      checkKey(m[1], sel);
      reqs.push({ key: m[1], op: '!', values: [] });
    } else if ((m = part.match(/^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      checkKey(m[1], sel);
      const values = m[3].split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '' && m[2] === 'in') {
        throw badRequest(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty in selector "${sel}"`);
      }
      values.forEach((v) => checkValue(v, sel));
      reqs.push({ key: m[1], op: m[2] as 'in' | 'notin', values });
    } else if ((m = part.match(/^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)$/))) {
      checkKey(m[1], sel);
      checkValue(m[3], sel);
      const op = m[2] === '!=' ? '!=' : m[2] === '<' ? 'lt' : m[2] === '>' ? 'gt' : '=';
      if ((op === 'lt' || op === 'gt') && !/^-?\d+$/.test(m[3])) {
        throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in selector "${sel}"`);
      }
      reqs.push({ key: m[1], op, values: [m[3]] });
    } else if ((m = part.match(/^(\S+)$/))) {
      checkKey(m[1], sel);
      reqs.push({ key: m[1], op: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: couldn't parse the selector string "${sel}"`);
    }
  }
  return reqs;
}

export function matchRequirement(r: LabelRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
      return has && v === r.values[0];
    case '!=':
      return !has || v !== r.values[0];
    case 'in':
      return has && r.values.includes(v as string);
    case 'notin':
      return !has || !r.values.includes(v as string);
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v as string)) return false;
      const n = Number(v);
      const want = Number(r.values[0]);
      return r.op === 'gt' ? n > want : n < want;
    }
  }
}

export function labelMatcher(sel: string | undefined): LabelMatcher {
  const reqs = parseLabelSelector(sel);
  if (reqs.length === 0) return () => true;
  return (labels) => reqs.every((r) => matchRequirement(r, labels));
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** fieldSelector: `a=b,c!=d` (also `==`); a backslash escapes `,`, `=` and `!`. */
export function parseFieldSelector(sel: string | undefined): FieldRequirement[] {
  if (sel === undefined || sel.trim() === '') return [];
  const out: FieldRequirement[] = [];
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < sel.length; i++) {
    const ch = sel[i];
    if (ch === '\\' && i + 1 < sel.length) {
      cur += ch + sel[++i];
    } else if (ch === ',') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const p of parts) {
    const m = p.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${p}'`);
    out.push({ field: m[1].trim(), op: m[2] === '!=' ? '!=' : '=', value: m[3].replace(/\\(.)/g, '$1') });
  }
  return out;
}
