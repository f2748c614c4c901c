// Converts one command-line value into the stored form of its flag, the way
// pflag's Set() does for each type, plus the per-flag bounds of the table.
// Every failure is a FlagError naming the flag, the value and what is expected.
import { isIP } from 'node:net';
import { FlagError } from '../../errors.js';
import { formatGoDuration, parseGoDuration } from './duration.js';
import type { FlagSpec } from './flag-spec.js';

export type FlagValue = boolean | string | number | string[] | number[];

const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** Go's strconv.ParseBool. */
export function parseGoBool(text: string): boolean | undefined {
  if (TRUE_WORDS.has(text)) return true;
  if (FALSE_WORDS.has(text)) return false;
  return undefined;
}

/**
 * Go's strconv.ParseUint. With base 0 (what pflag uses for scalar uints)
 * `0x`, `0o`, `0b` and a leading-0 octal are honoured; lists use base 10.
 */
export function parseGoUint(text: string, bits: number, base0: boolean): number | undefined {
  let digits = text;
  let radix = 10;
  if (base0) {
    const lower = text.toLowerCase();
    if (lower.startsWith('0x')) [radix, digits] = [16, text.slice(2)];
    else if (lower.startsWith('0o')) [radix, digits] = [8, text.slice(2)];
    else if (lower.startsWith('0b')) [radix, digits] = [2, text.slice(2)];
    else if (text.length > 1 && text.startsWith('0')) [radix, digits] = [8, text.slice(1)];
  }
  const alphabet = '0123456789abcdef'.slice(0, radix);
  if (digits === '' || [...digits.toLowerCase()].some((c) => !alphabet.includes(c))) return undefined;
  let value = 0n;
  for (const c of digits.toLowerCase()) value = value * BigInt(radix) + BigInt(alphabet.indexOf(c));
  if (value > (1n << BigInt(bits)) - 1n) return undefined;
  return Number(value);
}

/**
 * Splits a list value the way pflag's StringSlice does (encoding/csv, one
 * record): commas separate, double quotes protect commas, `""` is a quote.
 * An empty value is an empty list.
 */
export function splitCsv(text: string): string[] | undefined {
  if (text === '') return [];
  const out: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return undefined; // unterminated quote
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ',') return undefined; // text after closing quote
    } else {
      const end = text.indexOf(',', i);
      field = text.slice(i, end === -1 ? text.length : end);
      if (field.includes('"')) return undefined; // bare quote inside an unquoted field
      i = end === -1 ? text.length : end;
    }
    out.push(field);
    i++; // skip the comma (or step past the end)
  }
  return out;
}

/** An IP address as Go's net.ParseIP reads it (no zone, no brackets). */
export function isIpAddress(text: string): boolean {
  return !text.includes('%') && isIP(text) !== 0;
}

/** A CIDR as Go's net.ParseCIDR reads it: an address, `/`, a decimal prefix length within the family's size. */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const addr = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  if (text.includes('%') || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function fail(spec: FlagSpec, value: string, expected: string): never {
  throw new FlagError(`--${spec.name}`, spec.secret === true ? '[REDACTED]' : value, expected);
}

function typeExpectation(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'bool':
      return 'a boolean (true/false, 1/0, t/f)';
    case 'uint': {
      const lo = spec.min ?? 0;
      const hi = spec.max ?? 2 ** (spec.bits ?? 64) - 1;
      return `an integer from ${lo} to ${hi}`;
    }
    case 'uintList':
      return `a comma-separated list of integers from ${spec.min ?? 0} to ${spec.max ?? 2 ** 64 - 1}`;
    case 'duration':
      return durationExpectation(spec);
    case 'ipList':
      return 'a comma-separated list of IP addresses';
    case 'cidrList':
      return 'a comma-separated list of CIDRs (address/prefix length, e.g. 10.96.0.0/12)';
    default:
      return 'a valid value';
  }
}

function durationExpectation(spec: FlagSpec): string {
  if (spec.expect !== undefined) return spec.expect;
  const syntax = "a Go duration such as '300ms', '5s', '1m', '2h22m'";
  const lower = spec.positive ? 'greater than 0' : spec.minMs !== undefined ? `at least ${formatGoDuration(spec.minMs)}` : '';
  const upper = spec.maxMs !== undefined ? `at most ${formatGoDuration(spec.maxMs)}` : '';
  const bounds = [lower, upper].filter((s) => s !== '').join(' and ');
  return bounds === '' ? syntax : `${syntax}, ${bounds}`;
}

function checkUint(spec: FlagSpec, raw: string, text: string, base0: boolean, bits: number): number {
  const n = parseGoUint(text, bits, base0);
  const expected = spec.expect ?? typeExpectation(spec);
  if (n === undefined) fail(spec, raw, expected);
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) fail(spec, raw, expected);
  return n;
}

function listItems(spec: FlagSpec, raw: string): string[] {
  const items = splitCsv(raw);
  if (items === undefined) fail(spec, raw, 'a comma-separated list (check the double quotes)');
  return items;
}

/**
 * Converts `raw` for `spec`. `previous` is the value so far when the flag was
 * already given on this command line (lists then append, as pflag does);
 * undefined on the first occurrence (lists then replace the default).
 */
export function convertValue(spec: FlagSpec, raw: string, previous: FlagValue | undefined): FlagValue {
  switch (spec.kind) {
    case 'bool': {
      const b = parseGoBool(raw);
      if (b === undefined) fail(spec, raw, typeExpectation(spec));
      return b;
    }
    case 'string':
      if (spec.choices !== undefined && !spec.choices.includes(raw)) {
        fail(spec, raw, `one of ${spec.choices.map((c) => `"${c}"`).join(', ')}`);
      }
      return raw;
    case 'uint':
      return checkUint(spec, raw, raw, true, spec.bits ?? 64);
    case 'duration': {
      const ms = parseGoDuration(raw);
      const bad =
        ms === undefined ||
        (spec.positive === true && ms <= 0) ||
        (spec.minMs !== undefined && ms < spec.minMs) ||
        (spec.maxMs !== undefined && ms > spec.maxMs);
      if (bad) fail(spec, raw, durationExpectation(spec));
      return ms;
    }
    case 'stringList':
      return [...((previous as string[] | undefined) ?? []), ...listItems(spec, raw)];
    case 'uintList': {
      const nums = listItems(spec, raw).map((item) => checkUint(spec, raw, item, false, 64));
      return [...((previous as number[] | undefined) ?? []), ...nums];
    }
    case 'ipList': {
      const ips = listItems(spec, raw);
      for (const ip of ips) if (!isIpAddress(ip)) fail(spec, raw, `IP addresses; "${ip}" is not one`);
      return [...((previous as string[] | undefined) ?? []), ...ips];
    }
    case 'cidrList': {
      const cidrs = listItems(spec, raw);
      for (const c of cidrs) {
        if (!isCidr(c)) fail(spec, raw, `CIDRs (address/prefix length, e.g. 10.96.0.0/12); "${c}" is not one`);
      }
      return [...((previous as string[] | undefined) ?? []), ...cidrs];
    }
  }
}

/** The default of a flag as --help shows it, pflag style. */
export function defaultText(spec: FlagSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  const d = spec.default;
  if (Array.isArray(d)) return `[${d.join(',')}]`;
  if (spec.kind === 'duration') return formatGoDuration(d as number);
  if (spec.kind === 'string') return `"${String(d)}"`;
  return String(d);
}
