// The ipset netlink codec without a kernel: elements of every type encoded
// as the kernel expects them and decoded back to the same canonical text
// (through a LIST message built from the same attributes), the header
// options, and the failing line the kernel echoes in an error.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER } from '../../src/kernel/netlink/attr-writer.js';
import { decodeListMessage, encodeCreate, encodeElement, errorLine, IpsetCodecError, request, type DumpedSet } from '../../src/kernel/ipset/nl-codec.js';
import { Attr, Head, ipsetReason, Cmd } from '../../src/kernel/ipset/nl-proto.js';
import type { IpsetType } from '../../src/kernel/ipset/types.js';

function listMessage(name: string, type: IpsetType, family: number, entries: string[]): Buffer {
  const w = request();
  w.string(Attr.SETNAME, name, 32);
  w.string(Attr.TYPENAME, type, 32);
  w.u8(Attr.FAMILY, family);
  w.u8(Attr.REVISION, 1);
  w.nest(Attr.DATA | NLA_F_NESTED, () => {
    w.u32be(Head.HASHSIZE | NLA_F_NET_BYTEORDER, 1024);
    w.u32be(Head.MAXELEM | NLA_F_NET_BYTEORDER, 65536);
    w.u32be(Head.TIMEOUT | NLA_F_NET_BYTEORDER, 0);
  });
  w.nest(Attr.ADT | NLA_F_NESTED, () => entries.forEach((e, i) => encodeElement(w, type, e, i + 1)));
  return w.finish();
}

const cases: Array<[IpsetType, number, string[]]> = [
  ['hash:ip', 2, ['10.0.0.1', '255.255.255.255', '0.0.0.0']],
  ['hash:ip', 10, ['2001:db8::1', 'fd00::a', '::1']],
  ['hash:net', 2, ['10.0.0.0/8', '10.1.2.3', '10.244.3.0/24 nomatch']],
  ['hash:net', 10, ['2001:db8::/32', '2001:db8:1::/48 nomatch', 'fd00::1']],
  ['hash:ip,port', 2, ['10.0.0.1,tcp:80', '10.0.0.1,udp:53', '10.0.0.1,sctp:9', '10.0.0.1,udplite:7', '10.0.0.1,tcp:65535']],
  ['hash:ip,port,ip', 2, ['10.0.0.1,tcp:80,10.0.0.2']],
  ['hash:ip,port,net', 2, ['10.0.0.1,tcp:80,10.8.0.0/16', '10.0.0.1,udp:9,10.9.0.0/16 nomatch', '10.0.0.1,udp:9,10.9.9.9']],
  ['list:set', 0, ['kube-router-svip', 'kube-router-pod-subnets']],
];

describe('ipset netlink codec', () => {
  for (const [type, family, entries] of cases) {
    it(`${type} (family ${family}): every element decodes to the text it was encoded from`, () => {
      const sets = new Map<string, DumpedSet>();
      decodeListMessage(listMessage('s', type, family, entries), sets, () => true);
      const s = sets.get('s')?.set;
      assert.ok(s);
      assert.equal(s.type, type);
      assert.equal(s.family, family === 10 ? 'inet6' : 'inet');
      assert.deepEqual(s.options, { hashsize: 1024, maxelem: 65536, timeout: 0 });
      assert.deepEqual([...s.entries], entries);
    });
  }

  it('members of a later message join the set of the first one; unselected sets are skipped', () => {
    const sets = new Map<string, DumpedSet>();
    decodeListMessage(listMessage('a', 'hash:ip', 2, ['10.0.0.1']), sets, (n) => n === 'a');
    const more = request();
    more.string(Attr.SETNAME, 'a', 32);
    more.nest(Attr.ADT | NLA_F_NESTED, () => encodeElement(more, 'hash:ip', '10.0.0.2', 1));
    decodeListMessage(more.finish(), sets, (n) => n === 'a');
    decodeListMessage(listMessage('b', 'hash:ip', 2, ['10.0.0.3']), sets, (n) => n === 'a');
    assert.deepEqual([...sets.keys()], ['a']);
    assert.deepEqual([...(sets.get('a')?.set?.entries ?? [])], ['10.0.0.1', '10.0.0.2']);
  });

  it('a set of a type we do not manage is listed without members', () => {
    const w = request();
    w.string(Attr.SETNAME, 'ports', 32);
    w.string(Attr.TYPENAME, 'bitmap:port', 32);
    const sets = new Map<string, DumpedSet>();
    decodeListMessage(w.finish(), sets, () => true);
    assert.deepEqual(sets.get('ports'), { name: 'ports', typeName: 'bitmap:port' });
  });

  it('an element that does not fit its type is refused before anything is sent', () => {
    const w = request();
    assert.throws(() => encodeElement(w, 'hash:ip,port', '10.0.0.1,icmp:8', 1), IpsetCodecError);
    assert.throws(() => encodeElement(w, 'hash:ip,port,ip', '10.0.0.1,tcp:80', 1), IpsetCodecError);
    assert.throws(() => encodeElement(w, 'hash:ip', '10.0.0.1 bogus', 1), IpsetCodecError);
    assert.throws(() => encodeElement(w, 'hash:ip', 'not-an-ip', 1));
  });

  it('create carries the revision, the family and the options in network byte order', () => {
    const b = encodeCreate('x', 'hash:net', 'inet6', 7, { hashsize: 64, timeout: 0 });
    // nfgenmsg (4) + PROTOCOL (8) + SETNAME "x" (8) + TYPENAME "hash:net" (16) + REVISION (8) + FAMILY (8) + DATA.
    assert.equal(b.readUInt8(4 + 8 + 8 + 16 + 4), 7);
    assert.equal(b.readUInt8(4 + 8 + 8 + 16 + 8 + 4), 10);
    const data = b.subarray(4 + 8 + 8 + 16 + 8 + 8);
    assert.equal(data.readUInt16LE(2), Attr.DATA | NLA_F_NESTED);
    assert.equal(data.readUInt16LE(4 + 2), Head.HASHSIZE | NLA_F_NET_BYTEORDER);
    assert.equal(data.readUInt32BE(4 + 4), 64);
  });

  it('reads the failing line out of the request the kernel echoes in its error', () => {
    const req = request();
    req.string(Attr.SETNAME, 's', 32);
    req.u32(Attr.LINENO, 42);
    const body = req.finish();
    const err = Buffer.alloc(4 + 16 + body.length);
    err.writeInt32LE(-4103, 0);
    err.writeUInt32LE(16 + body.length, 4);
    body.copy(err, 20);
    assert.equal(errorLine(err), 42);
    assert.equal(errorLine(Buffer.alloc(8)), undefined);
    assert.match(ipsetReason(4103, Cmd.ADD), /already added/);
    assert.match(ipsetReason(4103, Cmd.DEL), /not added/);
    assert.match(ipsetReason(2, Cmd.DESTROY), /does not exist/);
    assert.match(ipsetReason(4100, Cmd.DESTROY), /in use/);
  });
});
