import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadMethods } from '../../src/bgp/client.js';
import { ANY, decodeCommunity, decodePath, encodeCommunity, encodePath } from '../../src/bgp/codec.js';
import { decodeAssignment, decodeDefinedSet, decodePeer, decodePolicy, encodeAssignment, encodeDefinedSet, encodePeer, encodePolicy } from '../../src/bgp/codec-config.js';
import { canonicalIp, parseCidr } from '../../src/bgp/ip.js';
import { KubeRouterError } from '../../src/errors.js';
import type { BgpPath, Policy } from '../../src/bgp/types.js';
import type { WirePath } from '../../src/bgp/wire.js';

const v4: BgpPath = { prefix: '10.244.1.0/24', family: 'ipv4', nextHop: '192.168.1.10', origin: 'igp', isWithdraw: false };
const v6: BgpPath = {
  prefix: '2001:db8:1::/64',
  family: 'ipv6',
  nextHop: 'fd00::10',
  origin: 'incomplete',
  asPath: [{ type: 'as-sequence', asns: [65001, 65002] }],
  communities: ['65000:100', '1:2'],
  localPref: 200,
  med: 7,
  isWithdraw: false,
};

/** Through real protobuf bytes: an AddPath request, then a WatchEvent response. */
function wireRoundTrip(p: BgpPath): BgpPath | undefined {
  const m = loadMethods();
  const req = m.AddPath.requestDeserialize(m.AddPath.requestSerialize({ table_type: 'GLOBAL', path: encodePath(p) })) as { path: WirePath };
  const res = m.WatchEvent.responseDeserialize(m.WatchEvent.responseSerialize({ table: { paths: [req.path] } })) as {
    event: string;
    table: { paths: WirePath[] };
  };
  assert.equal(res.event, 'table');
  return decodePath(res.table.paths[0]);
}

