// metav1.LabelSelector: validation, matching and a canonical text form.
//
// The canonical form is what selector-keyed ipsets are named from: two
// policies that write the same selector (in any key order, with duplicate or
// reordered values) get the same text, hence the same set.

import { BoundedMemo } from '../../bounded-memo.js';
import type { LabelSelector } from '../../informers/types.js';

export interface CompiledSelector {
  /** Canonical text; `{}` for the empty selector (matches everything). */
  canonical: string;
  /** True when the selector matches every label set. */
  matchesAll: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

type Req =
  | { key: string; op: 'In' | 'NotIn'; values: Set<string> }
  | { key: string; op: 'Exists' | 'DoesNotExist' };

/** A selector error: the field below the selector and what is wrong. */
export class SelectorError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly value?: string,
  ) {
    super(message);
    this.name = 'SelectorError';
  }
}

const OPS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

function reqMatches(r: Req, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.op) {
    case 'In':
      return has && r.values.has(labels[r.key]);
    case 'NotIn':
      return !has || !r.values.has(labels[r.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Compiled selectors by their JSON text: a cluster's policies repeat the same
 * few selectors (app=x, role=web, {}) many times over, and a compiled
 * selector is immutable, so equal texts share one.
 */
const memo = new BoundedMemo<CompiledSelector>(20_000);

/**
 * Compiles a selector (`undefined` counts as `{}`, as the API does for a
 * podSelector/namespaceSelector that is present but empty). Throws a
 * SelectorError for an unknown operator or values that do not fit it
 * (never memoized: it throws again).
 */
export function compileSelector(sel: LabelSelector | undefined): CompiledSelector {
  return memo.get(sel === undefined ? '{}' : JSON.stringify(sel), () => compileUncached(sel));
}

function compileUncached(sel: LabelSelector | undefined): CompiledSelector {
  const reqs: Req[] = [];
  const labels = sel?.matchLabels ?? {};
  for (const key of Object.keys(labels)) {
    const v = labels[key];
    if (typeof v !== 'string') throw new SelectorError(`matchLabels[${key}]`, 'value is not a string', String(v));
    reqs.push({ key, op: 'In', values: new Set([v]) });
  }
  (sel?.matchExpressions ?? []).forEach((e, i) => {
    const f = `matchExpressions[${i}]`;
    if (!e || typeof e.key !== 'string' || e.key === '') throw new SelectorError(`${f}.key`, 'missing key');
    const op = e.operator as string;
    if (!OPS.has(op)) throw new SelectorError(`${f}.operator`, `unknown operator "${op}"`, op);
    const values = e.values ?? [];
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) throw new SelectorError(`${f}.values`, `operator ${op} needs at least one value`);
      reqs.push({ key: e.key, op: op as 'In' | 'NotIn', values: new Set(values) });
    } else {
      if (values.length !== 0) throw new SelectorError(`${f}.values`, `operator ${op} takes no values`);
      reqs.push({ key: e.key, op: op as 'Exists' | 'DoesNotExist' });
    }
  });
  const parts = reqs
    .map((r) => ('values' in r ? `${r.key} ${r.op} (${[...r.values].sort().join(',')})` : `${r.key} ${r.op}`))
    .sort();
  const unique = [...new Set(parts)];
  const canonical = unique.length ? `{${unique.join('; ')}}` : '{}';
  return {
    canonical,
    matchesAll: reqs.length === 0,
    matches: (l) => {
      const labels = l ?? EMPTY;
      for (const r of reqs) if (!reqMatches(r, labels)) return false;
      return true;
    },
  };
}
