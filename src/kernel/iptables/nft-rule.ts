// One iptables rule (the arguments after `-A CHAIN`) as the nf_tables
// expressions iptables-nft 1.8.9 writes for it, so `iptables-nft-save` prints
// it back and `iptables -D <spec>` finds it. Hand-written: no npm package
// encodes nf_tables rules, and libnftnl has no Node binding.
//
// Only the shapes the firewall's incremental syncs write are supported
// (read back from the lab kernel with `nft --debug=netlink` after an
// iptables-nft-restore of the same rules):
//   -p tcp|udp|sctp                  meta l4proto + cmp eq (and the rule's compat proto)
//   -s/-d ADDR[/LEN]                 payload load + cmp eq (LEN not a multiple of 8: + bitwise)
//   -m tcp|udp --dport N[:M]         payload load (transport + 2) + cmp eq, or range
//   -m set [!] --match-set S DIRS    match set rev 4 (the set's kernel index, looked up
//                                    by name when the batch is written)
//   -m comment --comment TEXT        match comment rev 0 (256-byte info)
//   -m addrtype --src-type/--dst-type LOCAL   match addrtype rev 1
//   -m mark [!] --mark V/M           meta load mark, bitwise & M, cmp eq/neq V
//   -m limit --limit N/UNIT --limit-burst B   limit (packets)
//   -m conntrack --ctstate S[,S...]  match conntrack rev 3
//   -p icmp -m icmp --icmp-type T    match icmp rev 0 (ipv6-icmp: icmp6 --icmpv6-type)
//   -m multiport --dports P[:Q][,...]          match multiport rev 1
//   then: counter, and the verdict:
//   -j ACCEPT|DROP|RETURN|CHAIN      immediate verdict
//   -j NFLOG --nflog-group G         log group G
//   -j REJECT                        target REJECT rev 0 (port unreachable)
//   -j MARK --set-mark V/M | --set-xmark V/M   target MARK rev 2
// Anything else returns a reason, and the caller uses iptables-restore.

import { endianness } from 'node:os';
import { AttrWriter, NLA_F_NESTED } from '../netlink/attr-writer.js';
import { BoundedMemo } from '../../bounded-memo.js';
import { addrToBytes, familyOf } from '../rtnl/inet.js';
import { splitArgs } from './tokens.js';
import type { IptablesFamily } from './types.js';

const LE = endianness() === 'LE';

// linux/netfilter/nf_tables.h
const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
const NFTA_VERDICT_CHAIN = 2;
const NFT_REG_VERDICT = 0;
const NFT_REG_1 = 1;
const NFT_PAYLOAD_NETWORK_HEADER = 1;
const NFT_CMP_EQ = 0;
const NFT_CMP_NEQ = 1;
const NFT_META_MARK = 3;
const NFT_META_L4PROTO = 16;
const NFT_PAYLOAD_TRANSPORT_HEADER = 2;
const NFT_RANGE_EQ = 0;
const NFT_LIMIT_PKTS = 0;

const VERDICT = { DROP: 0, ACCEPT: 1, JUMP: -3, RETURN: -5 } as const;

/** One expression, as the kernel takes it. */
export type NftExpr =
  | { kind: 'payload'; offset: number; len: number; base?: 'transport' }
  | { kind: 'meta-l4proto' }
  | { kind: 'range'; from: Buffer; to: Buffer }
  | { kind: 'set'; name: string; invert: boolean; dirs: readonly ('src' | 'dst')[] }
  | { kind: 'cmp'; op: 'eq' | 'neq'; data: Buffer }
  | { kind: 'bitwise'; mask: Buffer }
  | { kind: 'meta-mark' }
  | { kind: 'limit'; rate: number; unitSeconds: number; burst: number }
  | { kind: 'counter' }
  | { kind: 'match'; name: string; rev: number; info: Buffer }
  | { kind: 'comment'; text: string }
  | { kind: 'target'; name: string; rev: number; info: Buffer }
  | { kind: 'log'; group: number }
  | { kind: 'verdict'; code: number; chain?: string };

