// Address canonicalisation matching what `ipset save` prints (inet_ntop):
// IPv4 dotted quads, IPv6 RFC 5952 (lower case, longest zero run as `::`),
// networks masked to their prefix, full-length prefixes printed as addresses.

import { isIPv4 } from 'node:net';
import { formatIpv6, ipv6Groups } from '../ipv6-text.js';

/** Canonical text of an IPv4 or IPv6 address, or undefined if it is not one. */
export function canonicalAddr(text: string): { addr: string; v6: boolean } | undefined {
  // node's isIPv4 accepts no leading zeros and no octet over 255: what it accepts is canonical.
  if (isIPv4(text)) return { addr: text, v6: false };
  const g = ipv6Groups(text);
  return g ? { addr: formatIpv6(g), v6: true } : undefined;
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
  const masked = a.v6 ? formatIpv6(maskV6(ipv6Groups(a.addr) as number[], bits)) : maskV4(a.addr, bits);
  return { net: `${masked}/${bits}`, v6: a.v6 };
}
