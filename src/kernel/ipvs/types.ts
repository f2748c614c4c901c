// The IPVS kernel interface, kernel-shaped and small (kube-proxy's
// pkg/proxy/ipvs/util/ipvs.go is the model), and its value types. Two
// implementations: linux.ts (generic netlink) and fake.ts (in memory).

import { AF_INET, AF_INET6, type AddressFamily, addrToBytes, canonicalAddr, compareAddr, familyOf, hostPort } from '../rtnl/inet.js';
import { SvcFlag } from './attrs.js';

export type { AddressFamily } from '../rtnl/inet.js';
export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP';
export type FwdMethod = 'masq' | 'local' | 'tunnel' | 'route' | 'bypass';

/**
 * A virtual service as we write it. Identity (see `serviceKey`): `af` plus
 * either `fwmark` (when non-zero) or `protocol + address + port`.
 */
export interface IpvsService {
  af: AddressFamily;
  /** For fwmark services the kernel stores TCP; we do the same. */
  protocol: IpvsProtocol;
  /** Canonical text address; `''` for a fwmark service. */
  address: string;
  /** 0 for a fwmark service. */
  port: number;
  /** 0 unless a fwmark service. */
  fwmark: number;
  scheduler: string;
  /** `IP_VS_SVC_F_*` (`SvcFlag`) without HASHED, which only the kernel sets. */
  flags: number;
  /** Persistence timeout in seconds (with `SvcFlag.PERSISTENT`); 0 otherwise. */
  timeout: number;
  /** Persistence netmask as a prefix length: 32 (IPv4) / 128 (IPv6) by default. */
  netmask: number;
  /** Persistence engine (`sip`), `''` for none. */
  peName: string;
}