export interface NftRule {
  readonly exprs: readonly NftExpr[];
  /** `-p`: the layer-4 protocol number (NFTA_RULE_COMPAT), 0 for none. */
  readonly proto: number;
  /** The `-m comment` text, how we find the rule again (hash comments). */
  readonly comment?: string;
}

const XT_ALIGN = (n: number): number => (n + 7) & ~7;
const XT_MAX_COMMENT_LEN = 256;
const XT_ADDRTYPE_LOCAL = 1 << 2;
const IPT_ICMP_PORT_UNREACHABLE = 3;
const IP6T_ICMP6_PORT_UNREACH = 4;
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, 'ipv6-icmp': 58, icmpv6: 58 };
/** libxt_icmp / libip6t_icmp6 type names (the ones without a code: codes 0-255). */
const ICMP_TYPES: Record<IptablesFamily, Record<string, number>> = {
  ipv4: { 'echo-reply': 0, 'destination-unreachable': 3, 'echo-request': 8, 'time-exceeded': 11, 'parameter-problem': 12 },
  ipv6: {
    'destination-unreachable': 1,
    'packet-too-big': 2,
    'time-exceeded': 3,
    'parameter-problem': 4,
    'echo-request': 128,
    'echo-reply': 129,
    'neighbour-solicitation': 135,
    'neighbour-advertisement': 136,
  },
};
/** xt_conntrack.h: XT_CONNTRACK_STATE_BIT(ctinfo) = 1 << (ctinfo + 1); INVALID 1 << 0; UNTRACKED 1 << (IP_CT_NUMBER + 3). */
const CT_STATES: Record<string, number> = { INVALID: 1, ESTABLISHED: 1 << 1, RELATED: 1 << 2, NEW: 1 << 3, UNTRACKED: 1 << 8 };
const XT_CONNTRACK_STATE = 1 << 0;
const XT_MULTIPORT_DESTINATION = 1;
const XT_MULTI_PORTS = 15;
const LIMIT_UNITS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600, d: 86400, day: 86400 };

function hostU32s(...values: number[]): Buffer {
  const b = Buffer.alloc(XT_ALIGN(values.length * 4));
  values.forEach((v, i) => (LE ? b.writeUInt32LE(v >>> 0, i * 4) : b.writeUInt32BE(v >>> 0, i * 4)));
  return b;
}

/** `V[/M]` as two numbers, or undefined. */
function markPair(text: string): [number, number] | undefined {
  const m = /^(0x[0-9a-fA-F]+|\d+)(?:\/(0x[0-9a-fA-F]+|\d+))?$/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  const mask = m[2] === undefined ? 0xffffffff : Number(m[2]);
  if (v > 0xffffffff || mask > 0xffffffff) return undefined;
  return [v >>> 0, mask >>> 0];
}

function addressExprs(text: string, src: boolean, family: IptablesFamily): NftExpr[] | string {
  const [addr, lenText] = text.split('/');
  const fam = familyOf(addr);
  const v6 = family === 'ipv6';
  if (fam === undefined || (fam === 10) !== v6) return `address ${text} is not ${family}`;
  const bits = v6 ? 128 : 32;
  const len = lenText === undefined ? bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > bits || lenText === '') return `prefix length of ${text}`;
  if (len === 0) return [];
  const offset = v6 ? (src ? 8 : 24) : src ? 12 : 16;
  if (len % 8 === 0) {
    return [
      { kind: 'payload', offset, len: len / 8 },
      { kind: 'cmp', op: 'eq', data: Buffer.from(addrToBytes(addr).subarray(0, len / 8)) },
    ];
  }
  // Not on a byte boundary: iptables-nft loads the whole address, masks it and compares (add_addr).
  const mask = Buffer.alloc(bits / 8);
  for (let i = 0; i < len; i++) mask[i >> 3] |= 0x80 >> (i & 7);
  const data = Buffer.from(addrToBytes(addr));
  for (let i = 0; i < data.length; i++) data[i] &= mask[i];
  return [
    { kind: 'payload', offset, len: bits / 8 },
    { kind: 'bitwise', mask },
    { kind: 'cmp', op: 'eq', data },
  ];
}

