// Encoder/decoder of the kernel's IPVS generic-netlink messages. No JS library
// covers IPVS, so this is hand-written on top of the `netlink` package's
// AttrStream / parseAttributes, following /usr/include/linux/ip_vs.h and
// net/netfilter/ipvs/ip_vs_ctl.c (attribute order as ip_vs_genl_fill_*).
// Pure: bytes in, values out. Output is laid out as the kernel lays out its
// own messages: every attribute padded to 4 bytes, nests included.
//
// A "payload" here is what follows the 16-byte nlmsghdr: the 4-byte genl
// header then the attributes.

import { endianness } from 'node:os';
import { parseGenlHeader } from 'netlink';
import { AF_INET, AF_INET6, type AddressFamily, bytesToAddr } from '../rtnl/inet.js';
import {
  Cmd,
  CmdAttr,
  DestAttr,
  FWD_MASK,
  FwdMethodCode,
  InfoAttr,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IP_VS_PENAME_MAXLEN,
  IP_VS_SCHEDNAME_MAXLEN,
  IPVS_GENL_VERSION,
  StatsAttr,
  SvcAttr,
  SvcFlag,
} from './attrs.js';
import type {
  FwdMethod,
  IpvsDestination,
  IpvsDestinationEntry,
  IpvsInfo,
  IpvsProtocol,
  IpvsService,
  IpvsServiceEntry,
  IpvsStats,
  IpvsTimeouts,
} from './types.js';
import { zeroStats } from './types.js';
import { AttrWriter } from '../netlink/attr-writer.js';
import { cstring, hostU16, hostU32, readAttrs, type AttrList } from '../netlink/attr-reader.js';

export class IpvsDecodeError extends Error {
  constructor(message: string) {
    super(`IPVS decode: ${message}`);
    this.name = 'IpvsDecodeError';
  }
}

const PROTO_NUM: Record<IpvsProtocol, number> = { TCP: IPPROTO_TCP, UDP: IPPROTO_UDP, SCTP: IPPROTO_SCTP };
const PROTO_NAME = new Map<number, IpvsProtocol>([
  [IPPROTO_TCP, 'TCP'],
  [IPPROTO_UDP, 'UDP'],
  [IPPROTO_SCTP, 'SCTP'],
]);
const FWD_NAME = new Map<number, FwdMethod>(Object.entries(FwdMethodCode).map(([k, v]) => [v, k as FwdMethod]));

// ------------------------------------------------------------------ writing
// Straight into one buffer per message (writer.ts): the same bytes as an
// AttrStream would lay out, without an allocation per attribute.

function netmaskAttr(w: AttrWriter, af: AddressFamily, bits: number): void {
  if (af === AF_INET6) return w.u32(SvcAttr.NETMASK, bits); // IPv6: the prefix length as a host-order u32
  const mask = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  w.u32be(SvcAttr.NETMASK, mask);
}

function putServiceAttrs(w: AttrWriter, s: IpvsService, full: boolean): void {
  w.u16(SvcAttr.AF, s.af);
  if (s.fwmark) {
    w.u32(SvcAttr.FWMARK, s.fwmark);
  } else {
    w.u16(SvcAttr.PROTOCOL, PROTO_NUM[s.protocol]);
    w.inetAddr(SvcAttr.ADDR, s.address);
    w.u16be(SvcAttr.PORT, s.port);
  }
  if (!full) return;
  w.string(SvcAttr.SCHED_NAME, s.scheduler, IP_VS_SCHEDNAME_MAXLEN);
  if (s.peName) w.string(SvcAttr.PE_NAME, s.peName, IP_VS_PENAME_MAXLEN);
  // struct ip_vs_flags { flags; mask }: the mask covers every flag, all are ours to set.
  w.u32s(SvcAttr.FLAGS, (s.flags & ~SvcFlag.HASHED) >>> 0, 0xffffffff);
  w.u32(SvcAttr.TIMEOUT, s.timeout);
  netmaskAttr(w, s.af, s.netmask);
}

