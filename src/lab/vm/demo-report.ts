// The demo's printed report, pure: checks to lines. One line per check
// (`PASS`, `FAIL`, `NOT BUILT YET (routing controller)`, with what was
// expected and seen), its raw output indented and trimmed under it, a header
// per section, the parts not there yet, and the summary line last.

import type { DemoCheck, Verdict } from './demo-checks.js';
import { CONTROLLERS, type NodeHealth } from './demo-parse.js';
import { CONTROLLER_PROVIDES } from './demo-plan.js';

export const RAW_MAX_LINES = 14;
export const RAW_MAX_WIDTH = 160;

export interface DemoTally {
  passed: number;
  failed: number;
  notBuilt: number;
  notEnabled: number;
}

export function verdictLabel(c: Pick<DemoCheck, 'verdict' | 'blocked'>): string {
  const which = (c.blocked ?? []).join(', ');
  const plural = (c.blocked ?? []).length > 1 ? 'controllers' : 'controller';
  switch (c.verdict) {
    case 'pass':
      return 'PASS';
    case 'fail':
      return 'FAIL';
    case 'not-built':
      return `NOT BUILT YET (${which} ${plural})`;
    case 'not-enabled':
      return `NOT ENABLED (${which} ${plural})`;
  }
}

/** Raw output, trimmed: at most RAW_MAX_LINES lines of at most RAW_MAX_WIDTH characters, indented. */
export function indentRaw(raw: string, indent = '      '): string[] {
  const lines = raw.replace(/\s+$/, '').split('\n');
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  if (lines.length === 0) return [`${indent}(empty)`];
  const shown = lines.slice(0, RAW_MAX_LINES).map((l) => `${indent}${l.length > RAW_MAX_WIDTH ? `${l.slice(0, RAW_MAX_WIDTH)}...` : l}`);
  if (lines.length > RAW_MAX_LINES) shown.push(`${indent}... (${lines.length - RAW_MAX_LINES} more lines)`);
  return shown;
}

export function checkLines(c: DemoCheck): string[] {
  const head = `${verdictLabel(c)}  ${c.title}: expected ${c.expected}; seen ${c.seen}`;
  return c.raw === undefined ? [head] : [head, ...indentRaw(c.raw)];
}

export function tally(checks: readonly DemoCheck[]): DemoTally {
  const count = (v: Verdict): number => checks.filter((c) => c.verdict === v).length;
  return { passed: count('pass'), failed: count('fail'), notBuilt: count('not-built'), notEnabled: count('not-enabled') };
}

export function summaryLine(t: DemoTally): string {
  return `demo: ${t.passed} passed, ${t.failed} failed, ${t.notBuilt} not built yet${t.notEnabled > 0 ? `, ${t.notEnabled} not enabled` : ''}`;
}

/** Exit status: 0 only if nothing failed. */
export function exitCodeOf(t: DemoTally): 0 | 1 {
  return t.failed === 0 ? 0 : 1;
}

/** The controllers some agent lists as not built yet, plainly. */
export function notThereYetLines(health: readonly NodeHealth[], checks: readonly DemoCheck[]): string[] {
  const lines: string[] = [];
  for (const name of CONTROLLERS) {
    const nodes = health.filter((h) => h.controllers[name].state === 'not-built').map((h) => h.node);
    if (nodes.length === 0) continue;
    const n = checks.filter((c) => c.verdict === 'not-built' && c.blocked?.includes(name)).length;
    lines.push(`  ${name} controller: enabled but not built yet (agent /healthz on ${nodes.join(', ')}); it will provide ${CONTROLLER_PROVIDES[name]}; ${n} check(s) wait for it`);
  }
  return lines;
}

/** The whole report, without the timing lines the caller adds. */
export function renderReport(checks: readonly DemoCheck[], health: readonly NodeHealth[]): string[] {
  const out: string[] = [];
  let section: string | undefined;
  for (const c of checks) {
    if (c.section !== section) {
      section = c.section;
      out.push('', `== ${section}`);
    }
    out.push(...checkLines(c));
  }
  const missing = notThereYetLines(health, checks);
  out.push('', '== not there yet');
  if (missing.length === 0) out.push('  nothing: every controller the agents enable is running');
  else out.push(...missing);
  out.push('', summaryLine(tally(checks)));
  return out;
}
