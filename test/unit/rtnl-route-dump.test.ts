// Route dump messages read raw (route-dump.ts) give what the `netlink`
// package's parse + toRouteEntry gave, with the listRoutes filter applied;
// the IPv4 address helpers behind the route sorts agree with node:net.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { AttrStream, rt } from 'netlink';
import { AF_INET, AF_INET6, addrToBytes, compareAddr, familyOf, ipv4Value } from '../../src/kernel/rtnl/inet.js';
import { toRouteEntry } from '../../src/kernel/rtnl/messages.js';
import { readRouteEntry } from '../../src/kernel/rtnl/route-dump.js';

/** An RTM_NEWROUTE payload as the kernel would send it (rtmsg + attributes). */
function payload(data: rt.Route, attrs: rt.RouteAttrs): Buffer {
  const s = new AttrStream();
  rt.formatRouteMessage({ kind: 'route', data, attrs }, s);
  return Buffer.concat(s.bufs);
}

const CASES: [rt.Route, rt.RouteAttrs][] = [
  [
    { family: AF_INET, dstLen: 24, table: 254, protocol: 0x11, scope: 0, type: 1 },
    { table: 254, dst: addrToBytes('10.244.2.0'), gateway: addrToBytes('10.0.0.2'), oif: 3 },
  ],
  [
    { family: AF_INET, dstLen: 24, table: 254, protocol: 0x11, scope: 253, type: 1 },
    { table: 254, dst: addrToBytes('10.244.4.0'), oif: 9, prefsrc: addrToBytes('10.0.0.1'), priority: 20 },
  ],
  // Table 1000 does not fit rtm_table: RTA_TABLE carries it.
  [{ family: AF_INET, dstLen: 32, table: 0, protocol: 4, scope: 253, type: 1 }, { table: 1000, dst: addrToBytes('192.168.50.3'), oif: 2 }],
  // A default route has no RTA_DST.
  [{ family: AF_INET, dstLen: 0, table: 254, protocol: 3, scope: 0, type: 1 }, { table: 254, gateway: addrToBytes('10.0.0.254'), oif: 2 }],
  [
    { family: AF_INET6, dstLen: 64, table: 77, protocol: 0x11, scope: 0, type: 1 },
    { table: 77, dst: addrToBytes('fd00:244:2::'), gateway: addrToBytes('fd00:1::2'), oif: 4, priority: 1024 },
  ],
];

describe('route dump messages read raw', () => {
  it('every field as the netlink package parse and toRouteEntry give it', () => {
    for (const [data, attrs] of CASES) {
      const buf = payload(data, attrs);
      const family = data.family as typeof AF_INET;
      assert.deepEqual(readRouteEntry(buf, { family }), toRouteEntry(rt.parseRouteMessage(buf)), JSON.stringify(data));
    }
    assert.equal(readRouteEntry(payload(...CASES[2]), { family: AF_INET })?.table, 1000);
    assert.equal(readRouteEntry(payload(...CASES[3]), { family: AF_INET })?.dst, '0.0.0.0/0');
  });

  it('the filter: family, protocol and table (RTA_TABLE included)', () => {
    const [v4a, v4b, t1000, def, v6] = CASES.map(([d, a]) => payload(d, a));
    assert.equal(readRouteEntry(v6, { family: AF_INET }), undefined);
    assert.equal(readRouteEntry(v4a, { family: AF_INET6 }), undefined);
    assert.equal(readRouteEntry(def, { family: AF_INET, protocol: 0x11 }), undefined);
    assert.equal(readRouteEntry(v4b, { family: AF_INET, protocol: 0x11 })?.dst, '10.244.4.0/24');
    assert.equal(readRouteEntry(t1000, { family: AF_INET, table: 254 }), undefined);
    assert.equal(readRouteEntry(t1000, { family: AF_INET, table: 1000 })?.dst, '192.168.50.3/32');
    assert.equal(readRouteEntry(v6, { family: AF_INET6, table: 77, protocol: 0x11 })?.gateway, 'fd00:1::2');
  });

  it('a message cut short is no route, or stops at the last whole attribute', () => {
    const buf = payload(...CASES[0]);
    assert.equal(readRouteEntry(buf.subarray(0, 8), { family: AF_INET }), undefined);
    const cut = readRouteEntry(buf.subarray(0, buf.length - 2), { family: AF_INET });
    assert.equal(cut?.family, AF_INET);
  });
});

describe('IPv4 text helpers', () => {
  it('ipv4Value accepts exactly what node:net isIPv4 accepts', () => {
    const texts = ['0.0.0.0', '10.0.0.1', '255.255.255.255', '1.2.3.04', '01.2.3.4', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', '.1.2.3', 'a.b.c.d', '1.2.3.4 ', '', '::1', '1000.1.1.1', '1.2.3.-4'];
    for (const t of texts) assert.equal(ipv4Value(t) >= 0, isIPv4(t), JSON.stringify(t));
    assert.equal(ipv4Value('10.0.0.1'), 0x0a000001);
    assert.equal(ipv4Value('255.255.255.255'), 0xffffffff);
    assert.equal(familyOf('10.0.0.1'), AF_INET);
    assert.equal(familyOf('10.0.0.01'), undefined);
    assert.deepEqual(addrToBytes('192.168.1.200'), Buffer.from([192, 168, 1, 200]));
  });

  it('compareAddr orders IPv4 numerically, IPv4 before IPv6, non-addresses first', () => {
    const sorted = ['fd00::1', '10.0.0.10', 'zz', '9.255.255.255', '10.0.0.2', '::1', '255.0.0.0'].sort(compareAddr);
    assert.deepEqual(sorted, ['zz', '9.255.255.255', '10.0.0.2', '10.0.0.10', '255.0.0.0', '::1', 'fd00::1']);
  });
});
