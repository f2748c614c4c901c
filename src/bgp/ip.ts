// Small IP/CIDR helpers for the BGP layer: parse, validate and render in the
// canonical form gobgpd prints (Go's net.IP.String(), RFC 5952 for IPv6).
import { isIPv4, isIPv6 } from 'node:net';
import type { IpFamily } from './types.js';

export interface Cidr {
  family: IpFamily;
  /** Canonical network address (host bits cleared). */
  address: string;
  length: number;
}

/** Canonical text of an IP address, or undefined if it is not one. */
export function canonicalIp(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) return bytesToIp(ipToBytes(ip));
  return undefined;
}

export function ipFamily(ip: string): IpFamily | undefined {
  if (isIPv4(ip)) return 'ipv4';
  if (isIPv6(ip)) return 'ipv6';
  return undefined;
}

/** Parses 'a.b.c.d/n' or 'x::/n'; host bits are cleared. Undefined if malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const length = Number(lenText);
  const family = ipFamily(ip);
  if (family === undefined) return undefined;
  const bits = family === 'ipv4' ? 32 : 128;
  if (length > bits) return undefined;
  if (family === 'ipv4') {
    // isIPv4 has vetted four decimal parts without leading zeros: the text is canonical.
    const p = ip.split('.');
    const v = ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
    const m = length === 0 ? 0 : (v & (0xffffffff << (32 - length))) >>> 0;
    const address = m === v ? ip : `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
    return { family, address, length };
  }
  const bytes = ipToBytes(ip);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return { family, address: bytesToIp(bytes), length };
}

export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.length}`;
}

function ipToBytes(ip: string): number[] {
  if (isIPv4(ip)) return ip.split('.').map(Number);
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (isIPv4(maybeV4)) {
    // Embedded IPv4 (e.g. ::ffff:1.2.3.4) becomes two hex groups.
    const b = maybeV4.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [headText, tailText] = text.includes('::') ? text.split('::') : [text, undefined];
  const head = headText === '' ? [] : headText.split(':').map((h) => parseInt(h, 16));
  const rest = tailText === undefined ? [] : tailText === '' ? [] : tailText.split(':').map((h) => parseInt(h, 16));
  const groups = tailText === undefined ? head : [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  const out: number[] = [];
  for (const g of groups) out.push((g >> 8) & 0xff, g & 0xff);
  return out;
}

function bytesToIp(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
