// A strict parser of the Prometheus text exposition format (0.0.4), for tests
// and the lab: checks that a /metrics body is well formed and gives its
// samples. Throws on the first malformed line, naming it.

import { errorMessage } from '../errors.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type?: string;
  help?: string;
}

export interface ParsedMetrics {
  families: Map<string, MetricFamily>;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** As Prometheus reads values (Go's strconv.ParseFloat: NaN/Inf in any case; prom-client writes "Nan"). */
function parseValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (/^\+?inf(inity)?$/.test(lower)) return Infinity;
  if (/^-inf(inity)?$/.test(lower)) return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value "${text}"`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at text[0] === '{'; returns labels and the rest. */
function parseLabels(text: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error('label without "="');
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}"`);
    if (text[eq + 1] !== '"') throw new Error(`label ${name}: value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = text[j + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`label ${name}: bad escape "\\${n ?? ''}"`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    if (name in labels) throw new Error(`duplicate label ${name}`);
    labels[name] = value;
    i = j + 1;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`label ${name}: expected "," or "}"`);
  }
}

export function parsePrometheusText(body: string): ParsedMetrics {
  const families = new Map<string, MetricFamily>();
  const samples: Sample[] = [];
  const lines = body.split('\n');
  lines.forEach((line, idx) => {
    try {
      if (line.trim() === '') return;
      if (line.startsWith('#')) {
        const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
        if (!m) return; // a plain comment
        const [, kw, name, rest = ''] = m;
        if (!METRIC_NAME.test(name)) throw new Error(`bad metric name "${name}"`);
        const fam = families.get(name) ?? { name };
        if (kw === 'TYPE') {
          if (!TYPES.has(rest)) throw new Error(`bad type "${rest}"`);
          if (fam.type !== undefined) throw new Error(`second TYPE for ${name}`);
          fam.type = rest;
        } else {
          fam.help = rest;
        }
        families.set(name, fam);
        return;
      }
      const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
      if (!nameMatch) throw new Error('no metric name');
      const name = nameMatch[0];
      let rest = line.slice(name.length);
      let labels: Record<string, string> = {};
      if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest));
      const parts = rest.trim().split(/\s+/);
      if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new Error('expected "value [timestamp]"');
      if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp "${parts[1]}"`);
      samples.push({ name, labels, value: parseValue(parts[0]) });
    } catch (err) {
      throw new Error(`metrics line ${idx + 1}: ${errorMessage(err)}: ${line}`);
    }
  });
  return { families, samples };
}
