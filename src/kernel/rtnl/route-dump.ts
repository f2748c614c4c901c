// RTM_NEWROUTE messages of a route dump read straight from their bytes into
// RouteEntry (what messages.ts's toRouteEntry makes of the `netlink`
// package's parse), with the listRoutes filter applied to the fixed header
// before any attribute is read. A dump lists every route of the namespace,
// and the routing controller reads ours back on every pass: the package's
// generic parse (an object per attribute, enum names mapped back to numbers)
// cost several times more than the kernel's answer took to arrive.
//
// struct rtmsg (12 bytes): family, dst_len, src_len, tos, table, protocol,
// scope, type (u8 each), flags (u32); then rtattrs {len u16, type u16,
// payload, padded to 4}, in host byte order.

import { endianness } from 'node:os';
import { AF_INET, AF_INET6, type AddressFamily, bytesToAddr } from './inet.js';
import type { RouteEntry } from './types.js';

const RTMSG_LEN = 12;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;
/** NLA_F_NESTED | NLA_F_NET_BYTEORDER. */
const NLA_TYPE_MASK = 0x3fff;

const LE = endianness() === 'LE';

function u16(b: Buffer, at: number): number {
  return LE ? b.readUInt16LE(at) : b.readUInt16BE(at);
}

function u32(b: Buffer, at: number): number {
  return LE ? b.readUInt32LE(at) : b.readUInt32BE(at);
}

export interface RouteDumpFilter {
  family: AddressFamily;
  table?: number;
  protocol?: number;
}

/** The route in one RTM_NEWROUTE payload, or undefined if it is not one the filter wants (or is cut short). */
export function readRouteEntry(data: Buffer, filter: RouteDumpFilter): RouteEntry | undefined {
  if (data.length < RTMSG_LEN) return undefined;
  const family = data[0];
  if (family !== filter.family || (family !== AF_INET && family !== AF_INET6)) return undefined;
  const protocol = data[5];
  if (filter.protocol !== undefined && protocol !== filter.protocol) return undefined;
  const addrLen = family === AF_INET ? 4 : 16;
  let table = data[4];
  let dst = '';
  let gateway = '';
  let src = '';
  let oif = 0;
  let priority = 0;
  for (let at = RTMSG_LEN; at + 4 <= data.length; ) {
    const len = u16(data, at);
    if (len < 4 || at + len > data.length) break;
    const type = u16(data, at + 2) & NLA_TYPE_MASK;
    const p = at + 4;
    const plen = len - 4;
    switch (type) {
      case RTA_DST:
        if (plen >= addrLen) dst = bytesToAddr(data.subarray(p, p + addrLen), family);
        break;
      case RTA_GATEWAY:
        if (plen >= addrLen) gateway = bytesToAddr(data.subarray(p, p + addrLen), family);
        break;
      case RTA_PREFSRC:
        if (plen >= addrLen) src = bytesToAddr(data.subarray(p, p + addrLen), family);
        break;
      case RTA_OIF:
        if (plen >= 4) oif = u32(data, p);
        break;
      case RTA_PRIORITY:
        if (plen >= 4) priority = u32(data, p);
        break;
      case RTA_TABLE:
        if (plen >= 4) table = u32(data, p);
        break;
      default:
        break;
    }
    at += (len + 3) & ~3;
  }
  if (filter.table !== undefined && table !== filter.table) return undefined;
  if (dst === '') dst = family === AF_INET ? '0.0.0.0' : '::';
  return { family, dst: `${dst}/${data[1]}`, table, protocol, scope: data[6], type: data[7], gateway, oif, src, priority };
}
