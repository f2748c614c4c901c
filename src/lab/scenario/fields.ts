// Typed field readers for the scenario parser: each read names the file, the
// step and the field when the value is missing or of the wrong shape, and
// keys that no reader declared are rejected.

import { ScenarioError, show, type ScenarioErrorWhere } from './errors.js';
import type { Protocol } from './cluster.js';

export type Mapping = Record<string, unknown>;

export function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Fields {
  constructor(
    readonly obj: Mapping,
    readonly where: ScenarioErrorWhere,
    /** Prefix for nested field names, e.g. `expect.` */
    private readonly prefix = '',
  ) {}

  /** A reader for `value`, which must be a mapping (an absent value reads as `{}` when `optional`). */
  static of(value: unknown, where: ScenarioErrorWhere, what: string, optional = false): Fields {
    if (value === undefined || value === null) {
      if (optional) return new Fields({}, where);
    }
    if (!isMapping(value)) throw new ScenarioError(where, `${what} must be a mapping, got ${show(value)}`);
    return new Fields(value, where);
  }

  nested(key: string, optional = false): Fields {
    const v = this.obj[key];
    if (v === undefined && optional) return new Fields({}, this.at(key), `${this.prefix}${key}.`);
    if (!isMapping(v)) this.fail(key, `must be a mapping, got ${show(v)}`);
    return new Fields(v, this.where, `${this.prefix}${key}.`);
  }

  private at(key: string): ScenarioErrorWhere {
    return { ...this.where, field: `${this.prefix}${key}` };
  }

  fail(key: string, problem: string, value?: unknown): never {
    throw new ScenarioError(this.at(key), problem, value === undefined ? undefined : show(value));
  }

  /** Rejects any key not in `known`. */
  only(known: readonly string[]): this {
    for (const k of Object.keys(this.obj)) {
      if (!known.includes(k)) {
        throw new ScenarioError(
          { ...this.where, field: `${this.prefix}${k}` },
          `is not known here (known: ${known.join(', ')})`,
        );
      }
    }
    return this;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  string(key: string): string {
    const v = this.obj[key];
    if (typeof v !== 'string' || v === '') this.fail(key, `must be a non-empty string, got ${show(v)}`, v);
    return v;
  }

  optString(key: string): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${show(v)}`, v);
    return v;
  }

  int(key: string, min: number, max: number): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `must be an integer from ${min} to ${max}, got ${show(v)}`, v);
    }
    return v;
  }

  optInt(key: string, min: number, max: number): number | undefined {
    return this.has(key) ? this.int(key, min, max) : undefined;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], dflt?: T): T {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      this.fail(key, `must be ${orList(choices)}, got ${show(v)}`, v);
    }
    return v as T;
  }

  stringList(key: string, dflt?: string[]): string[] {
    const v = this.obj[key];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (!Array.isArray(v)) this.fail(key, `must be a list of strings, got ${show(v)}`, v);
    v.forEach((item, i) => {
      if (typeof item !== 'string') this.fail(key, `item ${i + 1} must be a string, got ${show(item)}`, item);
    });
    return v as string[];
  }

  /** A duration: `100ms`, `2s`, `1m30s`, or a bare number of seconds. */
  duration(key: string, dfltMs: number): number {
    const v = this.obj[key];
    if (v === undefined || v === null) return dfltMs;
    const ms = parseDuration(v);
    if (ms === undefined) this.fail(key, `must be a duration such as 500ms, 2s or 1m, got ${show(v)}`, v);
    return ms;
  }

  protocol(key: string): Protocol | undefined {
    if (!this.has(key)) return undefined;
    return this.oneOf(key, PROTOCOLS);
  }
}

export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export function orList(choices: readonly string[]): string {
  if (choices.length <= 1) return choices.join('');
  return `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  const s = v.trim();
  if (s === '') return undefined;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return Math.round(total);
}
