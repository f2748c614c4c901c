// Links, addresses, routes and policy rules of one network namespace, the
// way kube-router needs them (kube-dummy-if holding service VIPs, routes of
// its own protocol 0x11, rules for tables 77/78/79, ipip tunnels). Kernel-
// shaped interface and value types; linux.ts (rtnetlink) and fake.ts.

import { AF_INET6, type AddressFamily, compareAddr } from './inet.js';

/** kube-router's route protocol (`ip route ... proto 0x11`), how we recognise our routes. */
export const RTPROT_KUBE_ROUTER = 0x11;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
export const RT_SCOPE = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export const RTN = { unicast: 1, local: 2, broadcast: 3, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9 } as const;
export const FR_ACT = { toTable: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 } as const;

/** A link by name (`kube-dummy-if`) or index. */
export type LinkRef = string | number;

export interface Link {
  index: number;
  name: string;
  /** `dummy`, `ipip`, `veth`, `bridge`, ... ; '' for a link without IFLA_INFO_KIND (lo, physical). */
  kind: string;
  up: boolean;
  mtu: number;
}

/** `ipip` (IPv4 in IPv4, kind ipip) or `ip6ip6` (IPv6 in IPv6, kind ip6tnl), as kube-router's overlay. */
export type TunnelMode = 'ipip' | 'ip6ip6';

export interface TunnelOptions {
  /** Default ipip. The endpoints must be of the mode's family. */
  mode?: TunnelMode;
  /** Tunnel source, our node IP; '' for any. */
  local: string;
  /** Tunnel remote; '' for an any-remote (collect) tunnel. */
  remote: string;
  /** TTL (ipip) or hop limit (ip6ip6); default: inherit (ipip), 64 (ip6ip6, as `ip` does). */
  ttl?: number;
  /** Path MTU discovery (ipip only), default on (as `ip link add ... type ipip` does). */
  pmtudisc?: boolean;
}

/** An address on a link: `10.96.0.10/32`. */
export interface IfAddr {
  address: string;
  prefixLen: number;
  /** RT_SCOPE_*; kube-router binds VIPs with scope link. */
  scope: number;
}

export interface IfAddrEntry extends IfAddr {
  family: AddressFamily;
  linkIndex: number;
}

export interface RouteSpec {
  /** Destination network, `10.244.1.0/24`, `fd00::/64`, `0.0.0.0/0`. */
  dst: string;
  /** Default main (254). */
  table?: number;
  /** Default RTPROT_KUBE_ROUTER. */
  protocol?: number;
  /** Default universe (0) with a gateway, link (253) without one. */
  scope?: number;
  /** RTN_*, default unicast. */
  type?: number;
  gateway?: string;
  /** Output link. */
  oif?: LinkRef;
  /** Preferred source (`src` in `ip route`). */
  src?: string;
  /** Metric. */
  priority?: number;
}

export interface RouteEntry {
  family: AddressFamily;
  dst: string;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  gateway: string;
  /** Output link index, 0 if none. */
  oif: number;
  src: string;
  priority: number;
}

export interface RuleSpec {
  family: AddressFamily;
  /** `pref` / `priority`. Required: rules are identified by it. */
  priority: number;
  table: number;
  /** FR_ACT_*, default to-table. */
  action?: number;
  /** `from` network; '' or absent = all. */
  src?: string;
  /** `to` network. */
  dst?: string;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
}

export interface RuleEntry {
  family: AddressFamily;
  priority: number;
  table: number;
  action: number;
  src: string;
  dst: string;
  fwmark: number;
  fwmask: number;
  iif: string;
  oif: string;
}

export interface AddressSyncResult {
  added: string[];
  removed: string[];
}

/** One route write of a batch (Rtnl.writeRoutes). */
export interface RouteWrite {
  op: 'replace' | 'delete';
  route: RouteSpec;
}

export interface Rtnl {
  listLinks(): Promise<Link[]>;
  /** undefined when there is no such link. */
  getLink(link: LinkRef): Promise<Link | undefined>;
  /** Creates the dummy link if missing and sets it up. */
  ensureDummyLink(name: string): Promise<Link>;
  setLinkUp(link: LinkRef, up: boolean): Promise<void>;
  /** Deletes a link; false if there was none. */
  deleteLink(link: LinkRef): Promise<boolean>;
  /** Creates an ipip or ip6tnl (ip6ip6) tunnel link (up) if missing; an existing link of that name is left as it is. */
  ensureTunnel(name: string, opts: TunnelOptions): Promise<Link>;

