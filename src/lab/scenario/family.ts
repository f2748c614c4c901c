// The IP family of a scenario run (`kube-router-lab run --family ipv6`): the
// same file runs a second time in IPv6 on a dual-stack lab. Scenario files
// are written with IPv4 literals; the ranges below have fixed IPv6 twins so
// that `{{vip ...}}`, `{{cidr ...}}` and the agents' range flags can follow
// the run's family without a second copy of the file.

import { isIP } from 'node:net';
import { KubeRouterError } from '../../errors.js';
import { UNDERLAY } from '../topology/types.js';
import { maskIP } from './ip-text.js';

export type IpFamily = 'ipv4' | 'ipv6';

export const IP_FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6'];

/** A literal or flag value that has no IPv6 twin (names it). */
export class FamilyError extends KubeRouterError {
  constructor(literal: string, problem: string) {
    super('KR_ERR_LAB', `'${literal}': ${problem}`, { value: literal });
    this.name = 'FamilyError';
  }
}

export function isFamily(v: unknown): v is IpFamily {
  return v === 'ipv4' || v === 'ipv6';
}

/** 4 or 6, as node:net's isIP() answers. */
export function familyNumber(family: IpFamily): 4 | 6 {
  return family === 'ipv4' ? 4 : 6;
}

/**
 * How an IPv4 range maps to IPv6. `hex16` keeps the low 16 bits as a number
 * (the Service range: fd00:10:96::/112 is what the lab allocates from);
 * `decimal` writes the last octet's decimal digits as the last group, so that
 * 198.51.100.20 reads 2001:db8:51:100::20 in an expectation.
 */
interface Twin {
  v4: string;
  bits: number;
  v6: string;
  host: 'hex16' | 'decimal';
  /** The IPv6 prefix length of the whole range. */
  wholeBits: number;
}

const TWINS: readonly Twin[] = [
  { v4: '10.96.0.0', bits: 12, v6: 'fd00:10:96::', host: 'hex16', wholeBits: 112 },
  { v4: '198.51.100.0', bits: 24, v6: '2001:db8:51:100::', host: 'decimal', wholeBits: 120 },
  { v4: '203.0.113.0', bits: 24, v6: '2001:db8:203:113::', host: 'decimal', wholeBits: 120 },
  // The underlay: nodes are fd00:56::1x in the topology, on a /64.
  { v4: '192.168.56.0', bits: 24, v6: UNDERLAY.v6.prefix, host: 'decimal', wholeBits: 64 },
  // The second subnet behind the router (secondSubnet): the last node is fd00:57::1N, on a /64 too.
  { v4: '192.168.57.0', bits: 24, v6: UNDERLAY.v6.second.prefix, host: 'decimal', wholeBits: 64 },
  { v4: '192.0.2.0', bits: 24, v6: '2001:db8:0:2::', host: 'decimal', wholeBits: 120 },
  // What the lab's external peer announces besides the pod CIDRs (bird-peer.ts PEER_OTHER_PREFIX6).
  { v4: '172.20.0.0', bits: 24, v6: '2001:db8:172:20::', host: 'decimal', wholeBits: 120 },
];

const KNOWN = TWINS.map((t) => `${t.v4}/${t.bits}`).join(', ');

function v4Number(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function twinOf(ip: string, bits: number): Twin | undefined {
  const n = v4Number(ip);
  return TWINS.find((t) => bits >= t.bits && Math.floor(n / 2 ** (32 - t.bits)) === Math.floor(v4Number(t.v4) / 2 ** (32 - t.bits)));
}

/**
 * The twin's last group. `hex16` keeps 16 of the range's 20 host bits, so only
 * its first /16 (10.96.0.0/16) has distinct twins: 10.97.0.1 would be
 * 10.96.0.1's twin too, and is refused.
 */
function hostPart(literal: string, t: Twin, n: number): string {
  if (t.host === 'hex16') needFirst16(literal, t, n, 16);
  const h = t.host === 'hex16' ? n % 65536 : n % 256;
  if (h === 0) return '';
  // `decimal`: the octet's digits as they are written in the IPv4 literal.
  return t.host === 'hex16' ? h.toString(16) : String(h);
}

/** hex16: the block of `bits` around `n` must hold the range's first /16 (or lie in it, bits >= 16). */
function needFirst16(literal: string, t: Twin, n: number, bits: number): void {
  const span = 2 ** (32 - Math.min(bits, 16));
  if (Math.floor(n / span) !== Math.floor(v4Number(t.v4) / span)) {
    throw new FamilyError(literal, `only ${t.v4}/16 of ${t.v4}/${t.bits} has IPv6 twins (its low 16 bits)`);
  }
}

function needIPv4(literal: string, ip: string): void {
  if (isIP(ip) !== 4) throw new FamilyError(literal, 'is not an IPv4 address');
}

/** The IPv6 twin of an IPv4 address in one of the mapped ranges; throws a FamilyError naming it otherwise. */
export function ipv6Twin(ip: string): string {
  needIPv4(ip, ip);
  const t = twinOf(ip, 32);
  if (t === undefined) throw new FamilyError(ip, `has no IPv6 twin (mapped ranges: ${KNOWN})`);
  return `${t.v6}${hostPart(ip, t, v4Number(ip))}`;
}

/** The IPv6 twin of an IPv4 CIDR covering the same hosts (e.g. /24 -> /120; the whole Service range /12 -> /112). */
export function ipv6TwinCidr(cidr: string): string {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  if (m === null) throw new FamilyError(cidr, 'is not an IPv4 CIDR (A.B.C.D/N)');
  needIPv4(cidr, m[1]);
  const bits = Number(m[2]);
  if (bits > 32) throw new FamilyError(cidr, `prefix /${bits} is too long for IPv4`);
  const t = twinOf(m[1], bits);
  if (t === undefined) throw new FamilyError(cidr, `has no IPv6 twin (mapped ranges: ${KNOWN}, or a CIDR inside one)`);
  // hex16 keeps 16 host bits: the range, or anything wider than a /16 in it, is the whole /112.
  if (t.host === 'hex16' && bits <= 16) {
    needFirst16(cidr, t, v4Number(m[1]), bits);
    return maskIP(t.v6, t.wholeBits);
  }
  const v6Bits = bits === t.bits ? t.wholeBits : 96 + bits;
  return maskIP(`${t.v6}${hostPart(cidr, t, v4Number(m[1]))}`, v6Bits);
}

/** `{{vip A.B.C.D}}`: the literal in an IPv4 run, its twin in an IPv6 run. */
export function vipFor(ip: string, family: IpFamily): string {
  const twin = ipv6Twin(ip); // checked in both families: a file must run in either
  return family === 'ipv4' ? ip : twin;
}

/** `{{cidr A.B.C.D/N}}`: the CIDR in an IPv4 run, its twin in an IPv6 run. */
export function cidrFor(cidr: string, family: IpFamily): string {
  const twin = ipv6TwinCidr(cidr);
  return family === 'ipv4' ? cidr : twin;
}

/** `{{net ns/pod N}}`: N is written for IPv4; an IPv6 run keeps the same number of host bits (N + 96). */
export function prefixFor(bits: number, family: IpFamily): number {
  return family === 'ipv6' && bits <= 32 ? bits + 96 : bits;
}
