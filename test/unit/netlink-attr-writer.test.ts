// The IPVS attribute writer lays out the bytes the `netlink` package's
// AttrStream does (alignment, lengths, nests, final padding) and parses
// addresses as strictly as node:net.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttrStream, countLength, formatGenlHeader, padding, putString, putU16, putU16be, putU32 } from 'netlink';
import { AttrWriter } from '../../src/kernel/netlink/attr-writer.js';
import { addrToInetUnion } from '../../src/kernel/rtnl/inet.js';

function streamed(build: (s: AttrStream) => void): Buffer {
  const s = new AttrStream();
  build(s);
  const len = countLength(s.bufs);
  const p = padding(len);
  return Buffer.concat(p ? [...s.bufs, Buffer.alloc(p)] : s.bufs);
}

test('same bytes as AttrStream: odd sizes, strings, nests, final padding', () => {
  const w = new AttrWriter(8); // small: forces growth
  w.genl(4, 1);
  w.u8(9, 7);
  w.nest(1, () => {
    w.u16(1, 2);
    w.string(6, 'rr', 16);
    w.inetAddr(3, '10.96.0.10');
    w.u16be(4, 53);
  });
  w.u32s(2, 5, 0xffffffff);
  w.string(7, 'sip', 32);
  const inner = streamed((s) => {
    s.push(1, putU16(2));
    s.push(6, putString('rr'));
    s.push(3, addrToInetUnion('10.96.0.10'));
    s.push(4, putU16be(53));
  });
  const want = Buffer.concat([
    formatGenlHeader({ cmd: 4, version: 1 }),
    streamed((s) => {
      s.push(9, Buffer.from([7]));
      s.push(1, inner);
      s.push(2, Buffer.concat([putU32(5), putU32(0xffffffff)]));
      s.push(7, putString('sip'));
    }),
  ]);
  assert.deepEqual(w.finish(), want);
});

test('addresses: canonical IPv4 fast, IPv6 through inet.ts, anything else throws', () => {
  for (const a of ['0.0.0.0', '10.96.0.10', '255.255.255.255', 'fd00::1', '::ffff:1.2.3.4']) {
    const w = new AttrWriter();
    const af = w.inetAddr(1, a);
    assert.deepEqual(w.finish().subarray(4), addrToInetUnion(a), a);
    assert.equal(af, a.includes(':') ? 10 : 2);
  }
  for (const bad of ['10.0.0.01', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '', 'x', '1.2.3.4 ']) {
    assert.throws(() => new AttrWriter().inetAddr(1, bad), TypeError, bad);
  }
});

test('a string longer than the kernel field is refused', () => {
  assert.throws(() => new AttrWriter().string(6, 'a'.repeat(16), 16), /longer than 15 bytes/);
});

test('strings: the ASCII fast path and UTF-8 give the bytes AttrStream does', () => {
  for (const s of ['', 'filter', 'KUBE-NWPLCY-ABCDEFGHIJKLMNOP', 'caf\u00e9', 'x'.repeat(70)]) {
    const w = new AttrWriter(4);
    w.u8(1, 1); // the string starts unaligned in the stream
    w.string(2, s, 256);
    assert.deepEqual(w.finish(), streamed((st) => { st.push(1, Buffer.from([1])); st.push(2, putString(s)); }), s);
  }
});

test('raw: attributes encoded apart are copied at the next aligned offset', () => {
  const part = new AttrWriter();
  part.nest(3, () => part.string(1, 'abc', 16));
  const direct = new AttrWriter();
  direct.u8(1, 9);
  direct.nest(3, () => direct.string(1, 'abc', 16));
  direct.u16(4, 7);
  const copied = new AttrWriter(4);
  copied.u8(1, 9);
  copied.raw(part.finish());
  copied.u16(4, 7);
  assert.deepEqual(copied.finish(), direct.finish());
});
