// WatchEvent table events read straight from the wire (watch-decode.ts) give
// the same paths as proto-loader's generic deserializer followed by
// decodePath, for every field decodePath reads; peer events are left to the
// generic deserializer; malformed bytes are a KR_ERR_BGP error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadMethods } from '../../src/bgp/client.js';
import { ANY, decodePath, encodePath } from '../../src/bgp/codec.js';
import { PbReader } from '../../src/bgp/pb-reader.js';
import { readTableEvent } from '../../src/bgp/watch-decode.js';
import { KubeRouterError } from '../../src/errors.js';
import type { BgpPath } from '../../src/bgp/types.js';
import type { WirePath, WireWatchEventResponse } from '../../src/bgp/wire.js';

const v4: BgpPath = { prefix: '10.244.1.0/24', family: 'ipv4', nextHop: '192.168.1.10', origin: 'egp', isWithdraw: false };
const v6: BgpPath = {
  prefix: '2001:db8:1::/64',
  family: 'ipv6',
  nextHop: 'fd00::10',
  origin: 'incomplete',
  asPath: [
    { type: 'as-sequence', asns: [65001, 4200000000] },
    { type: 'as-set', asns: [1, 2] },
  ],
  communities: ['65000:100', '1:2', '65535:65281'],
  localPref: 200,
  med: 7,
  isWithdraw: false,
};

/** A read-side wire path: what gobgpd adds to a learned path. */
function learned(p: BgpPath, over: Partial<WirePath> = {}): WirePath {
  return { ...encodePath(p), best: true, neighbor_ip: '10.0.0.2', age: { seconds: 1700000123, nanos: 5 }, source_asn: 64512, source_id: '10.0.0.2', ...over };
}

function bytesOf(paths: WirePath[]): Buffer {
  return loadMethods().WatchEvent.responseSerialize({ table: { paths } }) as Buffer;
}

/** The reference: proto-loader's deserializer, then decodePath. */
function generic(buf: Buffer): (BgpPath | undefined)[] {
  const ev = loadMethods().WatchEvent.responseDeserialize(buf) as WireWatchEventResponse;
  return (ev.table?.paths ?? []).map(decodePath);
}

function lean(buf: Buffer): (BgpPath | undefined)[] | undefined {
  return readTableEvent(buf)?.map(decodePath);
}

describe('WatchEvent table events read from the wire', () => {
  it('IPv4 and IPv6 (MP_REACH_NLRI) paths with every attribute decodePath reads, as the generic deserializer', () => {
    const buf = bytesOf([learned(v4), learned(v6, { uuid: Buffer.from([0xde, 0xad]), stale: true, filtered: true })]);
    const got = lean(buf);
    assert.deepEqual(got, generic(buf));
    assert.deepEqual(got?.[1], { ...v6, best: true, neighborIp: '10.0.0.2', age: 1700000123, uuid: 'dead', stale: true, filtered: true });
  });

  it('a withdrawal (is_withdraw) and an IPv6 withdrawal through MP_UNREACH_NLRI without an NLRI', () => {
    const unreach: WirePath = {
      family: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' },
      pattrs: [{ '@type': ANY.mpUnreach, family: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' }, nlris: [{ '@type': ANY.ipPrefix, prefix_len: 48, prefix: '2001:db8:9::' }] }],
      is_withdraw: true,
      neighbor_ip: 'fd00::2',
    };
    const buf = bytesOf([learned({ ...v4, isWithdraw: true }), unreach]);
    const got = lean(buf);
    assert.deepEqual(got, generic(buf));
    assert.equal(got?.[0]?.isWithdraw, true);
    assert.equal(got?.[1]?.prefix, '2001:db8:9::/48');
  });

  it('attributes of other types, local paths and an empty event', () => {
    const w = learned(v4, { neighbor_ip: '<nil>' });
    // OriginatorId (not in our protos): kept as its type only, ignored by decodePath.
    w.pattrs = [...(w.pattrs ?? []), { type_url: 'type.googleapis.com/apipb.OriginatorIdAttribute', value: Buffer.from([10, 7, 49, 46, 49, 46, 49, 46, 49]) }];
    const buf = bytesOf([w]);
    assert.deepEqual(lean(buf), generic(buf));
    assert.equal(lean(buf)?.[0]?.neighborIp, undefined);
    assert.deepEqual(lean(bytesOf([])), generic(bytesOf([])));
  });

  it('thousands of one-path events decode as the generic deserializer does', () => {
    for (let i = 0; i < 2000; i++) {
      const prefix = `10.${128 + Math.floor(i / 256)}.${i % 256}.0/24`;
      const buf = bytesOf([learned({ ...v4, prefix, nextHop: `10.99.${i % 7}.2` })]);
      assert.deepEqual(lean(buf), generic(buf), prefix);
    }
  });

  it('peer events are not read here (undefined: the generic deserializer takes them)', () => {
    const buf = loadMethods().WatchEvent.responseSerialize({ peer: { type: 'STATE', peer: { conf: { neighbor_address: '10.0.0.2' } } } }) as Buffer;
    assert.equal(readTableEvent(buf), undefined);
  });

  it('truncated bytes are a KR_ERR_BGP error naming the message', () => {
    const buf = bytesOf([learned(v4)]);
    assert.throws(
      () => readTableEvent(buf.subarray(0, buf.length - 3)),
      (e: unknown) => e instanceof KubeRouterError && e.code === 'KR_ERR_BGP' && /WatchEventResponse|malformed/.test(e.message),
    );
  });

  it('the reader: varints up to 2^53, packed and unpacked repeated uint32, skipped fixed fields', () => {
    // field 1 varint 2^40+1; field 2 packed [1, 300]; field 2 unpacked 5; field 3 fixed64; field 4 fixed32; field 5 varint 9
    const bytes = Buffer.from([0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x20, 0x12, 0x03, 0x01, 0xac, 0x02, 0x10, 0x05, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3, 4, 0x28, 0x09]);
    const r = new PbReader(bytes);
    const nums: number[] = [];
    let first = 0;
    let last = 0;
    while (!r.done()) {
      const [field, wt] = r.tag();
      if (field === 1) first = r.varint();
      else if (field === 2) r.uint32s(wt, nums);
      else if (field === 5) last = r.varint();
      else r.skip(wt);
    }
    assert.equal(first, 2 ** 40 + 1);
    assert.deepEqual(nums, [1, 300, 5]);
    assert.equal(last, 9);
  });
});
