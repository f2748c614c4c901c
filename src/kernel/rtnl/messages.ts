// Pure conversions between our rtnl value types and the `netlink` package's
// rtnetlink message objects (it parses known enum values into names and
// leaves unknown ones as numbers: normalised here to numbers).

import { AttrStream, ifla, rt } from 'netlink';
import { AF_INET, AF_INET6, type AddressFamily, addrToBytes, bytesToAddr, familyOf } from './inet.js';
import {
  FR_ACT,
  RT_SCOPE,
  RTN,
  RTPROT_KUBE_ROUTER,
  RT_TABLE_MAIN,
  parsePrefix,
  type IfAddr,
  type IfAddrEntry,
  type TunnelOptions,
  type Link,
  type RouteEntry,
  type RouteSpec,
  type RuleEntry,
  type RuleSpec,
} from './types.js';

/** A name or number from the package's enum parsing, as a number. */
export function enumNum(mapping: Record<string, string | number>, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && typeof mapping[v] === 'number') return mapping[v] as number;
  return 0;
}

function streamBuffer(data: Parameters<AttrStream['emit']>[0]): Buffer {
  const s = new AttrStream();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

// ------------------------------------------------------------------ links

export function toLink(m: rt.LinkMessage): Link {
  let kind = '';
  if (m.attrs.linkinfo) {
    try {
      kind = ifla.parseInfo(m.attrs.linkinfo).kind ?? '';
    } catch {
      kind = '';
    }
  }
  return {
    index: m.data.index ?? 0,
    name: m.attrs.ifname ?? '',
    kind,
    up: Boolean(m.data.flags?.up),
    mtu: m.attrs.mtu ?? 0,
  };
}

/** IFLA_LINKINFO for a dummy link. */
export function dummyLinkInfo(): Buffer {
  return streamBuffer(ifla.formatInfo({ kind: 'dummy' }));
}

/** IFLA_LINKINFO for a tunnel link of `o.mode` (ipip by default). */
export function tunnelLinkInfo(o: TunnelOptions): Buffer {
  return o.mode === 'ip6ip6' ? ip6tnlLinkInfo(o) : ipipLinkInfo(o);
}

/**
 * IFLA_LINKINFO for an ipip link. The package's `Iptun.local/remote` are
 * numbers written with putU32 (host order) while the kernel field is a
 * big-endian address, so pass the address bytes read in host order.
 */
function ipipLinkInfo(o: TunnelOptions): Buffer {
  const asHostU32 = (a: string): number => {
    if (a === '') return 0;
    // An IPv6 endpoint would be cut to its first 4 bytes: refuse it.
    if (familyOf(a) !== AF_INET) throw new TypeError(`ipip tunnel endpoint '${a}' is not an IPv4 address`);
    return addrToBytes(a).readUInt32LE(0);
  };
  const data = streamBuffer(
    ifla.formatIptun({
      local: asHostU32(o.local),
      remote: asHostU32(o.remote),
      ttl: o.ttl ?? 0,
      pmtudisc: o.pmtudisc === false ? 0 : 1,
    }),
  );
  return streamBuffer(ifla.formatInfo({ kind: 'ipip', data }));
}

// IFLA_IPTUN_* (linux/if_tunnel.h); ip6tnl reads LOCAL/REMOTE as 16-byte in6_addr.
const IFLA_IPTUN_LOCAL = 2;
const IFLA_IPTUN_REMOTE = 3;
const IFLA_IPTUN_TTL = 4;
const IFLA_IPTUN_ENCAP_LIMIT = 6;
const IFLA_IPTUN_PROTO = 9;
const IPPROTO_IPV6 = 41;
/** The kernel's IPV6_DEFAULT_TNL_ENCAP_LIMIT, which `ip -6 tunnel` also sets. */
const DEFAULT_ENCAP_LIMIT = 4;

function nlattr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

/**
 * IFLA_LINKINFO for an ip6tnl link in ip6ip6 mode (`ip link add NAME type
 * ip6tnl mode ip6ip6 local L remote R`). The netlink package's Iptun type
 * only has 4-byte addresses, so the IFLA_INFO_DATA attributes are written
 * here.
 */
function ip6tnlLinkInfo(o: TunnelOptions): Buffer {
  const addr = (a: string, what: string): Buffer => {
    if (a === '') return Buffer.alloc(16);
    if (familyOf(a) !== AF_INET6) throw new TypeError(`ip6ip6 tunnel ${what} '${a}' is not an IPv6 address`);
    return addrToBytes(a);
  };
  const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
  const data = Buffer.concat([
    nlattr(IFLA_IPTUN_LOCAL, addr(o.local, 'local')),
    nlattr(IFLA_IPTUN_REMOTE, addr(o.remote, 'remote')),
    nlattr(IFLA_IPTUN_TTL, u8(o.ttl ?? 64)),
    nlattr(IFLA_IPTUN_ENCAP_LIMIT, u8(DEFAULT_ENCAP_LIMIT)),
    nlattr(IFLA_IPTUN_PROTO, u8(IPPROTO_IPV6)),
  ]);
  return streamBuffer(ifla.formatInfo({ kind: 'ip6tnl', data }));
}

/** The endpoints of an ip6tnl IFLA_LINKINFO (for tests). */
export function parseIp6tnlLinkInfo(info: Buffer): { kind: string; local: string; remote: string; proto: number } {
  const i = ifla.parseInfo(info);
  const out = { kind: i.kind ?? '', local: '', remote: '', proto: 0 };
  const d = i.data;
  for (let off = 0; d && off + 4 <= d.length; ) {
    const len = d.readUInt16LE(off);
    const type = d.readUInt16LE(off + 2);
    if (len < 4) break;
    const v = d.subarray(off + 4, off + len);
    if (type === IFLA_IPTUN_LOCAL && v.length === 16) out.local = bytesToAddr(v, AF_INET6);
    if (type === IFLA_IPTUN_REMOTE && v.length === 16) out.remote = bytesToAddr(v, AF_INET6);
    if (type === IFLA_IPTUN_PROTO && v.length >= 1) out.proto = v[0];
    off += (len + 3) & ~3;
  }
  return out;
}

/** The tunnel endpoints of an ipip IFLA_LINKINFO (for tests and checks). */
export function parseIpipLinkInfo(info: Buffer): { local: string; remote: string; ttl: number } {
  const i = ifla.parseInfo(info);
  const t = i.data ? ifla.parseIptun(i.data) : {};
  const text = (n: number | undefined): string => {
    if (!n) return '';
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0, 0);
    return bytesToAddr(b, AF_INET);
  };
  return { local: text(t.local), remote: text(t.remote), ttl: t.ttl ?? 0 };
}

