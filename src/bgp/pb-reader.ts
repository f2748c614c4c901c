// A minimal protobuf wire-format reader (varints, length-delimited fields,
// skipping the rest): enough to walk a message field by field without a
// schema, for the hot path of watch-decode.ts. Wire types: 0 varint,
// 1 fixed64, 2 length-delimited, 5 fixed32 (3/4, groups, are refused).

import { KubeRouterError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

function malformed(what: string, at: number): KubeRouterError {
  return new KubeRouterError('KR_ERR_BGP', `malformed protobuf message from gobgpd: ${what} at byte ${at}`, { field: 'WatchEventResponse' });
}

export class PbReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a Number (exact up to 2^53, enough for counters and seconds). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint', this.pos);
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw malformed('varint longer than 10 bytes', this.pos);
  }

  /** The next field's tag: [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }

  /** Bounds of a length-delimited value; the reader moves past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw malformed(`length ${len} past the end`, start);
    this.pos = start + len;
    return [start, start + len];
  }

  /** A reader over the next length-delimited value (an embedded message). */
  sub(): PbReader {
    const [s, e] = this.span();
    return new PbReader(this.buf, s, e);
  }

  string(): string {
    const [s, e] = this.span();
    return this.buf.toString('utf8', s, e);
  }

  bytes(): Uint8Array {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** Repeated uint32: packed (one length-delimited run) or one value. */
  uint32s(wireType: number, into: number[]): void {
    if (wireType !== WIRE_LEN) {
      into.push(this.varint() >>> 0);
      return;
    }
    const r = this.sub();
    while (!r.done()) into.push(r.varint() >>> 0);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw malformed(`wire type ${wireType}`, this.pos);
    }
    if (this.pos > this.end) throw malformed('truncated fixed-width field', this.pos);
  }
}