/** Counters as `ipvsadm -Ln --stats --rate` shows them (from STATS64 when present). */
export interface IpvsStats {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

/** A service read back from the kernel. */
export interface IpvsServiceEntry extends IpvsService {
  stats: IpvsStats;
}

/** A real server as we write it. Identity: `address + port` within its service. */
export interface IpvsDestination {
  /** Canonical text address (its family may differ from the service's only for tunnels). */
  address: string;
  port: number;
  fwdMethod: FwdMethod;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  /** Tunnel type (`TunType`), port and flags for `tunnel`; 0 otherwise. */
  tunType: number;
  tunPort: number;
  tunFlags: number;
}

/** A destination read back from the kernel. */
export interface IpvsDestinationEntry extends IpvsDestination {
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats: IpvsStats;
}

export interface IpvsServiceWithDestinations {
  service: IpvsServiceEntry;
  destinations: IpvsDestinationEntry[];
}

export interface IpvsInfo {
  /** `1.2.1` */
  version: string;
  connTabSize: number;
}

/** Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`); 0 = leave unchanged. */
export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/** One mutation of a batch (`Ipvs.apply`). */
export type IpvsOp =
  | { op: 'addService'; service: IpvsService }
  | { op: 'updateService'; service: IpvsService }
  | { op: 'deleteService'; service: IpvsService }
  | { op: 'addDestination'; service: IpvsService; destination: IpvsDestination }
  | { op: 'updateDestination'; service: IpvsService; destination: IpvsDestination }
  | { op: 'deleteDestination'; service: IpvsService; destination: IpvsDestination };

export interface IpvsBatchResult {
  /** Operations the kernel accepted. */
  applied: number;
  /** Failed operations, by index into the batch, in order. Every operation is attempted. */
  errors: Array<{ index: number; op: IpvsOp; error: Error }>;
}

/**
 * The IPVS table of one network namespace. Listings are sorted (services by
 * `compareServices`, destinations by address then port). Errors are
 * `IpvsError`s carrying the kernel's errno (EEXIST on a duplicate add, ESRCH
 * on a missing service, ENOENT on a missing destination or scheduler).
 * Destinations of a missing service list as `[]`, as the kernel dumps them.
 */
export interface Ipvs {
  listServices(): Promise<IpvsServiceEntry[]>;
  listDestinations(service: IpvsService): Promise<IpvsDestinationEntry[]>;
  /** One service by identity (GET_SERVICE without a dump), undefined when absent: a read that does not grow with the table. */
  getService(service: IpvsService): Promise<IpvsServiceEntry | undefined>;
  /** Every service with its destinations. */
  listAll(): Promise<IpvsServiceWithDestinations[]>;
  addService(service: IpvsService): Promise<void>;
  updateService(service: IpvsService): Promise<void>;
  deleteService(service: IpvsService): Promise<void>;
  addDestination(service: IpvsService, destination: IpvsDestination): Promise<void>;
  updateDestination(service: IpvsService, destination: IpvsDestination): Promise<void>;
  deleteDestination(service: IpvsService, destination: IpvsDestination): Promise<void>;
  /** Many mutations at once (pipelined over one socket on Linux), in order. */
  apply(ops: readonly IpvsOp[]): Promise<IpvsBatchResult>;
  getInfo(): Promise<IpvsInfo>;
  getTimeouts(): Promise<IpvsTimeouts>;
  setTimeouts(t: Partial<IpvsTimeouts>): Promise<void>;
  /** Removes every service. Only for --cleanup-config. */
  flush(): Promise<void>;
  close(): void;
}

const PROTO_ORDER: Record<IpvsProtocol, number> = { TCP: 0, UDP: 1, SCTP: 2 };

// ---------------------------------------------------------------- builders

export interface ServiceInit {
  protocol?: IpvsProtocol;
  address?: string;
  port?: number;
  fwmark?: number;
  af?: AddressFamily;
  scheduler?: string;
  flags?: number;
  timeout?: number;
  netmask?: number;
  peName?: string;
}

/** A service with kernel defaults filled in (rr, no flags, full netmask). */
export function ipvsService(init: ServiceInit): IpvsService {
  const fwmark = init.fwmark ?? 0;
  const address = fwmark ? '' : canonicalAddr(init.address ?? '');
  const af = init.af ?? (fwmark ? AF_INET : familyOf(address) ?? AF_INET);
  return {
    af,
    protocol: fwmark ? 'TCP' : init.protocol ?? 'TCP',
    address,
    port: fwmark ? 0 : init.port ?? 0,
    fwmark,
    scheduler: init.scheduler ?? 'rr',
    flags: (init.flags ?? 0) & ~SvcFlag.HASHED,
    timeout: init.timeout ?? 0,
    netmask: init.netmask ?? (af === AF_INET6 ? 128 : 32),
    peName: init.peName ?? '',
  };
}

export interface DestinationInit {
  address: string;
  port: number;
  fwdMethod?: FwdMethod;
  weight?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
  tunType?: number;
  tunPort?: number;
  tunFlags?: number;
}

/** A destination with defaults (masq, weight 1, no thresholds). */
export function ipvsDestination(init: DestinationInit): IpvsDestination {
  return {
    address: canonicalAddr(init.address),
    port: init.port,
    fwdMethod: init.fwdMethod ?? 'masq',
    weight: init.weight ?? 1,
    upperThreshold: init.upperThreshold ?? 0,
    lowerThreshold: init.lowerThreshold ?? 0,
    tunType: init.tunType ?? 0,
    tunPort: init.tunPort ?? 0,
    tunFlags: init.tunFlags ?? 0,
  };
}

export function zeroStats(): IpvsStats {
  return { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
}

// ---------------------------------------------------------------- identity

/** Identity of a service: `TCP 10.96.0.10:53`, `UDP [fd00::a]:53`, `FWM 7 IPv4`. */
export function serviceKey(s: Pick<IpvsService, 'af' | 'protocol' | 'address' | 'port' | 'fwmark'>): string {
  if (s.fwmark) return `FWM ${s.fwmark} ${s.af === AF_INET6 ? 'IPv6' : 'IPv4'}`;
  return `${s.protocol} ${hostPort(s.address, s.port)}`;
}

/** The identity fields of a `serviceKey` (a service with kernel defaults otherwise), undefined for text that is not one. */
export function parseServiceKey(key: string): IpvsService | undefined {
  const fwm = /^FWM (\d+) (IPv4|IPv6)$/.exec(key);
  if (fwm) return ipvsService({ fwmark: Number(fwm[1]), af: fwm[2] === 'IPv6' ? AF_INET6 : AF_INET });
  const m = /^(TCP|UDP|SCTP) (?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/.exec(key);
  if (!m) return undefined;
  const address = m[2] ?? m[3];
  if (familyOf(address) === undefined) return undefined;
  return ipvsService({ protocol: m[1] as IpvsProtocol, address, port: Number(m[4]) });
}

/** Identity of a destination within its service: `10.244.1.5:53`. */
export function destinationKey(d: Pick<IpvsDestination, 'address' | 'port'>): string {
  return hostPort(d.address, d.port);
}

/** As ipvsadm and error messages render a service. */
export const renderService = serviceKey;

/** `-> 10.244.1.5:53` */
export function renderDestination(d: Pick<IpvsDestination, 'address' | 'port'>): string {
  return `-> ${destinationKey(d)}`;
}

/** Same identity and same configuration (stats and connection counts are not compared). */
export function serviceEqual(a: IpvsService, b: IpvsService): boolean {
  return (
    serviceKey(a) === serviceKey(b) &&
    a.af === b.af &&
    a.scheduler === b.scheduler &&
    (a.flags & ~SvcFlag.HASHED) === (b.flags & ~SvcFlag.HASHED) &&
    a.timeout === b.timeout &&
    a.netmask === b.netmask &&
    a.peName === b.peName
  );
}

export function destinationEqual(a: IpvsDestination, b: IpvsDestination): boolean {
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.fwdMethod === b.fwdMethod &&
    a.weight === b.weight &&
    a.upperThreshold === b.upperThreshold &&
    a.lowerThreshold === b.lowerThreshold &&
    a.tunType === b.tunType &&
    a.tunPort === b.tunPort &&
    a.tunFlags === b.tunFlags
  );
}

/** Order of listings: address services by family, address, protocol, port; fwmark services last. */
export function compareServices(a: IpvsService, b: IpvsService): number {
  if (!a.fwmark !== !b.fwmark) return a.fwmark ? 1 : -1;
  if (a.fwmark) return a.af - b.af || a.fwmark - b.fwmark;
  return compareAddr(a.address, b.address) || PROTO_ORDER[a.protocol] - PROTO_ORDER[b.protocol] || a.port - b.port;
}

export function compareDestinations(a: IpvsDestination, b: IpvsDestination): number {
  return compareAddr(a.address, b.address) || a.port - b.port;
}

// Sorting a listing with the comparators above parses both addresses on every
// comparison (about 1 s for 10,000 services on this machine's host CPU, ten
// times that under the lab's emulation); these compute one string key per
// entry instead, whose plain string order is the comparators' order.

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Family digit then the address bytes in hex (compareAddr's order); text after '0' for a non-address. */
function addrSortKey(text: string): string {
  const f = familyOf(text);
  if (f === undefined) return `0${text}\u0000`;
  let out = f === AF_INET ? '4' : '6';
  for (const b of addrToBytes(text)) out += hex(b, 2);
  return out;
}

function serviceSortKey(s: IpvsService): string {
  if (s.fwmark) return `1${hex(s.af, 2)}${hex(s.fwmark >>> 0, 8)}`;
  return `0${addrSortKey(s.address)}${PROTO_ORDER[s.protocol]}${hex(s.port, 4)}`;
}

function destinationSortKey(d: IpvsDestination): string {
  return `${addrSortKey(d.address)}${hex(d.port, 4)}`;
}

function sortByKey<T>(list: readonly T[], key: (x: T) => string): T[] {
  const keyed = list.map((x) => ({ k: key(x), x }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((e) => e.x);
}

/** A new array in `compareServices` order, one key per service. */
export function sortServices<T extends IpvsService>(list: readonly T[]): T[] {
  return sortByKey(list, serviceSortKey);
}

/** A new array in `compareDestinations` order, one key per destination. */
export function sortDestinations<T extends IpvsDestination>(list: readonly T[]): T[] {
  return list.length < 2 ? [...list] : sortByKey(list, destinationSortKey);
}

/** Only the configuration fields of a listed service (drops stats). */
export function serviceConfig(s: IpvsService): IpvsService {
  const { af, protocol, address, port, fwmark, scheduler, flags, timeout, netmask, peName } = s;
  return { af, protocol, address, port, fwmark, scheduler, flags, timeout, netmask, peName };
}

/** Only the configuration fields of a listed destination (drops counters). */
export function destinationConfig(d: IpvsDestination): IpvsDestination {
  const { address, port, fwdMethod, weight, upperThreshold, lowerThreshold, tunType, tunPort, tunFlags } = d;
  return { address, port, fwdMethod, weight, upperThreshold, lowerThreshold, tunType, tunPort, tunFlags };
}