function putDestAttrs(w: AttrWriter, d: IpvsDestination, full: boolean): void {
  const af = w.inetAddr(DestAttr.ADDR, d.address);
  w.u16be(DestAttr.PORT, d.port);
  if (full) {
    w.u32(DestAttr.FWD_METHOD, FwdMethodCode[d.fwdMethod]);
    w.u32(DestAttr.WEIGHT, d.weight);
    if (d.fwdMethod === 'tunnel') {
      w.u8(DestAttr.TUN_TYPE, d.tunType);
      w.u16be(DestAttr.TUN_PORT, d.tunPort);
      w.u16(DestAttr.TUN_FLAGS, d.tunFlags);
    }
    w.u32(DestAttr.U_THRESH, d.upperThreshold);
    w.u32(DestAttr.L_THRESH, d.lowerThreshold);
  }
  w.u16(DestAttr.ADDR_FAMILY, af);
}

function message(cmd: number): AttrWriter {
  return new AttrWriter().genl(cmd, IPVS_GENL_VERSION);
}

/** NEW_SERVICE / SET_SERVICE: the full service. */
export function encodeServiceCmd(cmd: typeof Cmd.NEW_SERVICE | typeof Cmd.SET_SERVICE, s: IpvsService): Buffer {
  const w = message(cmd);
  w.nest(CmdAttr.SERVICE, () => putServiceAttrs(w, s, true));
  return w.finish();
}

/** DEL_SERVICE, GET_SERVICE (one), GET_DEST (dump of one service): identity only. */
export function encodeServiceIdentity(cmd: number, s: IpvsService): Buffer {
  const w = message(cmd);
  w.nest(CmdAttr.SERVICE, () => putServiceAttrs(w, s, false));
  return w.finish();
}

/** NEW_DEST / SET_DEST (full destination) and DEL_DEST (identity). */
export function encodeDestCmd(
  cmd: typeof Cmd.NEW_DEST | typeof Cmd.SET_DEST | typeof Cmd.DEL_DEST,
  s: IpvsService,
  d: IpvsDestination,
): Buffer {
  const w = message(cmd);
  w.nest(CmdAttr.SERVICE, () => putServiceAttrs(w, s, false));
  w.nest(CmdAttr.DEST, () => putDestAttrs(w, d, cmd !== Cmd.DEL_DEST));
  return w.finish();
}

/** SET_CONFIG: only the non-zero timeouts are sent (the kernel keeps the others). */
export function encodeSetConfig(t: Partial<IpvsTimeouts>): Buffer {
  const w = message(Cmd.SET_CONFIG);
  if (t.tcp) w.u32(CmdAttr.TIMEOUT_TCP, t.tcp);
  if (t.tcpFin) w.u32(CmdAttr.TIMEOUT_TCP_FIN, t.tcpFin);
  if (t.udp) w.u32(CmdAttr.TIMEOUT_UDP, t.udp);
  return w.finish();
}

/** GET_SERVICE dump, GET_INFO, GET_CONFIG, FLUSH: no attributes. */
export function encodeBare(cmd: number): Buffer {
  return message(cmd).finish();
}

// ------------------------------------------------------------------ reading

type AttrMap = AttrList;

const LE = endianness() === 'LE';

const decodeError = (message: string): Error => new IpvsDecodeError(message);

function attrMap(buf: Buffer): AttrMap {
  return readAttrs(buf, decodeError);
}

function need(m: AttrMap, type: number, what: string): Buffer {
  const v = m[type];
  if (v === undefined) throw new IpvsDecodeError(`missing ${what}`);
  return v;
}

function u16(b: Buffer, what: string): number {
  if (b.length < 2) throw new IpvsDecodeError(`${what}: ${b.length} bytes`);
  return hostU16(b, 0);
}

function u32(b: Buffer, what: string): number {
  if (b.length < 4) throw new IpvsDecodeError(`${what}: ${b.length} bytes`);
  return hostU32(b);
}

const EMPTY = Buffer.alloc(0);

/** An optional u32 attribute, 0 when absent. */
function optU32(m: AttrMap, type: number, what: string): number {
  const b = m[type];
  return b ? u32(b, what) : 0;
}