/** Family + rule text -> compiled rule (or why not). The rules are shared: never modified. */
const COMPILED = new BoundedMemo<NftRule | string>(50_000);

/** The rule's expressions, or why it cannot be written over netlink. */
export function compileNftRule(rule: string, family: IptablesFamily): NftRule | string {
  return COMPILED.get(`${family} ${rule}`, () => compileUncached(rule, family));
}

function compileUncached(rule: string, family: IptablesFamily): NftRule | string {
  const a = splitArgs(rule);
  const addrs: NftExpr[] = [];
  const matches: NftExpr[] = [];
  let verdict: NftExpr[] | undefined;
  let comment: string | undefined;
  let src: string | undefined;
  let dst: string | undefined;
  let proto = 0;
  let protoName: string | undefined;
  for (let i = 0; i < a.length; ) {
    const t = a[i];
    if (t === '-p' && a[i + 1] !== undefined && proto === 0) {
      const p = PROTOCOLS[a[i + 1]];
      if (p === undefined) return `protocol ${a[i + 1]}`;
      proto = p;
      protoName = a[i + 1];
      i += 2;
    } else if (t === '-m' && (a[i + 1] === 'tcp' || a[i + 1] === 'udp') && a[i + 2] === '--dport' && a[i + 3] !== undefined) {
      if (protoName !== a[i + 1]) return `-m ${a[i + 1]} without -p ${a[i + 1]}`;
      const pm = /^(\d+)(?::(\d+))?$/.exec(a[i + 3]);
      const from = pm ? Number(pm[1]) : NaN;
      const to = pm?.[2] !== undefined ? Number(pm[2]) : from;
      if (!pm || from > 65535 || to > 65535 || to < from) return `port ${a[i + 3]}`;
      matches.push({ kind: 'payload', base: 'transport', offset: 2, len: 2 });
      matches.push(from === to ? { kind: 'cmp', op: 'eq', data: be16(from) } : { kind: 'range', from: be16(from), to: be16(to) });
      i += 4;
    } else if (t === '-m' && a[i + 1] === 'set') {
      const invert = a[i + 2] === '!';
      const j = i + (invert ? 3 : 2);
      if (a[j] !== '--match-set' || a[j + 1] === undefined || a[j + 2] === undefined) return 'set match form';
      const dirs = a[j + 2].split(',');
      if (dirs.length > 6 || dirs.some((d) => d !== 'src' && d !== 'dst')) return `set directions ${a[j + 2]}`;
      matches.push({ kind: 'set', name: a[j + 1], invert, dirs: dirs as ('src' | 'dst')[] });
      i = j + 3;
    } else if ((t === '-s' || t === '-d') && a[i + 1] !== undefined) {
      if (t === '-s') src = a[i + 1];
      else dst = a[i + 1];
      i += 2;
    } else if (t === '-m' && a[i + 1] === 'comment' && a[i + 2] === '--comment' && a[i + 3] !== undefined) {
      const text = a[i + 3];
      if (Buffer.byteLength(text) >= XT_MAX_COMMENT_LEN) return 'comment too long';
      if (comment !== undefined) return 'two comments';
      comment = text;
      matches.push({ kind: 'comment', text });
      i += 4;
    } else if (t === '-m' && a[i + 1] === 'addrtype' && (a[i + 2] === '--src-type' || a[i + 2] === '--dst-type') && a[i + 3] === 'LOCAL') {
      const srcType = a[i + 2] === '--src-type';
      matches.push({ kind: 'match', name: 'addrtype', rev: 1, info: addrtypeInfo(srcType ? XT_ADDRTYPE_LOCAL : 0, srcType ? 0 : XT_ADDRTYPE_LOCAL) });
      i += 4;
    } else if (t === '-m' && a[i + 1] === 'mark') {
      const neg = a[i + 2] === '!';
      const j = i + (neg ? 3 : 2);
      if (a[j] !== '--mark' || a[j + 1] === undefined) return 'mark match form';
      const p = markPair(a[j + 1]);
      if (!p) return `mark ${a[j + 1]}`;
      matches.push({ kind: 'meta-mark' }, { kind: 'bitwise', mask: hostU32(p[1]) }, { kind: 'cmp', op: neg ? 'neq' : 'eq', data: hostU32(p[0]) });
      i = j + 2;
    } else if (t === '-m' && a[i + 1] === 'limit' && a[i + 2] === '--limit' && a[i + 4] === '--limit-burst') {
      const lm = /^(\d+)\/(\w+)$/.exec(a[i + 3] ?? '');
      const unit = lm ? LIMIT_UNITS[lm[2]] : undefined;
      const burst = Number(a[i + 5]);
      if (!lm || unit === undefined || !Number.isInteger(burst) || burst < 0) return 'limit form';
      matches.push({ kind: 'limit', rate: Number(lm[1]), unitSeconds: unit, burst });
      i += 6;
    } else if (t === '-m' && a[i + 1] === 'conntrack' && a[i + 2] === '--ctstate' && a[i + 3] !== undefined) {
      let mask = 0;
      for (const st of a[i + 3].split(',')) {
        const bit = CT_STATES[st];
        if (bit === undefined) return `conntrack state ${st}`;
        mask |= bit;
      }
      matches.push({ kind: 'match', name: 'conntrack', rev: 3, info: conntrackInfo(mask) });
      i += 4;
    } else if (t === '-m' && (a[i + 1] === 'icmp' || a[i + 1] === 'icmp6') && a[i + 2] === (a[i + 1] === 'icmp' ? '--icmp-type' : '--icmpv6-type') && a[i + 3] !== undefined) {
      const v6 = a[i + 1] === 'icmp6';
      if (v6 !== (family === 'ipv6') || proto !== (v6 ? 58 : 1)) return `-m ${a[i + 1]} without -p ${v6 ? 'ipv6-icmp' : 'icmp'}`;
      const type = ICMP_TYPES[family][a[i + 3]];
      if (type === undefined) return `icmp type ${a[i + 3]}`;
      // struct ipt_icmp / ip6t_icmp { __u8 type; __u8 code[2]; __u8 invflags; }
      matches.push({ kind: 'match', name: a[i + 1], rev: 0, info: Buffer.from([type, 0, 0xff, 0, 0, 0, 0, 0]) });
      i += 4;
    } else if (t === '-m' && a[i + 1] === 'multiport' && a[i + 2] === '--dports' && a[i + 3] !== undefined) {
      if (proto === 0) return '-m multiport without -p';
      const info = multiportInfo(a[i + 3]);
      if (typeof info === 'string') return info;
      matches.push({ kind: 'match', name: 'multiport', rev: 1, info });
      i += 4;
    } else if (t === '-j' && a[i + 1] !== undefined && verdict === undefined) {
      const target = a[i + 1];
      const rest = a.slice(i + 2);
      const v = verdictExprs(target, rest, family);
      if (typeof v === 'string') return v;
      verdict = v;
      i = a.length;
    } else {
      return `unsupported argument ${t}`;
    }
  }
  // iptables-nft puts the protocol first, then the addresses: source, then destination.
  for (const [text, isSrc] of [
    [src, true],
    [dst, false],
  ] as const) {
    if (text === undefined) continue;
    const e = addressExprs(text, isSrc, family);
    if (typeof e === 'string') return e;
    addrs.push(...e);
  }
  if (!verdict) return 'no target';
  const l4: NftExpr[] = proto ? [{ kind: 'meta-l4proto' }, { kind: 'cmp', op: 'eq', data: Buffer.from([proto]) }] : [];
  return { exprs: [...l4, ...addrs, ...matches, { kind: 'counter' }, ...verdict], comment, proto };
}