describe('bgp path codec', () => {
  it('IPv4: ORIGIN + NEXT_HOP attributes, IPAddressPrefix NLRI', () => {
    const w = encodePath(v4);
    assert.deepEqual(w.family, { afi: 'AFI_IP', safi: 'SAFI_UNICAST' });
    assert.deepEqual(w.nlri, { '@type': ANY.ipPrefix, prefix_len: 24, prefix: '10.244.1.0' });
    assert.deepEqual(w.pattrs, [
      { '@type': ANY.origin, origin: 0 },
      { '@type': ANY.nextHop, next_hop: '192.168.1.10' },
    ]);
  });

  it('IPv6: the next hop goes in MP_REACH_NLRI, not NEXT_HOP', () => {
    const w = encodePath(v6);
    const types = (w.pattrs ?? []).map((a) => a['@type']);
    assert.ok(!types.includes(ANY.nextHop));
    const mp = (w.pattrs ?? []).find((a) => a['@type'] === ANY.mpReach);
    assert.deepEqual(mp?.next_hops, ['fd00::10']);
    assert.deepEqual(mp?.nlris, [{ '@type': ANY.ipPrefix, prefix_len: 64, prefix: '2001:db8:1::' }]);
  });

  it('round trips IPv4 and IPv6 paths through protobuf bytes', () => {
    assert.deepEqual(wireRoundTrip(v4), { ...v4, best: false });
    assert.deepEqual(wireRoundTrip(v6), { ...v6, best: false });
  });

  it('a withdraw still carries its next hop (gobgpd requires it on DeletePath)', () => {
    const w = encodePath({ ...v4, isWithdraw: true });
    assert.equal(w.is_withdraw, true);
    assert.ok((w.pattrs ?? []).some((a) => a['@type'] === ANY.nextHop));
    assert.deepEqual(wireRoundTrip({ ...v6, isWithdraw: true }), { ...v6, isWithdraw: true, best: false });
  });

  it('the Any type_url on the wire is type.googleapis.com/apipb.<Message>', () => {
    const m = loadMethods();
    const bytes = m.AddPath.requestSerialize({ table_type: 'GLOBAL', path: encodePath(v4) });
    const text = bytes.toString('latin1');
    assert.ok(text.includes('type.googleapis.com/apipb.IPAddressPrefix'));
    assert.ok(text.includes('type.googleapis.com/apipb.NextHopAttribute'));
  });

  it('decodes the read-side fields and ignores unknown attributes', () => {
    const w: WirePath = {
      ...encodePath(v4),
      best: true,
      neighbor_ip: '10.0.0.2',
      age: { seconds: 1700000000, nanos: 0 },
      uuid: Buffer.from([1, 2]),
      stale: true,
    };
    w.pattrs = [...(w.pattrs ?? []), { '@type': 'type.googleapis.com/apipb.OriginatorIdAttribute', id: '1.1.1.1' }];
    assert.deepEqual(decodePath(w), { ...v4, best: true, neighborIp: '10.0.0.2', age: 1700000000, uuid: '0102', stale: true });
    assert.equal(decodePath({ ...w, neighbor_ip: '<nil>' })?.neighborIp, undefined);
  });

  it('rejects bad prefixes and next hops with KR_ERR_BGP', () => {
    const bad = (p: Partial<BgpPath>): void =>
      assert.throws(() => encodePath({ ...v4, ...p }), (e: unknown) => e instanceof KubeRouterError && e.code === 'KR_ERR_BGP');
    bad({ prefix: '10.244.1.0' });
    bad({ prefix: '10.244.1.0/33' });
    bad({ prefix: '2001:db8::/64' });
    bad({ nextHop: 'fd00::1' });
    bad({ nextHop: 'nope' });
    bad({ communities: ['70000:1'] });
  });

  it('communities: high:low, numbers and well-known names', () => {
    assert.equal(encodeCommunity('65000:100'), 65000 * 65536 + 100);
    assert.equal(encodeCommunity('no-export'), 0xffffff01);
    assert.equal(decodeCommunity(encodeCommunity('4259840100')), '65000:100');
  });

  it('IP helpers canonicalise like Go and clear host bits', () => {
    assert.equal(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(canonicalIp('fd00:0:0:1:0:0:0:1'), 'fd00:0:0:1::1');
    assert.deepEqual(parseCidr('10.244.1.7/24'), { family: 'ipv4', address: '10.244.1.0', length: 24 });
    assert.deepEqual(parseCidr('2001:db8:1:2::5/48'), { family: 'ipv6', address: '2001:db8:1::', length: 48 });
    assert.equal(parseCidr('10.0.0.0/x'), undefined);
  });
});

describe('bgp config codec', () => {
  it('peer spec round trip through the wire shape', () => {
    const spec = {
      neighborAddress: '10.0.0.2',
      peerAsn: 65001,
      localAsn: 64512,
      description: 'rr',
      authPassword: 's3cret',
      localAddress: '10.0.0.1',
      remotePort: 1790,
      holdTime: 30,
      keepaliveInterval: 10,
      connectRetry: 5,
      families: ['ipv4' as const, 'ipv6' as const],
      ebgpMultihopTtl: 4,
      routeReflectorClient: true,
      routeReflectorClusterId: '10.0.0.1',
      gracefulRestart: { enabled: true, restartTime: 90, deferralTime: 360 },
    };
    assert.deepEqual(decodePeer(encodePeer(spec)).spec, spec);
  });

  it('a local address of 0.0.0.0 (gobgpd for "none") reads as absent', () => {
    const w = encodePeer({ neighborAddress: '10.0.0.2', peerAsn: 1 });
    w.transport = { local_address: '0.0.0.0' };
    assert.equal(decodePeer(w).spec.localAddress, undefined);
  });

  it('defined sets, policies and assignments round trip', () => {
    const ps = { type: 'prefix' as const, name: 'p', prefixes: [{ prefix: '10.0.0.0/8', maskLengthMin: 8, maskLengthMax: 32 }] };
    assert.deepEqual(decodeDefinedSet(encodeDefinedSet(ps)), ps);
    const ns = encodeDefinedSet({ type: 'neighbor', name: 'n', neighbors: ['10.0.0.2', 'fd00::2', '10.1.0.0/16'] });
    assert.deepEqual(ns.list, ['10.0.0.2/32', 'fd00::2/128', '10.1.0.0/16']);
    const pol: Policy = {
      name: 'kube_router_export',
      statements: [
        {
          name: 's1',
          conditions: { prefixSet: { name: 'p', match: 'any' }, neighborSet: { name: 'n', match: 'invert' } },
          actions: {
            routeAction: 'accept',
            community: { type: 'add', communities: ['65000:1'] },
            asPrepend: { asn: 64512, repeat: 3 },
            nextHop: { self: true },
          },
        },
      ],
    };
    assert.deepEqual(decodePolicy(encodePolicy(pol)), pol);
    const a = { name: 'global', direction: 'export' as const, policies: ['x', 'y'], defaultAction: 'reject' as const };
    assert.deepEqual(decodeAssignment(encodeAssignment(a)), a);
  });
});
