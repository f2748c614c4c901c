// Binary <-> text IP addresses for netlink attributes (rtnetlink and IPVS).
// Text out is canonical: IPv4 dotted quads, IPv6 RFC 5952 (lower case, the
// longest run of zero groups as `::`), as `ip` and `ipvsadm` print them.

import { isIPv6 } from 'node:net';
import { formatIpv6, ipv6Groups } from '../ipv6-text.js';

export const AF_INET = 2;
export const AF_INET6 = 10;
export type AddressFamily = typeof AF_INET | typeof AF_INET6;

/**
 * The 32-bit value of an IPv4 dotted quad, exactly the texts node:net's
 * isIPv4 accepts (four parts of 0-255, no leading zeros); -1 for anything
 * else. A scan without regex or allocation: sorting thousands of routes
 * compares addresses tens of thousands of times.
 */
export function ipv4Value(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (c < 48 || c > 57) return -1;
    if (digits > 0 && part === 0) return -1; // a leading zero
    part = part * 10 + (c - 48);
    digits++;
    if (part > 255) return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** AF_INET for an IPv4 text address, AF_INET6 for IPv6, undefined otherwise. */
export function familyOf(text: string): AddressFamily | undefined {
  if (ipv4Value(text) >= 0) return AF_INET;
  if (isIPv6(text)) return AF_INET6;
  return undefined;
}

/** 4 bytes for IPv4, 16 for IPv6. Throws on anything that is not an address. */
export function addrToBytes(text: string): Buffer {
  const v4 = ipv4Value(text);
  if (v4 >= 0) {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(v4, 0);
    return out;
  }
  if (!isIPv6(text)) throw new TypeError(`not an IP address: ${JSON.stringify(text)}`);
  const out = Buffer.alloc(16);
  (ipv6Groups(text) ?? []).forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * The kernel's `union nf_inet_addr`: 16 bytes, an IPv4 address in the first
 * four and zeros after (what IPVS expects in its ADDR attributes).
 */
export function addrToInetUnion(text: string): Buffer {
  const b = addrToBytes(text);
  if (b.length === 16) return b;
  const out = Buffer.alloc(16);
  b.copy(out, 0);
  return out;
}

/** Text of an address of `family` stored at the start of `buf` (4 or 16 bytes read). */
export function bytesToAddr(buf: Buffer, family: AddressFamily): string {
  if (family === AF_INET) {
    if (buf.length < 4) throw new RangeError(`IPv4 address needs 4 bytes, got ${buf.length}`);
    return `${buf[0]}.${buf[1]}.${buf[2]}.${buf[3]}`;
  }
  if (buf.length < 16) throw new RangeError(`IPv6 address needs 16 bytes, got ${buf.length}`);
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(i * 2));
  return formatIpv6(g);
}

/** Canonical text of an address (`10.0.0.01` is rejected by node:net, `FD00::0:1` → `fd00::1`). */
export function canonicalAddr(text: string): string {
  const f = familyOf(text);
  if (f === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(text)}`);
  return bytesToAddr(addrToBytes(text), f);
}

/** Renders `addr:port`, brackets for IPv6 (`[fd00::1]:53`), as ipvsadm does. */
export function hostPort(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Comparison of two text addresses by family then by bytes (sorted listings). */
export function compareAddr(a: string, b: string): number {
  const va = ipv4Value(a);
  const vb = ipv4Value(b);
  if (va >= 0 && vb >= 0) return va - vb;
  const fa = familyOf(a) ?? 0;
  const fb = familyOf(b) ?? 0;
  if (fa !== fb) return fa - fb;
  if (fa === 0) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(addrToBytes(a), addrToBytes(b));
}