function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

/** The mark's value as the kernel's register holds it (host order, as `meta mark` loads it). */
function hostU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

function conntrackInfo(stateMask: number): Buffer {
  // struct xt_conntrack_mtinfo3: 8 addresses/masks (128 bytes), expires_min/max (u32 x2), then
  // u16 l4proto @136, origsrc_port, origdst_port, replsrc_port, repldst_port, match_flags @146,
  // invert_flags @148, state_mask @150, status_mask, 4 port_high: 164 bytes, 168 aligned.
  const b = Buffer.alloc(XT_ALIGN(164));
  const u16 = (v: number, at: number): number => (LE ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  u16(XT_CONNTRACK_STATE, 146);
  u16(stateMask, 150);
  return b;
}

/** `--dports` of multiport rev 1, or why not. */
function multiportInfo(text: string): Buffer | string {
  // struct xt_multiport_v1 { __u8 flags; __u8 count; __u16 ports[15]; __u8 pflags[15]; __u8 invert; }  48 bytes
  const ports: number[] = [];
  const pflags: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?::(\d+))?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : undefined;
    if (!m || from > 65535 || (to !== undefined && (to > 65535 || to < from))) return `multiport ports ${text}`;
    ports.push(from);
    pflags.push(to === undefined ? 0 : 1);
    if (to !== undefined) {
      ports.push(to);
      pflags.push(0);
    }
  }
  if (ports.length > XT_MULTI_PORTS) return `multiport ports ${text}: more than ${XT_MULTI_PORTS}`;
  const b = Buffer.alloc(48);
  b[0] = XT_MULTIPORT_DESTINATION;
  b[1] = ports.length;
  ports.forEach((p, i) => (LE ? b.writeUInt16LE(p, 2 + 2 * i) : b.writeUInt16BE(p, 2 + 2 * i)));
  pflags.forEach((f, i) => (b[32 + i] = f));
  return b;
}

