// Small helpers the benches share: percentiles, timing, RSS after a full GC,
// and the summary table printed at the end of every run.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function fullGc(): void {
  for (let i = 0; i < 3; i++) gc();
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

export function ms(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(n < 10 ? 1 : 0)} ms` : 'n/a';
}

export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a';
}

/** Wall time of fn in ms, and its result. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** CPU seconds (user + system) of this process spent in fn. */
export async function cpuTimed<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuS: number; value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuS: (c.user + c.system) / 1e6, value };
}

export interface Row {
  scenario: string;
  figure: string;
  value: string;
  goal?: string;
  verdict?: 'ok' | 'MISS' | '';
}

export function verdict(ok: boolean): 'ok' | 'MISS' {
  return ok ? 'ok' : 'MISS';
}

/** Prints rows as an aligned table, then the same rows as one JSON line (for collecting). */
export function printSummary(title: string, rows: readonly Row[], extra: Record<string, unknown> = {}): void {
  const cols: Array<keyof Row> = ['scenario', 'figure', 'value', 'goal', 'verdict'];
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(width[i])).join('  ').trimEnd();
  console.log(`\n== ${title} ==`);
  console.log(line(cols.map(String)));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
  console.log(`JSON ${JSON.stringify({ title, rows, ...extra })}`);
}