  /** Addresses on a link, sorted; IPv6 link-local (fe80::/10) ones included. */
  listAddresses(link: LinkRef): Promise<IfAddrEntry[]>;
  /** EEXIST if present. */
  addAddress(link: LinkRef, addr: IfAddr): Promise<void>;
  /** EADDRNOTAVAIL if absent. */
  deleteAddress(link: LinkRef, addr: Pick<IfAddr, 'address' | 'prefixLen'>): Promise<void>;
  /**
   * Makes the link's addresses exactly `desired` (by address/prefix) in one
   * pass: missing ones added, extra ones removed. IPv6 link-local addresses
   * (the kernel's own) are never removed.
   */
  syncAddresses(link: LinkRef, desired: readonly IfAddr[]): Promise<AddressSyncResult>;

  /** Routes of a family, optionally only one table and/or protocol, sorted by table then dst. */
  listRoutes(filter: { family: AddressFamily; table?: number; protocol?: number }): Promise<RouteEntry[]>;
  /** EEXIST if a route with the same dst, table and metric exists. */
  addRoute(route: RouteSpec): Promise<void>;
  /** Adds or replaces (`ip route replace`). */
  replaceRoute(route: RouteSpec): Promise<void>;
  /** ESRCH if absent. Matches on dst, table, protocol and the other given fields. */
  deleteRoute(route: RouteSpec): Promise<void>;
  /**
   * Route replaces and deletes packed into few datagrams (one round trip per
   * chunk, not per route), in order; one result per write: undefined when
   * done, the error (as replaceRoute / deleteRoute would throw it) otherwise.
   * Optional: callers without it write route by route.
   */
  writeRoutes?(writes: readonly RouteWrite[]): Promise<(Error | undefined)[]>;

  /** Policy rules of a family, sorted by priority. */
  listRules(family: AddressFamily): Promise<RuleEntry[]>;
  /** EEXIST if an identical rule exists. */
  addRule(rule: RuleSpec): Promise<void>;
  /** ENOENT if absent. */
  deleteRule(rule: RuleSpec): Promise<void>;

  close(): void;
}

// ---------------------------------------------------------------- helpers

export function addrKey(a: Pick<IfAddr, 'address' | 'prefixLen'>): string {
  return `${a.address}/${a.prefixLen}`;
}

export function isIpv6LinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

export function compareAddrs(a: Pick<IfAddr, 'address' | 'prefixLen'>, b: Pick<IfAddr, 'address' | 'prefixLen'>): number {
  return compareAddr(a.address, b.address) || a.prefixLen - b.prefixLen;
}

/** The part of a sync that has to change: what to add and what to remove. */
export function planAddressSync(current: readonly IfAddr[], desired: readonly IfAddr[]): { add: IfAddr[]; remove: IfAddr[] } {
  const want = new Map(desired.map((a) => [addrKey(a), a]));
  const have = new Set(current.map(addrKey));
  return {
    add: [...want.values()].filter((a) => !have.has(addrKey(a))).sort(compareAddrs),
    remove: current.filter((a) => !want.has(addrKey(a)) && !isIpv6LinkLocal(a.address)).sort(compareAddrs),
  };
}

/** `10.244.1.0/24`, `fd00::/64`; a bare address means a host route. */
export function parsePrefix(text: string, family?: AddressFamily): { address: string; len: number } {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const v6 = address.includes(':') || family === AF_INET6;
  const len = slash < 0 ? (v6 ? 128 : 32) : Number(text.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > (v6 ? 128 : 32)) throw new TypeError(`bad prefix ${JSON.stringify(text)}`);
  return { address, len };
}

export function routeKey(r: Pick<RouteEntry, 'table' | 'dst' | 'priority'>): string {
  return `${r.table} ${r.dst} ${r.priority}`;
}

export function compareRoutes(a: RouteEntry, b: RouteEntry): number {
  if (a.table !== b.table) return a.table - b.table;
  const pa = parsePrefix(a.dst);
  const pb = parsePrefix(b.dst);
  return compareAddr(pa.address, pb.address) || pa.len - pb.len || a.priority - b.priority;
}

export function ruleKey(r: RuleEntry): string {
  return [r.family, r.priority, r.table, r.action, r.src, r.dst, r.fwmark, r.fwmask, r.iif, r.oif].join(' ');
}

export function ruleEntry(r: RuleSpec): RuleEntry {
  return {
    family: r.family,
    priority: r.priority,
    table: r.table,
    action: r.action ?? FR_ACT.toTable,
    src: r.src ?? '',
    dst: r.dst ?? '',
    fwmark: r.fwmark ?? 0,
    fwmask: r.fwmask ?? (r.fwmark ? 0xffffffff : 0),
    iif: r.iif ?? '',
    oif: r.oif ?? '',
  };
}