function addrtypeInfo(source: number, dest: number): Buffer {
  // struct xt_addrtype_info_v1 { __u16 source; __u16 dest; __u32 flags; }
  const b = Buffer.alloc(8);
  if (LE) {
    b.writeUInt16LE(source, 0);
    b.writeUInt16LE(dest, 2);
  } else {
    b.writeUInt16BE(source, 0);
    b.writeUInt16BE(dest, 2);
  }
  return b;
}

function verdictExprs(target: string, rest: readonly string[], family: IptablesFamily): NftExpr[] | string {
  const only = (n: number): boolean => rest.length === n;
  switch (target) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return only(0) ? [{ kind: 'verdict', code: VERDICT[target] }] : `options after -j ${target}`;
    case 'REJECT':
      return only(0) ? [{ kind: 'target', name: 'REJECT', rev: 0, info: hostU32s(family === 'ipv6' ? IP6T_ICMP6_PORT_UNREACH : IPT_ICMP_PORT_UNREACHABLE) }] : 'REJECT options';
    case 'NFLOG': {
      if (!only(2) || rest[0] !== '--nflog-group') return 'NFLOG options';
      const g = Number(rest[1]);
      return Number.isInteger(g) && g >= 0 && g <= 0xffff ? [{ kind: 'log', group: g }] : 'NFLOG group';
    }
    case 'MARK': {
      if (!only(2) || (rest[0] !== '--set-mark' && rest[0] !== '--set-xmark')) return 'MARK options';
      const p = markPair(rest[1]);
      if (!p) return `MARK ${rest[1]}`;
      // libxt_MARK rev 2: --set-mark V/M is --set-xmark V/(V|M).
      const mask = rest[0] === '--set-mark' ? (p[0] | p[1]) >>> 0 : p[1];
      return [{ kind: 'target', name: 'MARK', rev: 2, info: hostU32s(p[0], mask) }];
    }
    default:
      if (!/^[A-Za-z0-9_.:-]+$/.test(target) || target.startsWith('-')) return `target ${target}`;
      // A user chain (iptables targets are upper-case words; ours and the chains we jump to are chain names).
      if (!only(0)) return `options after -j ${target}`;
      if (/^[A-Z]+$/.test(target) && !/-/.test(target)) return `target ${target}`;
      return [{ kind: 'verdict', code: VERDICT.JUMP, chain: target }];
  }
}

