// Encoder and decoder of ipset netlink messages (nl-proto.ts). Written here
// because no npm package speaks the ipset nfnetlink subsystem (the `netlink`
// package has rtnetlink, generic netlink and nl80211 only). It covers what
// the reconciler writes (create, add, del, swap, destroy, flush, rename of the
// six set types of types.ts) and what it reads back (a LIST dump), with
// entries in the canonical text of entry.ts: the netlink driver executes
// `ipset restore` scripts and returns what `ipset save` would print.

import { cstring, hostU32, readAttrs, type AttrList } from '../netlink/attr-reader.js';
import { AttrWriter, NLA_F_NESTED, NLA_F_NET_BYTEORDER } from '../netlink/attr-writer.js';
import { AF_INET, AF_INET6, addrToBytes, bytesToAddr, ipv4Value } from '../rtnl/inet.js';
import {
  Attr,
  Elem,
  Head,
  IPADDR_IPV4,
  IPADDR_IPV6,
  IPPROTO,
  IPSET_FLAG_NOMATCH,
  IPSET_PROTOCOL,
  NFNETLINK_V0,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFPROTO_UNSPEC,
  PROTO_NAME,
} from './nl-proto.js';
import { IPSET_TYPES, type IpsetFamily, type IpsetOptions, type IpsetSet, type IpsetType } from './types.js';

const NET = NLA_F_NET_BYTEORDER;

export class IpsetCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpsetCodecError';
  }
}

/** A request: the nfgenmsg header and PROTOCOL written, the caller adds the rest. */
export function request(): AttrWriter {
  const w = new AttrWriter(256).nfgen(AF_INET, NFNETLINK_V0);
  w.u8(Attr.PROTOCOL, IPSET_PROTOCOL);
  return w;
}

