// Route / tunnel / rule plans for same-subnet and other-subnet next hops x overlay off / subnet / full; tunnel names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRoutes, type RoutePlanInput } from '../../src/controllers/routing/routes-plan.js';
import { isTunnelName, tunnelName } from '../../src/controllers/routing/tunnel-name.js';

describe('tunnel names (kube-router pkg/tunnels test vectors)', () => {
  it('tun- + 11 hex of sha256 of the IP without . and :', () => {
    assert.equal(tunnelName('10.0.0.1'), 'tun-e443169117a');
    assert.equal(tunnelName('100.200.300.400'), 'tun-9033d7906c7');
    assert.equal(tunnelName('2001:db8:42:2::/64'), 'tun-ba56986ef05');
    assert.ok(tunnelName('fd00::1234').length <= 15);
    assert.ok(isTunnelName('tun-e443169117a'));
    assert.ok(!isTunnelName('tun-1722012766'));
  });
});

const SAME = { prefix: '10.244.2.0/24', nextHop: '10.0.0.2' };
const OTHER = { prefix: '10.244.3.0/24', nextHop: '192.168.50.3' };

function plan(over: Partial<RoutePlanInput>) {
  return planRoutes({
    paths: [OTHER, SAME],
    nodeIps: { ipv4: '10.0.0.1' },
    connectedSubnets: ['10.0.0.1/24'],
    podCidrs: ['10.244.1.0/24'],
    enableOverlay: true,
    overlayType: 'subnet',
    ...over,
  });
}

describe('route plans', () => {
  it('overlay subnet: direct route on the same subnet, tunnel to the other subnet, table 77 and its rule', () => {
    const p = plan({});
    const tun = tunnelName('192.168.50.3');
    assert.deepEqual(p.routes, [
      { dst: '10.244.2.0/24', table: 254, protocol: 0x11, gateway: '10.0.0.2' },
      { dst: '10.244.3.0/24', table: 254, protocol: 0x11, oif: tun, src: '10.0.0.1', scope: 253 },
    ]);
    assert.deepEqual(p.tunnels, [{ name: tun, mode: 'ipip', local: '10.0.0.1', remote: '192.168.50.3' }]);
    assert.deepEqual(p.pbrRoutes, [{ dst: '192.168.50.3/32', table: 77, protocol: 0x11, oif: tun, scope: 253 }]);
    assert.deepEqual(p.rules, [{ family: 2, priority: 32765, table: 77, src: '10.244.1.0/24' }]);
    assert.deepEqual(p.skipped, []);
  });

  it('overlay full: every next hop through a tunnel', () => {
    const p = plan({ overlayType: 'full' });
    assert.deepEqual(p.routes.map((r) => r.oif), [tunnelName('10.0.0.2'), tunnelName('192.168.50.3')]);
    assert.equal(p.tunnels.length, 2);
    assert.equal(p.pbrRoutes.length, 2);
  });

  it('overlay off: direct route on the same subnet; other subnet gets no route (kube-router leaves it to the default gateway), no rules', () => {
    const p = plan({ enableOverlay: false });
    assert.deepEqual(p.routes, [{ dst: '10.244.2.0/24', table: 254, protocol: 0x11, gateway: '10.0.0.2' }]);
    assert.deepEqual(p.tunnels, []);
    assert.deepEqual(p.rules, []);
    assert.deepEqual(p.skipped, [{ prefix: '10.244.3.0/24', nextHop: '192.168.50.3', reason: 'other-subnet-no-overlay' }]);
  });

  it('overlay off with overlay-type full is still off', () => {
    assert.deepEqual(plan({ enableOverlay: false, overlayType: 'full' }).tunnels, []);
  });

  it('IPv6 uses ip6ip6 and the v6 node IP; mismatched families and own next hops are skipped', () => {
    const p = planRoutes({
      paths: [
        { prefix: 'fd00:244:2::/64', nextHop: 'fd00:1::2' },
        { prefix: 'fd00:244:3::/64', nextHop: '10.0.0.3' },
        { prefix: '10.244.9.0/24', nextHop: '10.0.0.1' },
      ],
      nodeIps: { ipv4: '10.0.0.1', ipv6: 'fd00:1::1' },
      connectedSubnets: ['10.0.0.1/24', 'fd00:1::1/64'],
      podCidrs: ['10.244.1.0/24', 'fd00:244:1::/64'],
      enableOverlay: true,
      overlayType: 'full',
    });
    assert.deepEqual(p.tunnels, [{ name: tunnelName('fd00:1::2'), mode: 'ip6ip6', local: 'fd00:1::1', remote: 'fd00:1::2' }]);
    assert.equal(p.routes[0].src, 'fd00:1::1');
    assert.deepEqual(p.skipped.map((s) => s.reason), ['family-mismatch', 'own-next-hop']);
    assert.deepEqual(p.rules.map((r) => [r.family, r.src]), [[2, '10.244.1.0/24'], [10, 'fd00:244:1::/64']]);
  });

  it('several prefixes behind one next hop share one tunnel; output is sorted whatever the input order', () => {
    const paths = [
      { prefix: '10.244.4.0/24', nextHop: '192.168.50.3' },
      { prefix: '10.244.3.0/24', nextHop: '192.168.50.3' },
    ];
    const a = plan({ paths });
    assert.equal(a.tunnels.length, 1);
    assert.deepEqual(a.routes.map((r) => r.dst), ['10.244.3.0/24', '10.244.4.0/24']);
    assert.deepEqual(plan({ paths: [...paths].reverse() }), a);
  });
  it('routes sorted by family, address (numerically) and prefix length; many prefixes through few tunnels', () => {
    const paths = [
      { prefix: 'fd00:244:10::/64', nextHop: 'fd00:1::2' },
      { prefix: '10.244.10.0/24', nextHop: '10.0.0.2' },
      { prefix: '10.244.9.0/24', nextHop: '10.0.0.3' },
      { prefix: 'fd00:244:9::/64', nextHop: 'fd00:1::3' },
      { prefix: '10.244.10.0/23', nextHop: '10.0.0.4' },
      { prefix: '9.0.0.0/8', nextHop: '10.0.0.5' },
      { prefix: '10.244.9.128/25', nextHop: '10.0.0.2' },
    ];
    const p = planRoutes({
      paths,
      nodeIps: { ipv4: '10.0.0.1', ipv6: 'fd00:1::1' },
      connectedSubnets: ['10.0.0.1/24', 'fd00:1::1/64'],
      podCidrs: [],
      enableOverlay: false,
      overlayType: 'subnet',
    });
    assert.deepEqual(
      p.routes.map((r) => r.dst),
      ['9.0.0.0/8', '10.244.9.0/24', '10.244.9.128/25', '10.244.10.0/23', '10.244.10.0/24', 'fd00:244:9::/64', 'fd00:244:10::/64'],
    );
    const many = Array.from({ length: 600 }, (_, i) => ({ prefix: `10.${100 + (i % 3)}.${Math.floor(i / 3)}.0/24`, nextHop: `192.168.50.${i % 3}` }));
    const q = plan({ paths: many, overlayType: 'full' });
    assert.equal(q.tunnels.length, 3);
    assert.equal(q.pbrRoutes.length, 3);
    assert.equal(q.routes.length, 600);
    assert.deepEqual(q.routes.slice(0, 2).map((r) => r.dst), ['10.100.0.0/24', '10.100.1.0/24']);
  });
});
