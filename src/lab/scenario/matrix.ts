// The `matrix` step (an extension of the issue's format): one probe per
// (from, to, port, protocol), run as one parallel batch, with the expected
// reachability written as a default plus exceptions, or as truth tables like
// upstream's e2e prints ('.' reachable, 'X' not).
//
//   - matrix:
//       pods: [x/a, x/b, x/c, y/a, y/b, y/c, z/a, z/b, z/c]   # from and to (or give from/to)
//       ports: [80, 81]            # default [80]
//       protocols: [TCP, UDP]      # default [TCP]
//       expect:
//         default: allow
//         deny: ["*->x/a", "x/b->y/*:81/UDP"]
//         allow: ["x/a->x/a"]      # applied after deny
//         rules: ["deny z/*->*:80", "allow z/c->x/a"]   # applied last, in order
//   - matrix:
//       pods: [x/a, x/b]
//       table: |                   # or {"80/TCP": |..., "81/UDP": |...}
//         -   x/a x/b
//         x/a .   X
//         x/b .   .

import type { Protocol } from './cluster.js';
import { Fields, isMapping } from './fields.js';
import { show } from './errors.js';
import type { Expect, MatrixCell } from './types.js';

interface Rule {
  expect: Expect;
  from: string;
  to: string;
  port: number | '*';
  protocol: Protocol | '*';
}

const RULE = /^\s*(.+?)\s*->\s*(.+?)(?::(\d+|\*)(?:\/(TCP|UDP|SCTP|\*))?)?\s*$/;

export function parseRule(text: string, expect: Expect): Rule | undefined {
  const m = RULE.exec(text);
  if (m === null) return undefined;
  return {
    expect,
    from: m[1],
    to: m[2],
    port: m[3] === undefined || m[3] === '*' ? '*' : Number(m[3]),
    protocol: m[4] === undefined || m[4] === '*' ? '*' : (m[4] as Protocol),
  };
}

/** `*` matches anything; `ns/*` and `*\/pod` match pod targets; anything else matches itself. */
export function matchTarget(pattern: string, target: string): boolean {
  if (pattern === '*' || pattern === target) return true;
  const p = pattern.split('/');
  const t = target.split('/');
  if (p.length !== 2 || t.length !== 2 || target.includes(':')) return false;
  return (p[0] === '*' || p[0] === t[0]) && (p[1] === '*' || p[1] === t[1]);
}

function ruleMatches(r: Rule, c: Omit<MatrixCell, 'expect'>): boolean {
  return (
    matchTarget(r.from, c.from) &&
    matchTarget(r.to, c.to) &&
    (r.port === '*' || r.port === c.port) &&
    (r.protocol === '*' || r.protocol === c.protocol)
  );
}

/** Parses a matrix step's fields (already a reader over the step's mapping) into its cells. */
export function parseMatrix(f: Fields): MatrixCell[] {
  f.only(['pods', 'from', 'to', 'ports', 'protocols', 'expect', 'table', 'self', 'timeout']);
  const pods = f.has('pods') ? f.stringList('pods') : undefined;
  const from = f.has('from') ? f.stringList('from') : pods;
  const to = f.has('to') ? f.stringList('to') : pods;
  if (from === undefined) f.fail('pods', 'is required (or give both from and to)');
  if (to === undefined) f.fail('pods', 'is required (or give both from and to)');
  const ports = portList(f);
  const protocols = f.has('protocols') ? protocolList(f) : (['TCP'] as Protocol[]);
  const self = f.bool('self', true);
  if (f.has('expect') === f.has('table')) f.fail('expect', 'give exactly one of expect and table');

  const cells: MatrixCell[] = [];
  const expectOf = f.has('expect') ? expectFromRules(f) : expectFromTables(f, from, to, ports, protocols);
  for (const fr of from) {
    for (const t of to) {
      if (!self && fr === t) continue;
      for (const port of ports) {
        for (const protocol of protocols) {
          const cell = { from: fr, to: t, port, protocol };
          cells.push({ ...cell, expect: expectOf(cell) });
        }
      }
    }
  }
  return cells;
}

function portList(f: Fields): number[] {
  if (!f.has('ports')) return [80];
  const v = f.raw('ports');
  if (!Array.isArray(v) || v.length === 0) f.fail('ports', `must be a non-empty list of ports, got ${show(v)}`);
  return v.map((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) {
      f.fail('ports', `item ${i + 1} must be a port from 1 to 65535, got ${show(p)}`);
    }
    return p;
  });
}

function protocolList(f: Fields): Protocol[] {
  const list = f.stringList('protocols');
  if (list.length === 0) f.fail('protocols', 'must not be empty');
  for (const p of list) {
    if (p !== 'TCP' && p !== 'UDP' && p !== 'SCTP') f.fail('protocols', `must list TCP, UDP or SCTP, got ${show(p)}`);
  }
  return list as Protocol[];
}

