// IP address and CIDR helpers for the proxy compiler: canonical text, family,
// CIDR membership, and kube-router's validation of externalIPs and
// LoadBalancer ingress IPs against --service-external-ip-range /
// --loadbalancer-ip-range (strict by default: no range configured, nothing
// accepted; an externalIP inside --service-cluster-ip-range is never accepted).

import { isIPv4 } from 'node:net';
import { addrToBytes, canonicalAddr, familyOf, AF_INET } from '../../kernel/rtnl/inet.js';

export type IpFamilyName = 'IPv4' | 'IPv6';

/** A parsed CIDR: network bytes and prefix length. */
export interface Cidr {
  family: IpFamilyName;
  bytes: Buffer;
  prefix: number;
  text: string;
}

/** Canonical text and family of an address, or undefined when it is not one. */
export function parseIp(text: string): { addr: string; family: IpFamilyName } | undefined {
  // node:net accepts no leading zeros in IPv4: the text is already canonical.
  if (isIPv4(text)) return { addr: text, family: 'IPv4' };
  const f = familyOf(text);
  if (f === undefined) return undefined;
  return { addr: canonicalAddr(text), family: f === AF_INET ? 'IPv4' : 'IPv6' };
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const max = ip.family === 'IPv4' ? 32 : 128;
  if (prefix > max) return undefined;
  return { family: ip.family, bytes: addrToBytes(ip.addr), prefix, text };
}

/** Parses a flag's CIDR list, dropping entries that do not parse (the flag parser already rejected them). */
export function parseCidrs(list: readonly string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const t of list) {
    const c = parseCidr(t.trim());
    if (c) out.push(c);
  }
  return out;
}

function inCidr(bytes: Buffer, c: Cidr): boolean {
  if (bytes.length !== c.bytes.length) return false;
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== c.bytes[i]) return false;
  const rest = c.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full] & mask) === (c.bytes[full] & mask);
}

/** Whether canonical address `addr` lies in any of `cidrs`. */
export function inAnyCidr(addr: string, cidrs: readonly Cidr[]): boolean {
  if (cidrs.length === 0) return false;
  const b = addrToBytes(addr);
  return cidrs.some((c) => inCidr(b, c));
}

/**
 * A string key that sorts canonical addresses as `compareAddr` does (IPv4
 * before IPv6, then by bytes) without a Buffer per comparison.
 */
export function addrSortKey(addr: string): string {
  if (!addr.includes(':')) {
    let n = 0;
    let o = 0;
    for (let i = 0; i < addr.length; i++) {
      const c = addr.charCodeAt(i);
      if (c === 46) {
        n = n * 256 + o;
        o = 0;
      } else o = o * 10 + (c - 48);
    }
    n = n * 256 + o;
    // 9 hex digits with a leading 1: fixed width, so text order is numeric order.
    return `4${(n + 0x100000000).toString(16)}`;
  }
  return `6${addrToBytes(addr).toString('hex')}`;
}

/** `/32` or `/128` host prefix of an address. */
export function hostPrefix(addr: string, family: IpFamilyName): string {
  return `${addr}/${family === 'IPv4' ? 32 : 128}`;
}

/** The parsed ranges the VIP validation reads. */
export interface VipRanges {
  serviceCidrs: Cidr[];
  externalIpRanges: Cidr[];
  loadBalancerRanges: Cidr[];
  strict: boolean;
}

/**
 * Why an externalIP is rejected, or '' when it is accepted. kube-router:
 * never inside the service cluster IP range; with strict validation (the
 * default) only inside --service-external-ip-range, and no range rejects all.
 */
export function externalIpRejection(addr: string, r: VipRanges): string {
  if (inAnyCidr(addr, r.serviceCidrs)) return 'inside --service-cluster-ip-range';
  if (!r.strict) return '';
  if (r.externalIpRanges.length === 0) return 'no --service-external-ip-range configured (strict validation)';
  if (!inAnyCidr(addr, r.externalIpRanges)) return 'outside --service-external-ip-range';
  return '';
}

/** Why a LoadBalancer ingress IP is rejected, or '' when it is accepted. */
export function loadBalancerIpRejection(addr: string, r: VipRanges): string {
  if (!r.strict) return '';
  if (r.loadBalancerRanges.length === 0) return 'no --loadbalancer-ip-range configured (strict validation)';
  if (!inAnyCidr(addr, r.loadBalancerRanges)) return 'outside --loadbalancer-ip-range';
  return '';
}
