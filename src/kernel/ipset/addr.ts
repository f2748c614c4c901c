// Address canonicalisation matching what `ipset save` prints (inet_ntop):
// IPv4 dotted quads, IPv6 RFC 5952 (lower case, longest zero run as `::`),
// networks masked to their prefix, full-length prefixes printed as addresses.

import { isIPv4, isIPv6 } from 'node:net';

function v6Groups(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let s = text.toLowerCase();
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    s = s.slice(0, lastColon + 1) + ((o[0] << 8) | o[1]).toString(16) + ':' + ((o[2] << 8) | o[3]).toString(16);
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head === '' ? [] : head.split(':').map((x) => parseInt(x, 16));
  if (rest === undefined) return h;
  const r = rest === '' ? [] : rest.split(':').map((x) => parseInt(x, 16));
  return [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
}

function formatV6(g: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

/** Canonical text of an IPv4 or IPv6 address, or undefined if it is not one. */
export function canonicalAddr(text: string): { addr: string; v6: boolean } | undefined {
  if (isIPv4(text)) return { addr: text.split('.').map(Number).join('.'), v6: false };
  const g = v6Groups(text);
  return g ? { addr: formatV6(g), v6: true } : undefined;
}

function maskV4(addr: string, bits: number): string {
  const n = addr.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  // Unsigned 32-bit values: arithmetic, not bitwise ops.
  const m = n - (n % 2 ** (32 - bits));
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}

function maskV6(g: number[], bits: number): number[] {
  return g.map((x, i) => {
    const lo = i * 16;
    if (bits >= lo + 16) return x;
    if (bits <= lo) return 0;
    const keep = bits - lo;
    return x & ((0xffff << (16 - keep)) & 0xffff);
  });
}

/**
 * Canonical network text as ipset prints it: masked, and without the prefix
 * when it is the full length (/32, /128). `text` may omit the prefix.
 */
export function canonicalNet(text: string): { net: string; v6: boolean } | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const a = canonicalAddr(addrText);
  if (!a) return undefined;
  const max = a.v6 ? 128 : 32;
  let bits = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    bits = Number(p);
    if (bits > max) return undefined;
  }
  if (bits === max) return { net: a.addr, v6: a.v6 };
  const masked = a.v6 ? formatV6(maskV6(v6Groups(a.addr) as number[], bits)) : maskV4(a.addr, bits);
  return { net: `${masked}/${bits}`, v6: a.v6 };
}