/** Kernel index of each set a rule names (IPSET_CMD_GET_BYNAME), for the set match. */
export type SetIndex = (name: string) => number;

const EXPR_NAME: Record<NftExpr['kind'], string> = {
  payload: 'payload',
  'meta-l4proto': 'meta',
  range: 'range',
  set: 'match',
  cmp: 'cmp',
  bitwise: 'bitwise',
  'meta-mark': 'meta',
  limit: 'limit',
  counter: 'counter',
  match: 'match',
  comment: 'match',
  target: 'target',
  log: 'log',
  verdict: 'immediate',
};

function setInfo(index: number, invert: boolean, dirs: readonly ('src' | 'dst')[]): Buffer {
  // struct xt_set_info_match_v4 {
  //   struct xt_set_info match_set;              /* 0: u16 index, u8 dim, u8 flags */
  //   struct ip_set_counter_match packets, bytes; /* 8, 24: { aligned u64 value; u8 op } (op 0: none) */
  //   __u32 flags;                                /* 40 */
  // };  48 bytes.
  // match_set.flags: IPSET_INV_MATCH (bit 0), and bit n set when dimension n is "src" (libxt_set parse_dirs).
  // iptables-nft reads the match with the revision it loads itself (4), so this must be 4.
  let flags = invert ? 1 : 0;
  dirs.forEach((d, i) => {
    if (d === 'src') flags |= 1 << (i + 1);
  });
  const b = Buffer.alloc(48);
  if (LE) b.writeUInt16LE(index, 0);
  else b.writeUInt16BE(index, 0);
  b[2] = dirs.length;
  b[3] = flags;
  return b;
}

function writeExpr(w: AttrWriter, e: NftExpr, setIndex: SetIndex): void {
  const name = EXPR_NAME[e.kind];
  w.nest(NFTA_LIST_ELEM | NLA_F_NESTED, () => {
    w.string(NFTA_EXPR_NAME, name, 32);
    w.nest(NFTA_EXPR_DATA | NLA_F_NESTED, () => {
      switch (e.kind) {
        case 'payload':
          w.u32be(1, NFT_REG_1); // DREG
          w.u32be(2, e.base === 'transport' ? NFT_PAYLOAD_TRANSPORT_HEADER : NFT_PAYLOAD_NETWORK_HEADER); // BASE
          w.u32be(3, e.offset);
          w.u32be(4, e.len);
          break;
        case 'cmp':
          w.u32be(1, NFT_REG_1); // SREG
          w.u32be(2, e.op === 'eq' ? NFT_CMP_EQ : NFT_CMP_NEQ);
          w.nest(3 | NLA_F_NESTED, () => w.bytes(NFTA_DATA_VALUE, e.data));
          break;
        case 'bitwise':
          w.u32be(1, NFT_REG_1); // SREG
          w.u32be(2, NFT_REG_1); // DREG
          w.u32be(3, e.mask.length); // LEN
          w.nest(4 | NLA_F_NESTED, () => w.bytes(NFTA_DATA_VALUE, e.mask)); // MASK
          w.nest(5 | NLA_F_NESTED, () => w.bytes(NFTA_DATA_VALUE, Buffer.alloc(e.mask.length))); // XOR
          break;
        case 'meta-mark':
        case 'meta-l4proto':
          w.u32be(1, NFT_REG_1); // DREG
          w.u32be(2, e.kind === 'meta-mark' ? NFT_META_MARK : NFT_META_L4PROTO); // KEY
          break;
        case 'range':
          w.u32be(1, NFT_REG_1); // SREG
          w.u32be(2, NFT_RANGE_EQ); // OP
          w.nest(3 | NLA_F_NESTED, () => w.bytes(NFTA_DATA_VALUE, e.from)); // FROM_DATA
          w.nest(4 | NLA_F_NESTED, () => w.bytes(NFTA_DATA_VALUE, e.to)); // TO_DATA
          break;
        case 'set':
          w.string(1, 'set', 29);
          w.u32be(2, 4);
          w.bytes(3, setInfo(setIndex(e.name), e.invert, e.dirs));
          break;
        case 'limit':
          w.u64be(1, e.rate); // RATE
          w.u64be(2, e.unitSeconds); // UNIT
          w.u32be(3, e.burst); // BURST
          w.u32be(4, NFT_LIMIT_PKTS); // TYPE
          w.u32be(5, 0); // FLAGS
          break;
        case 'counter':
          w.u64be(1, 0); // BYTES
          w.u64be(2, 0); // PACKETS
          break;
        case 'comment':
          // struct xt_comment_info { char comment[XT_MAX_COMMENT_LEN]; }
          w.string(1, 'comment', 29);
          w.u32be(2, 0);
          w.fixedString(3, e.text, XT_MAX_COMMENT_LEN);
          break;
        case 'match':
        case 'target':
          w.string(1, e.name, 29); // NAME (XT_EXTENSION_MAXNAMELEN)
          w.u32be(2, e.rev); // REV
          w.bytes(3, e.info); // INFO
          break;
        case 'log':
          // Only the group: iptables-nft sets SNAPLEN only for --nflog-size and QTHRESHOLD only when non-zero.
          w.u16be(1, e.group); // GROUP
          break;
        case 'verdict':
          w.u32be(1, NFT_REG_VERDICT); // DREG
          w.nest(2 | NLA_F_NESTED, () =>
            w.nest(NFTA_DATA_VERDICT | NLA_F_NESTED, () => {
              w.u32be(NFTA_VERDICT_CODE, e.code);
              if (e.chain !== undefined) w.string(NFTA_VERDICT_CHAIN, e.chain, 256);
            }),
          );
          break;
      }
    });
  });
}