// -------------------------------------------------------------- addresses

export function toIfAddr(m: rt.AddressMessage): IfAddrEntry | undefined {
  const family = m.data.family;
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const raw = family === AF_INET ? m.attrs.local ?? m.attrs.address : m.attrs.address ?? m.attrs.local;
  if (!raw) return undefined;
  return {
    family,
    address: bytesToAddr(raw, family),
    prefixLen: m.data.prefixlen ?? 0,
    scope: m.data.scope ?? 0,
    linkIndex: m.data.index ?? 0,
  };
}

export function addrRequest(index: number, a: Pick<IfAddr, 'address' | 'prefixLen'> & { scope?: number }): { data: rt.Address; attrs: rt.AddressAttrs } {
  const family = familyOf(a.address);
  if (family === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(a.address)}`);
  const bytes = addrToBytes(a.address);
  return {
    data: { family, prefixlen: a.prefixLen, scope: a.scope ?? 0, index, flags: family === AF_INET6 ? { nodad: true } : {} },
    attrs: family === AF_INET ? { local: bytes, address: bytes } : { address: bytes },
  };
}

// ----------------------------------------------------------------- routes

function prefixText(raw: Buffer | undefined, len: number, family: AddressFamily): string {
  const addr = raw ? bytesToAddr(raw, family) : family === AF_INET ? '0.0.0.0' : '::';
  return `${addr}/${len}`;
}

export function toRouteEntry(m: rt.RouteMessage): RouteEntry | undefined {
  const family = m.data.family;
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  return {
    family,
    dst: prefixText(m.attrs.dst, m.data.dstLen ?? 0, family),
    table: m.attrs.table ?? m.data.table ?? 0,
    protocol: enumNum(rt.RouteProtocol as unknown as Record<string, number>, m.data.protocol),
    scope: enumNum(rt.RouteScope as unknown as Record<string, number>, m.data.scope),
    type: enumNum(rt.RouteType as unknown as Record<string, number>, m.data.type),
    gateway: m.attrs.gateway ? bytesToAddr(m.attrs.gateway, family) : '',
    oif: m.attrs.oif ?? 0,
    src: m.attrs.prefsrc ? bytesToAddr(m.attrs.prefsrc, family) : '',
    priority: m.attrs.priority ?? 0,
  };
}

/**
 * RTM_NEWROUTE / RTM_DELROUTE contents. For a delete, an unspecified scope
 * is RT_SCOPE_NOWHERE ("any", as `ip route del` sends) and type is left
 * unspecified so the kernel matches any.
 */
export function routeRequest(r: RouteSpec, oif: number, forDelete: boolean): { data: rt.Route; attrs: rt.RouteAttrs } {
  const p = parsePrefix(r.dst);
  const family = familyOf(p.address);
  if (family === undefined) throw new TypeError(`bad route destination ${JSON.stringify(r.dst)}`);
  const table = r.table ?? RT_TABLE_MAIN;
  const type = r.type ?? (forDelete ? 0 : RTN.unicast);
  const scope =
    r.scope ??
    (forDelete ? RT_SCOPE.nowhere : type === RTN.local ? RT_SCOPE.host : r.gateway || type !== RTN.unicast ? RT_SCOPE.universe : RT_SCOPE.link);
  const attrs: rt.RouteAttrs = { table };
  if (p.len > 0) attrs.dst = addrToBytes(p.address);
  if (r.gateway) attrs.gateway = addrToBytes(r.gateway);
  if (oif) attrs.oif = oif;
  if (r.src) attrs.prefsrc = addrToBytes(r.src);
  if (r.priority) attrs.priority = r.priority;
  return {
    data: { family, dstLen: p.len, table: table < 256 ? table : 0, protocol: r.protocol ?? RTPROT_KUBE_ROUTER, scope, type },
    attrs,
  };
}

// ------------------------------------------------------------------ rules

export function toRuleEntry(m: rt.RuleMessage): RuleEntry | undefined {
  const family = m.data.family;
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const net = (raw: Buffer | undefined, len: number | undefined): string => (raw && len ? `${bytesToAddr(raw, family)}/${len}` : '');
  return {
    family,
    priority: m.attrs.priority ?? 0,
    table: m.attrs.table ?? m.data.table ?? 0,
    action: enumNum(rt.RuleAction as unknown as Record<string, number>, m.data.action),
    src: net(m.attrs.src, m.data.srcLen),
    dst: net(m.attrs.dst, m.data.dstLen),
    fwmark: m.attrs.fwmark ?? 0,
    fwmask: m.attrs.fwmask ?? 0,
    iif: m.attrs.iifname ?? '',
    oif: m.attrs.oifname ?? '',
  };
}

export function ruleRequest(r: RuleSpec): { data: rt.Rule; attrs: rt.RuleAttrs } {
  const attrs: rt.RuleAttrs = { priority: r.priority, table: r.table };
  const data: rt.Rule = { family: r.family, table: r.table < 256 ? r.table : 0, action: r.action ?? FR_ACT.toTable };
  if (r.src) {
    const p = parsePrefix(r.src, r.family);
    attrs.src = addrToBytes(p.address);
    data.srcLen = p.len;
  }
  if (r.dst) {
    const p = parsePrefix(r.dst, r.family);
    attrs.dst = addrToBytes(p.address);
    data.dstLen = p.len;
  }
  if (r.fwmark !== undefined) attrs.fwmark = r.fwmark;
  if (r.fwmask !== undefined) attrs.fwmask = r.fwmask;
  if (r.iif) attrs.iifname = r.iif;
  if (r.oif) attrs.oifname = r.oif;
  return { data, attrs };
}