/** A counter stored as u32 or u64 (host order); u64 beyond 2^53 loses precision. */
function counter(b: Buffer | undefined): number {
  if (!b) return 0;
  if (b.length === 8) return LE ? b.readUInt32LE(0) + b.readUInt32LE(4) * 0x100000000 : b.readUInt32BE(0) * 0x100000000 + b.readUInt32BE(4);
  if (b.length === 4) return LE ? b.readUInt32LE(0) : b.readUInt32BE(0);
  throw new IpvsDecodeError(`counter of ${b.length} bytes`);
}


/** STATS or STATS64 nest (PAD attributes ignored). */
export function decodeStats(buf: Buffer): IpvsStats {
  const m = attrMap(buf);
  return {
    conns: counter(m[StatsAttr.CONNS]),
    inPkts: counter(m[StatsAttr.INPKTS]),
    outPkts: counter(m[StatsAttr.OUTPKTS]),
    inBytes: counter(m[StatsAttr.INBYTES]),
    outBytes: counter(m[StatsAttr.OUTBYTES]),
    cps: counter(m[StatsAttr.CPS]),
    inPps: counter(m[StatsAttr.INPPS]),
    outPps: counter(m[StatsAttr.OUTPPS]),
    inBps: counter(m[StatsAttr.INBPS]),
    outBps: counter(m[StatsAttr.OUTBPS]),
  };
}

function statsOf(m: AttrMap, stats: number, stats64: number): IpvsStats {
  const s64 = m[stats64];
  if (s64) return decodeStats(s64);
  const s = m[stats];
  return s ? decodeStats(s) : zeroStats();
}

function family(n: number): AddressFamily {
  if (n === AF_INET || n === AF_INET6) return n;
  throw new IpvsDecodeError(`address family ${n}`);
}

function netmaskBits(af: AddressFamily, b: Buffer): number {
  if (af === AF_INET6) return u32(b, 'NETMASK');
  let mask = b.readUInt32BE(0);
  let bits = 0;
  while (mask & 0x80000000) {
    bits++;
    mask = (mask << 1) >>> 0;
  }
  return bits;
}

/** The attributes of a SERVICE nest. */
export function decodeServiceAttrs(buf: Buffer): IpvsServiceEntry {
  const m = attrMap(buf);
  const af = family(u16(need(m, SvcAttr.AF, 'IPVS_SVC_ATTR_AF'), 'AF'));
  const fwm = m[SvcAttr.FWMARK];
  const fwmark = fwm ? u32(fwm, 'FWMARK') : 0;
  let protocol: IpvsProtocol = 'TCP';
  let address = '';
  let port = 0;
  if (!fwmark) {
    const p = u16(need(m, SvcAttr.PROTOCOL, 'IPVS_SVC_ATTR_PROTOCOL'), 'PROTOCOL');
    const name = PROTO_NAME.get(p);
    if (!name) throw new IpvsDecodeError(`protocol ${p}`);
    protocol = name;
    address = bytesToAddr(need(m, SvcAttr.ADDR, 'IPVS_SVC_ATTR_ADDR'), af);
    port = need(m, SvcAttr.PORT, 'IPVS_SVC_ATTR_PORT').readUInt16BE(0);
  }
  const flagsBuf = m[SvcAttr.FLAGS];
  const nm = m[SvcAttr.NETMASK];
  return {
    af,
    protocol,
    address,
    port,
    fwmark,
    scheduler: cstring(m[SvcAttr.SCHED_NAME] ?? EMPTY),
    flags: flagsBuf ? u32(flagsBuf, 'FLAGS') & ~SvcFlag.HASHED : 0,
    timeout: optU32(m, SvcAttr.TIMEOUT, 'TIMEOUT'),
    netmask: nm ? netmaskBits(af, nm) : af === AF_INET6 ? 128 : 32,
    peName: cstring(m[SvcAttr.PE_NAME] ?? EMPTY),
    stats: statsOf(m, SvcAttr.STATS, SvcAttr.STATS64),
  };
}