type ExpectOf = (c: Omit<MatrixCell, 'expect'>) => Expect;

function expectFromRules(f: Fields): ExpectOf {
  const raw = f.raw('expect');
  if (raw === 'allow' || raw === 'deny') return () => raw;
  if (!isMapping(raw)) f.fail('expect', `must be allow, deny or a mapping {default, deny, allow, rules}, got ${show(raw)}`);
  const e: Fields = f.nested('expect');
  e.only(['default', 'deny', 'allow', 'rules']);
  const dflt = e.oneOf('default', ['allow', 'deny'] as const);
  const rules: Rule[] = [];
  const add = (key: string, expect: Expect | undefined): void => {
    e.stringList(key, []).forEach((text, i) => {
      let exp = expect;
      let body = text;
      if (exp === undefined) {
        const m = /^\s*(allow|deny)\s+(.*)$/.exec(text);
        if (m === null) e.fail(key, `item ${i + 1} must start with allow or deny, got ${show(text)}`);
        exp = m[1] as Expect;
        body = m[2];
      }
      const r = parseRule(body, exp);
      if (r === undefined) e.fail(key, `item ${i + 1} must look like 'x/a->y/b:80/TCP', got ${show(text)}`);
      rules.push(r);
    });
  };
  add('deny', 'deny');
  add('allow', 'allow');
  add('rules', undefined);
  return (c) => {
    let exp: Expect = dflt;
    for (const r of rules) if (ruleMatches(r, c)) exp = r.expect;
    return exp;
  };
}

function expectFromTables(f: Fields, from: string[], to: string[], ports: number[], protocols: Protocol[]): ExpectOf {
  const raw = f.raw('table');
  const tables = new Map<string, Map<string, Expect>>();
  if (typeof raw === 'string') {
    tables.set('*', parseTable(f, 'table', raw, from, to));
  } else if (isMapping(raw)) {
    for (const [key, text] of Object.entries(raw)) {
      const field = `table.${key}`;
      const m = /^(\d+)\/(TCP|UDP|SCTP)$/.exec(key);
      if (m === null) f.fail(field, 'must be keyed PORT/PROTOCOL, e.g. 80/TCP');
      if (typeof text !== 'string') f.fail(field, `must be a table (text), got ${show(text)}`);
      tables.set(key, parseTable(f, field, text, from, to));
    }
    for (const port of ports) {
      for (const protocol of protocols) {
        if (!tables.has(`${port}/${protocol}`)) f.fail('table', `has no table for ${port}/${protocol}`);
      }
    }
  } else {
    f.fail('table', `must be a table (text) or a mapping of PORT/PROTOCOL to tables, got ${show(raw)}`);
  }
  return (c) => {
    const t = tables.get('*') ?? tables.get(`${c.port}/${c.protocol}`);
    // parseTable checked that every (from, to) pair is present.
    return t?.get(`${c.from} ${c.to}`) ?? 'deny';
  };
}

/** Parses one truth table: a header row of `to` names, then one row per `from` with '.' (allow) or 'X' (deny). */
export function parseTable(f: Fields, field: string, text: string, from: string[], to: string[]): Map<string, Expect> {
  const rows = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(/\s+/));
  if (rows.length === 0) f.fail(field, 'is empty');
  let header = rows[0];
  if (header.length === to.length + 1) header = header.slice(1);
  if (header.length !== to.length || [...to].sort().join() !== [...header].sort().join()) {
    f.fail(field, `header must name the ${to.length} targets (${to.join(' ')}), got '${rows[0].join(' ')}'`);
  }
  const out = new Map<string, Expect>();
  const seen = new Set<string>();
  for (const row of rows.slice(1)) {
    const [name, ...cells] = row;
    if (!from.includes(name)) f.fail(field, `row '${name}' is not one of the sources (${from.join(' ')})`);
    if (seen.has(name)) f.fail(field, `row '${name}' appears twice`);
    seen.add(name);
    if (cells.length !== header.length) f.fail(field, `row '${name}' has ${cells.length} cells, expected ${header.length}`);
    cells.forEach((cell, i) => {
      let exp: Expect;
      if (cell === '.') exp = 'allow';
      else if (cell === 'X' || cell === 'x') exp = 'deny';
      else f.fail(field, `row '${name}' column '${header[i]}': '${cell}' must be '.' (allow) or 'X' (deny)`);
      out.set(`${name} ${header[i]}`, exp);
    });
  }
  const missing = from.filter((n) => !seen.has(n));
  if (missing.length > 0) f.fail(field, `has no row for ${missing.join(', ')}`);
  return out;
}