/**
 * A rule's encoded expressions, with the set indices they were encoded for
 * (a set re-created gets a new index): a rule written again (the same text
 * compiles to the same shared NftRule) is copied, not encoded again.
 */
interface EncodedRule {
  type: number;
  sets: readonly number[];
  bytes: Buffer;
}
const ENCODED = new WeakMap<NftRule, EncodedRule>();

/** NFTA_RULE_EXPRESSIONS of `rule` into `w` (and NFTA_RULE_COMPAT when it has a protocol). */
export function writeRuleExprs(w: AttrWriter, type: number, rule: NftRule, setIndex: SetIndex): void {
  const sets: number[] = [];
  for (const e of rule.exprs) if (e.kind === 'set') sets.push(setIndex(e.name));
  const hit = ENCODED.get(rule);
  if (hit && hit.type === type && hit.sets.length === sets.length && hit.sets.every((v, i) => v === sets[i])) {
    w.raw(hit.bytes);
    return;
  }
  const scratch = new AttrWriter(512);
  encodeRuleExprs(scratch, type, rule, setIndex);
  const bytes = Buffer.from(scratch.finish());
  ENCODED.set(rule, { type, sets, bytes });
  w.raw(bytes);
}

function encodeRuleExprs(w: AttrWriter, type: number, rule: NftRule, setIndex: SetIndex): void {
  w.nest(type | NLA_F_NESTED, () => {
    for (const e of rule.exprs) writeExpr(w, e, setIndex);
  });
  // NFTA_RULE_COMPAT { PROTO, FLAGS }: what x_tables matches see as the rule's -p.
  if (rule.proto) {
    w.nest(5 | NLA_F_NESTED, () => {
      w.u32be(1, rule.proto);
      w.u32be(2, 0);
    });
  }
}

/** The sets the rule's set matches name. */
export function ruleSets(rule: NftRule): string[] {
  const out: string[] = [];
  for (const e of rule.exprs) if (e.kind === 'set') out.push(e.name);
  return out;
}