export function nfproto(family: IpsetFamily, type: IpsetType): number {
  if (type === 'list:set') return NFPROTO_UNSPEC;
  return family === 'inet6' ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/** CREATE: name, type, revision, family and the options of IPSET_ATTR_DATA. */
export function encodeCreate(name: string, type: IpsetType, family: IpsetFamily, revision: number, o: IpsetOptions): Buffer {
  const w = request();
  w.string(Attr.SETNAME, name, 32);
  w.string(Attr.TYPENAME, type, 32);
  w.u8(Attr.REVISION, revision);
  w.u8(Attr.FAMILY, nfproto(family, type));
  w.nest(Attr.DATA | NLA_F_NESTED, () => {
    if (type === 'list:set') {
      if (o.size !== undefined) w.u32be(Head.SIZE | NET, o.size);
      return;
    }
    if (o.hashsize !== undefined) w.u32be(Head.HASHSIZE | NET, o.hashsize);
    if (o.maxelem !== undefined) w.u32be(Head.MAXELEM | NET, o.maxelem);
    if (o.timeout !== undefined) w.u32be(Head.TIMEOUT | NET, o.timeout);
  });
  return w.finish();
}

/** A command naming one set (DESTROY, FLUSH) or two (SWAP, RENAME: `to` is SETNAME2). */
export function encodeNamed(name: string, to?: string): Buffer {
  const w = request();
  w.string(Attr.SETNAME, name, 32);
  if (to !== undefined) w.string(Attr.SETNAME2, to, 32);
  return w.finish();
}

/** TYPE: which revisions of a set type the kernel has. */
export function encodeTypeQuery(type: IpsetType, family: IpsetFamily): Buffer {
  const w = request();
  w.string(Attr.TYPENAME, type, 32);
  w.u8(Attr.FAMILY, nfproto(family, type));
  return w.finish();
}

/** LIST dump: every set, or one (`name`). */
export function encodeList(name?: string): Buffer {
  const w = request();
  if (name !== undefined) w.string(Attr.SETNAME, name, 32);
  return w.finish();
}

function ipAttr(w: AttrWriter, type: number, text: string): void {
  // (No closure and no Buffer per IPv4 address: a full sync encodes thousands.)
  const at = w.nestStart();
  const v4 = ipv4Value(text);
  if (v4 >= 0) w.u32be(IPADDR_IPV4 | NET, v4);
  else w.bytes(IPADDR_IPV6 | NET, addrToBytes(text));
  w.nestEnd(at, type | NLA_F_NESTED);
}

function netAttrs(w: AttrWriter, ipType: number, cidrType: number, text: string): void {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  ipAttr(w, ipType, addr);
  w.u8(cidrType, slash < 0 ? (ipv4Value(addr) >= 0 ? 32 : 128) : Number(text.slice(slash + 1)));
}

function portAttrs(w: AttrWriter, text: string): void {
  const colon = text.indexOf(':');
  const proto = IPPROTO[text.slice(0, colon)];
  if (proto === undefined || colon < 0) throw new IpsetCodecError(`"${text}" is not proto:port`);
  w.u16be(Elem.PORT | NET, Number(text.slice(colon + 1)));
  w.u8(Elem.PROTO, proto);
}

/**
 * One element (canonical entry text, optionally ` nomatch` / ` timeout N`)
 * as the attributes of its IPSET_ATTR_DATA nest, with its script line.
 */
export function encodeElement(w: AttrWriter, type: IpsetType, entry: string, lineno: number): void {
  const words = entry.indexOf(' ') < 0 ? [entry] : entry.split(' ');
  const parts = type === 'hash:ip' || type === 'hash:net' || type === 'list:set' ? [words[0]] : words[0].split(',');
  let flags = 0;
  let timeout: number | undefined;
  for (let i = 1; i < words.length; i++) {
    if (words[i] === 'nomatch') flags |= IPSET_FLAG_NOMATCH;
    else if (words[i] === 'timeout') timeout = Number(words[++i]);
    else if (words[i] !== '') throw new IpsetCodecError(`unexpected "${words[i]}" in "${entry}"`);
  }
  const data = w.nestStart();
  {
    switch (type) {
      case 'hash:ip':
        ipAttr(w, Elem.IP, parts[0]);
        break;
      case 'hash:net':
        netAttrs(w, Elem.IP, Elem.CIDR, parts[0]);
        break;
      case 'hash:ip,port':
      case 'hash:ip,port,ip':
      case 'hash:ip,port,net':
        if (parts.length !== (type === 'hash:ip,port' ? 2 : 3)) throw new IpsetCodecError(`"${words[0]}" does not fit ${type}`);
        ipAttr(w, Elem.IP, parts[0]);
        portAttrs(w, parts[1]);
        if (type === 'hash:ip,port,ip') ipAttr(w, Elem.IP2, parts[2]);
        if (type === 'hash:ip,port,net') netAttrs(w, Elem.IP2, Elem.CIDR2, parts[2]);
        break;
      case 'list:set':
        w.string(Elem.NAME, parts[0], 32);
        break;
    }
    if (flags) w.u32be(Elem.CADT_FLAGS | NET, flags);
    if (timeout !== undefined) w.u32be(Elem.TIMEOUT | NET, timeout);
    w.u32(Elem.LINENO, lineno);
  }
  w.nestEnd(data, Attr.DATA | NLA_F_NESTED);
}

/** ADD or DEL of many elements of one set in one message (IPSET_ATTR_ADT, lines numbered). */
export function encodeAdt(name: string, type: IpsetType, elements: readonly { entry: string; lineno: number }[]): Buffer {
  const w = request();
  w.string(Attr.SETNAME, name, 32);
  w.u32(Attr.LINENO, 0);
  w.nest(Attr.ADT | NLA_F_NESTED, () => {
    for (const e of elements) encodeElement(w, type, e.entry, e.lineno);
  });
  return w.finish();
}

// ---- decoding ----

const codecError = (message: string): Error => new IpsetCodecError(message);

function attrs(buf: Buffer, each?: (type: number, payload: Buffer) => void): AttrList {
  return readAttrs(buf, codecError, each);
}

function ipText(nest: Buffer | undefined): string {
  if (!nest) throw new IpsetCodecError('element without an address');
  const m = attrs(nest);
  const v4 = m[IPADDR_IPV4];
  if (v4) return bytesToAddr(v4, AF_INET);
  const v6 = m[IPADDR_IPV6];
  if (v6) return bytesToAddr(v6, AF_INET6);
  throw new IpsetCodecError('address nest without IPv4 or IPv6 address');
}

function netText(nest: Buffer | undefined, cidr: Buffer | undefined): string {
  const addr = ipText(nest);
  const max = addr.includes(':') ? 128 : 32;
  const bits = cidr ? cidr[0] : max;
  return bits === max ? addr : `${addr}/${bits}`;
}

function portText(port: Buffer | undefined, proto: Buffer | undefined): string {
  const p = proto ? proto[0] : 0;
  const v = port ? port.readUInt16BE(0) : 0;
  if (p === 1 || p === 58) return `${p === 1 ? 'icmp' : 'icmpv6'}:${v >> 8}/${v & 255}`;
  return `${PROTO_NAME[p] ?? String(p)}:${v}`;
}

/** The canonical entry text of one element of a dump (plus ` nomatch`). */
export function decodeElement(type: IpsetType, data: Buffer): string {
  const m = attrs(data);
  let out: string;
  switch (type) {
    case 'hash:ip':
      out = ipText(m[Elem.IP]);
      break;
    case 'hash:net':
      out = netText(m[Elem.IP], m[Elem.CIDR]);
      break;
    case 'hash:ip,port':
      out = `${ipText(m[Elem.IP])},${portText(m[Elem.PORT], m[Elem.PROTO])}`;
      break;
    case 'hash:ip,port,ip':
      out = `${ipText(m[Elem.IP])},${portText(m[Elem.PORT], m[Elem.PROTO])},${ipText(m[Elem.IP2])}`;
      break;
    case 'hash:ip,port,net':
      out = `${ipText(m[Elem.IP])},${portText(m[Elem.PORT], m[Elem.PROTO])},${netText(m[Elem.IP2], m[Elem.CIDR2])}`;
      break;
    case 'list:set':
      out = cstring(m[Elem.NAME] ?? Buffer.alloc(0));
      break;
  }
  const flags = m[Elem.CADT_FLAGS];
  if (flags && flags.readUInt32BE(0) & IPSET_FLAG_NOMATCH) out += ' nomatch';
  return out;
}

/** A set of a dump; `type` undefined when the kernel's type is not one we manage (its members are skipped). */
export interface DumpedSet {
  name: string;
  typeName: string;
  set?: IpsetSet;
}

function messageAttrs(payload: Buffer, each?: (type: number, payload: Buffer) => void): AttrList {
  if (payload.length < 4) throw new IpsetCodecError(`short ipset message (${payload.length} bytes)`);
  return attrs(payload.subarray(4), each);
}

function setName(m: AttrList): string {
  const nameBuf = m[Attr.SETNAME];
  if (!nameBuf) throw new IpsetCodecError('dump message without a set name');
  return cstring(nameBuf);
}

/** The set a LIST dump message is about (all a names-only dump carries). */
export function listedName(payload: Buffer): string {
  return setName(messageAttrs(payload));
}

/**
 * Folds one LIST dump message (payload after the nlmsghdr) into `sets`: the
 * first message of a set carries its header, later ones more members.
 */
export function decodeListMessage(payload: Buffer, sets: Map<string, DumpedSet>, keep: (name: string) => boolean): void {
  const adt: Buffer[] = [];
  const m = messageAttrs(payload, (type, p) => {
    if (type === Attr.ADT) adt.push(p);
  });
  const name = setName(m);
  if (!keep(name)) return;
  let d = sets.get(name);
  const typeBuf = m[Attr.TYPENAME];
  if (typeBuf) {
    const typeName = cstring(typeBuf);
    const fam = m[Attr.FAMILY]?.[0];
    const family: IpsetFamily = fam === NFPROTO_IPV6 ? 'inet6' : 'inet';
    const known = (IPSET_TYPES as readonly string[]).includes(typeName) ? (typeName as IpsetType) : undefined;
    d = { name, typeName };
    if (known) d.set = { name, type: known, family, options: decodeHeader(m[Attr.DATA]), entries: new Set() };
    sets.set(name, d);
  }
  if (!d?.set) return;
  const set = d.set;
  for (const a of adt) attrs(a, (type, p) => {
    if (type === Attr.DATA) set.entries.add(decodeElement(set.type, p));
  });
}

function decodeHeader(data: Buffer | undefined): IpsetOptions {
  const o: IpsetOptions = {};
  if (!data) return o;
  const m = attrs(data);
  const be = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32BE(0) : undefined);
  const timeout = be(m[Head.TIMEOUT]);
  const hashsize = be(m[Head.HASHSIZE]);
  const maxelem = be(m[Head.MAXELEM]);
  const size = be(m[Head.SIZE]);
  if (timeout !== undefined) o.timeout = timeout;
  if (hashsize !== undefined) o.hashsize = hashsize;
  if (maxelem !== undefined) o.maxelem = maxelem;
  if (size !== undefined) o.size = size;
  return o;
}

/** The revision range of a TYPE reply. */
export function decodeTypeReply(payload: Buffer): { max: number; min: number } {
  const m = messageAttrs(payload);
  const max = m[Attr.REVISION]?.[0];
  if (max === undefined) throw new IpsetCodecError('TYPE reply without a revision');
  return { max, min: m[Attr.REVISION_MIN]?.[0] ?? max };
}

/**
 * The script line the kernel names in an error to an ADT request (it echoes
 * the request with the command-level LINENO set to the failing element's);
 * `errPayload` is the NLMSG_ERROR payload (errno, then the request's header
 * and body).
 */
export function errorLine(errPayload: Buffer): number | undefined {
  // struct nlmsgerr: int error; struct nlmsghdr msg (16 bytes); then the request's payload.
  if (errPayload.length < 4 + 16 + 4) return undefined;
  const len = hostU32(errPayload.subarray(4, 8));
  const body = errPayload.subarray(4 + 16 + 4, Math.min(errPayload.length, 4 + len));
  try {
    const line = attrs(body)[Attr.LINENO];
    return line && line.length >= 4 ? hostU32(line) : undefined;
  } catch {
    return undefined;
  }
}
