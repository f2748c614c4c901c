// The allocator's address pools: the --loadbalancer-ip-range CIDRs, per
// family, as integer intervals. As in kube-router every address of a CIDR is
// allocatable (the network and broadcast addresses too: they are service
// VIPs on kube-dummy-if, not hosts on a subnet). Walking a pool starts after
// a cursor and wraps around, so a freed address is not handed out again at
// once (kube-router keeps a rotating "current IP" the same way).

import { addrToBytes, bytesToAddr, AF_INET, AF_INET6 } from '../../kernel/rtnl/inet.js';
import { parseCidr, parseIp, type IpFamilyName } from '../proxy/validate-ip.js';

export interface PoolRange {
  /** The CIDR as given on the command line. */
  text: string;
  family: IpFamilyName;
  first: bigint;
  /** Inclusive. */
  last: bigint;
}

/** The ranges of one family, in the order given on the command line. */
export interface Pool {
  family: IpFamilyName;
  ranges: readonly PoolRange[];
}

export interface Pools {
  IPv4: Pool;
  IPv6: Pool;
}

export function addrToBigint(addr: string): bigint {
  let n = 0n;
  for (const b of addrToBytes(addr)) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigintToAddr(n: bigint, family: IpFamilyName): string {
  const len = family === 'IPv4' ? 4 : 16;
  const buf = Buffer.alloc(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytesToAddr(buf, family === 'IPv4' ? AF_INET : AF_INET6);
}

/**
 * Parses the flag's CIDRs (the flag parser has validated them) into one pool
 * per family. Host bits are ignored, as Go's net.ParseCIDR does.
 */
export function parsePools(cidrs: readonly string[]): Pools {
  const v4: PoolRange[] = [];
  const v6: PoolRange[] = [];
  for (const text of cidrs) {
    const c = parseCidr(text.trim());
    if (!c) continue;
    const bits = c.family === 'IPv4' ? 32 : 128;
    let addr = 0n;
    for (const b of c.bytes) addr = (addr << 8n) | BigInt(b);
    const hostBits = BigInt(bits - c.prefix);
    const first = (addr >> hostBits) << hostBits;
    const last = first + (1n << hostBits) - 1n;
    (c.family === 'IPv4' ? v4 : v6).push({ text, family: c.family, first, last });
  }
  return { IPv4: { family: 'IPv4', ranges: v4 }, IPv6: { family: 'IPv6', ranges: v6 } };
}

/** Whether the canonical `addr` (of any family) lies in one of the pools. */
export function poolsContain(pools: Pools, addr: string): boolean {
  const ip = parseIp(addr);
  if (!ip) return false;
  const n = addrToBigint(ip.addr);
  return pools[ip.family].ranges.some((r) => n >= r.first && n <= r.last);
}

/** Number of addresses in a pool (for metrics and warnings). */
export function poolSize(pool: Pool): bigint {
  return pool.ranges.reduce((s, r) => s + (r.last - r.first + 1n), 0n);
}

/**
 * The first address of `pool` not in `used`, walking the ranges in order
 * starting just after `after` (an address of the pool; absent or not in the
 * pool: the very first address) and wrapping around once. Undefined when
 * every address is used. Visits at most used.size + 1 addresses.
 */
export function nextFree(pool: Pool, used: ReadonlySet<string>, after?: string): string | undefined {
  const ranges = pool.ranges;
  if (ranges.length === 0) return undefined;
  let ri = 0;
  let cur = ranges[0].first;
  if (after !== undefined) {
    const ip = parseIp(after);
    const n = ip && ip.family === pool.family ? addrToBigint(ip.addr) : undefined;
    const at = n === undefined ? -1 : ranges.findIndex((r) => n >= r.first && n <= r.last);
    if (n !== undefined && at >= 0) {
      ri = at;
      cur = n;
      [ri, cur] = step(ranges, ri, cur);
    }
  }
  const startRi = ri;
  const start = cur;
  for (;;) {
    const addr = bigintToAddr(cur, pool.family);
    if (!used.has(addr)) return addr;
    [ri, cur] = step(ranges, ri, cur);
    if (ri === startRi && cur === start) return undefined;
  }
}

function step(ranges: readonly PoolRange[], ri: number, cur: bigint): [number, bigint] {
  if (cur < ranges[ri].last) return [ri, cur + 1n];
  const next = (ri + 1) % ranges.length;
  return [next, ranges[next].first];
}
