// Reading netlink attribute streams, for the IPVS and ipset decoders: one
// pass, no objects but the payload views (an IPVS dump decodes 100,000
// destinations, an ipset dump tens of thousands of members).

import { endianness } from 'node:os';

const LE = endianness() === 'LE';

/** Attribute payloads by type (flag bits masked off); the last one of a type wins, as in a Map. */
export type AttrList = Array<Buffer | undefined>;

export function hostU16(b: Buffer, at = 0): number {
  return LE ? b.readUInt16LE(at) : b.readUInt16BE(at);
}

export function hostU32(b: Buffer, at = 0): number {
  return LE ? b.readUInt32LE(at) : b.readUInt32BE(at);
}

/**
 * The attributes of `buf` by type; `each` also sees every one in order (for
 * repeated types, such as the members of a nest). A malformed stream throws
 * the caller's error (`bad`).
 */
export function readAttrs(buf: Buffer, bad: (message: string) => Error, each?: (type: number, payload: Buffer) => void): AttrList {
  const m: AttrList = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = hostU16(buf, off);
    if (len < 4 || off + len > buf.length) throw bad(`bad attribute stream: attribute of ${len} bytes at ${off} of ${buf.length}`);
    const type = hostU16(buf, off + 2) & 0x3fff;
    const payload = buf.subarray(off + 4, off + len);
    m[type] = payload;
    each?.(type, payload);
    off += (len + 3) & ~3;
  }
  return m;
}

/** A NUL-terminated (or not) string attribute. */
export function cstring(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}
