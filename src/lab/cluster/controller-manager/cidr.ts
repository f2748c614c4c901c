// CIDR arithmetic for the allocators, on top of ip-cidr (parsing, offsets
// as bigint) and node:net (family checks, canonical IPv6 text).
import IPCIDR from 'ip-cidr';
import net from 'node:net';
import { KubeRouterError } from '../../../errors.js';
import type { AddressType } from './types.js';

export function ipFamily(ip: string): AddressType | undefined {
  const v = net.isIP(ip);
  return v === 4 ? 'IPv4' : v === 6 ? 'IPv6' : undefined;
}

/** The canonical text form of an IP (compressed IPv6), or the input when it is not an IP. */
export function canonicalIP(ip: string): string {
  const fam = net.isIP(ip);
  if (fam === 0) return ip;
  return new net.SocketAddress({ address: ip, family: fam === 4 ? 'ipv4' : 'ipv6' }).address;
}

function toBig(ip: string): bigint {
  return IPCIDR.formatIP<bigint>(IPCIDR.createAddress(ip), { type: 'bigInteger' });
}

export class CidrRange {
  readonly family: AddressType;
  readonly prefix: number;
  readonly bits: 32 | 128;
  /** Number of addresses in the CIDR. */
  readonly total: bigint;
  private readonly ipc: IPCIDR;
  private readonly base: bigint;

  constructor(readonly cidr: string, what = 'CIDR') {
    const [addr, len] = cidr.split('/');
    const family = ipFamily(addr ?? '');
    if (!IPCIDR.isValidCIDR(cidr) || !family || len === undefined) {
      throw new KubeRouterError('KR_ERR_CONFIG', `invalid ${what} "${cidr}"`, { field: what, value: cidr });
    }
    this.family = family;
    this.bits = family === 'IPv4' ? 32 : 128;
    this.prefix = Number(len);
    this.ipc = new IPCIDR(cidr);
    this.base = this.ipc.start<bigint>({ type: 'bigInteger' });
    this.total = 1n << BigInt(this.bits - this.prefix);
  }

  /** The network address. */
  get network(): string {
    return this.ipAt(0n);
  }

  /** Offset of `ip` from the network address, undefined when outside (or another family). */
  offsetOf(ip: string): bigint | undefined {
    if (ipFamily(ip) !== this.family) return undefined;
    const off = toBig(ip) - this.base;
    return off >= 0n && off < this.total ? off : undefined;
  }

  ipAt(offset: bigint): string {
    const [ip] = this.ipc.toArray({ from: offset, limit: 1n });
    if (ip === undefined) {
      throw new KubeRouterError('KR_ERR_INTERNAL', `offset ${offset} outside ${this.cidr}`, { value: String(offset) });
    }
    return canonicalIP(ip);
  }
}

/** The other IP family (a dual-stack Service's secondary when only the primary is named). */
export function otherFamily(f: AddressType): AddressType {
  return f === 'IPv4' ? 'IPv6' : 'IPv4';
}

/**
 * One CIDR or a list of at most two, one per family, the first being the
 * primary family: the form of kube-controller-manager's --cluster-cidr and
 * kube-apiserver's --service-cluster-ip-range ("10.244.0.0/16,fd00::/56").
 * `field` names the option in the KR_ERR_CONFIG error.
 */
export function parseCidrList(value: string | readonly string[], what: string, field: string): CidrRange[] {
  const list = typeof value === 'string' ? [value] : [...value];
  if (list.length === 0 || list.length > 2) {
    throw new KubeRouterError('KR_ERR_CONFIG', `${what}: expected one CIDR or two (one per IP family), got ${list.length}`,
      { field, value: list.join(',') });
  }
  const ranges = list.map((c) => new CidrRange(c, what));
  if (ranges.length === 2 && ranges[0]?.family === ranges[1]?.family) {
    throw new KubeRouterError('KR_ERR_CONFIG', `${what}: a dual-stack list needs one IPv4 and one IPv6 CIDR, got two ${ranges[0]?.family ?? ''}`,
      { field, value: list.join(',') });
  }
  return ranges;
}