/** The attributes of a DEST nest; `serviceAf` when ADDR_FAMILY is absent (old kernels). */
export function decodeDestAttrs(buf: Buffer, serviceAf: AddressFamily): IpvsDestinationEntry {
  const m = attrMap(buf);
  const afBuf = m[DestAttr.ADDR_FAMILY];
  const af = afBuf ? family(u16(afBuf, 'ADDR_FAMILY')) : serviceAf;
  const fwdCode = optU32(m, DestAttr.FWD_METHOD, 'FWD_METHOD') & FWD_MASK;
  const opt = (t: number, what: string): number => optU32(m, t, what);
  const tunFlags = m[DestAttr.TUN_FLAGS];
  return {
    address: bytesToAddr(need(m, DestAttr.ADDR, 'IPVS_DEST_ATTR_ADDR'), af),
    port: need(m, DestAttr.PORT, 'IPVS_DEST_ATTR_PORT').readUInt16BE(0),
    fwdMethod: FWD_NAME.get(fwdCode) ?? 'masq',
    weight: opt(DestAttr.WEIGHT, 'WEIGHT'),
    upperThreshold: opt(DestAttr.U_THRESH, 'U_THRESH'),
    lowerThreshold: opt(DestAttr.L_THRESH, 'L_THRESH'),
    tunType: m[DestAttr.TUN_TYPE]?.[0] ?? 0,
    tunPort: m[DestAttr.TUN_PORT]?.readUInt16BE(0) ?? 0,
    tunFlags: tunFlags ? u16(tunFlags, 'TUN_FLAGS') : 0,
    activeConns: opt(DestAttr.ACTIVE_CONNS, 'ACTIVE_CONNS'),
    inactConns: opt(DestAttr.INACT_CONNS, 'INACT_CONNS'),
    persistConns: opt(DestAttr.PERSIST_CONNS, 'PERSIST_CONNS'),
    stats: statsOf(m, DestAttr.STATS, DestAttr.STATS64),
  };
}

/** Splits a payload into its genl command and top-level attributes. */
export function splitPayload(p: Buffer): { cmd: number; version: number; attrs: AttrMap } {
  const { x, consumed } = parseGenlHeader(p);
  return { cmd: x.cmd, version: x.version, attrs: attrMap(p.subarray(consumed)) };
}

/** One message of a GET_SERVICE dump (cmd NEW_SERVICE) or a GET_SERVICE reply. */
export function decodeServiceMessage(p: Buffer): IpvsServiceEntry {
  const { attrs: top } = splitPayload(p);
  return decodeServiceAttrs(need(top, CmdAttr.SERVICE, 'IPVS_CMD_ATTR_SERVICE'));
}

/** One message of a GET_DEST dump (cmd NEW_DEST). */
export function decodeDestMessage(p: Buffer, serviceAf: AddressFamily): IpvsDestinationEntry {
  const { attrs: top } = splitPayload(p);
  return decodeDestAttrs(need(top, CmdAttr.DEST, 'IPVS_CMD_ATTR_DEST'), serviceAf);
}

/** The GET_INFO reply (cmd SET_INFO). */
export function decodeInfo(p: Buffer): IpvsInfo {
  const { attrs: m } = splitPayload(p);
  const v = u32(need(m, InfoAttr.VERSION, 'IPVS_INFO_ATTR_VERSION'), 'VERSION');
  return {
    version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`,
    connTabSize: optU32(m, InfoAttr.CONN_TAB_SIZE, 'CONN_TAB_SIZE'),
  };
}

/** The GET_CONFIG reply (cmd SET_CONFIG). */
export function decodeConfig(p: Buffer): IpvsTimeouts {
  const { attrs: m } = splitPayload(p);
  const g = (t: number): number => optU32(m, t, 'TIMEOUT');
  return { tcp: g(CmdAttr.TIMEOUT_TCP), tcpFin: g(CmdAttr.TIMEOUT_TCP_FIN), udp: g(CmdAttr.TIMEOUT_UDP) };
}
