// Desired BGP global and peers: full mesh, route reflectors, ASN mismatch, external peers from flags vs annotations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRouting, generateRouterId, routerIdFor } from '../../src/controllers/routing/compile.js';
import { input, node, threeNodes } from './routing-fixtures.test.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('global config', () => {
  it('ASN, router id, port, listen addresses, graceful restart from flags', () => {
    const r = compileRouting(input(threeNodes(), {}, { bgpPort: 1790, bgpGracefulRestart: true }));
    assert.deepEqual(r.bgp?.global, {
      asn: 64512,
      routerId: '10.0.0.1',
      listenPort: 1790,
      listenAddresses: ['10.0.0.1'],
      gracefulRestart: { enabled: true, restartTime: 90, deferralTime: 360, localRestarting: true },
    });
  });

  it('router id: explicit, generate (FNV-1a of the 16-byte IP), IPv6 needs one', () => {
    assert.equal(routerIdFor('10.0.0.1', '1.1.1.1'), '1.1.1.1');
    assert.equal(routerIdFor('10.0.0.1', 'generate'), generateRouterId('10.0.0.1'));
    assert.match(generateRouterId('10.0.0.1'), /^\d+\.\d+\.\d+\.\d+$/);
    assert.notEqual(generateRouterId('10.0.0.1'), generateRouterId('10.0.0.2'));
    assert.equal(routerIdFor('fd00::1', ''), undefined);
    const r = compileRouting(input([node('n1', 'fd00::1', 'fd00:244::/64')], {}, { enableIpv6: true }));
    assert.equal(r.bgp, undefined);
    assert.ok(r.warnings.some((w) => /router-id/.test(w.message)));
  });

  it('bgp-local-addresses annotation sets the listen addresses', () => {
    const nodes = threeNodes({ n1: { 'kube-router.io/bgp-local-addresses': '10.0.0.1,10.9.9.9' } });
    assert.deepEqual(compileRouting(input(nodes)).bgp?.global.listenAddresses, ['10.0.0.1', '10.9.9.9']);
  });

  it('pod CIDR paths with next hop = node IP; none for a node without pod CIDR (warning names it)', () => {
    const r = compileRouting(input(threeNodes()));
    assert.deepEqual(r.bgp?.paths, [{ prefix: '10.244.1.0/24', family: 'ipv4', nextHop: '10.0.0.1', origin: 'igp', isWithdraw: false }]);
    const bare = compileRouting(input([node('n1', '10.0.0.1'), node('n2', '10.0.0.2', '10.244.2.0/24')]));
    assert.deepEqual(bare.bgp?.paths, []);
    assert.ok(bare.warnings.some((w) => w.message.startsWith('Node n1: spec.podCIDR')));
    assert.equal(bare.bgp?.peers.length, 1, 'the rest is unaffected');
  });
});

describe('iBGP peers', () => {
  it('full mesh: every other node, with local address, hold time, remote port, GR', () => {
    const r = compileRouting(input(threeNodes(), {}, { bgpPort: 1790, bgpHoldtime: 30_000, bgpGracefulRestart: true }));
    assert.deepEqual(r.bgp?.peers, ['10.0.0.2', '10.0.0.3'].map((ip) => ({
      neighborAddress: ip,
      peerAsn: 64512,
      holdTime: 30,
      families: ['ipv4'],
      gracefulRestart: { enabled: true, restartTime: 90, deferralTime: 360 },
      localAddress: '10.0.0.1',
      remotePort: 1790,
    })));
  });

  it('--enable-ibgp=false: no node peers', () => {
    assert.deepEqual(compileRouting(input(threeNodes(), {}, { enableIbgp: false })).bgp?.peers, []);
  });

  it('--nodes-full-mesh=false: ASN from node.asn, peers only with the same ASN', () => {
    const nodes = threeNodes({
      n1: { 'kube-router.io/node.asn': '65001' },
      n2: { 'kube-router.io/node.asn': '65001' },
      n3: { 'kube-router.io/node.asn': '65002' },
    });
    const r = compileRouting(input(nodes, {}, { nodesFullMesh: false }));
    assert.equal(r.bgp?.global.asn, 65001);
    assert.deepEqual(r.bgp?.peers.map((p) => [p.neighborAddress, p.peerAsn]), [['10.0.0.2', 65001]]);
  });

  it('--nodes-full-mesh=false with an unparsable node.asn: warning naming the node, no BGP here; others skip it', () => {
    const nodes = threeNodes({ n1: { 'kube-router.io/node.asn': 'x' }, n2: { 'kube-router.io/node.asn': '65001' } });
    const r = compileRouting(input(nodes, {}, { nodesFullMesh: false }));
    assert.equal(r.bgp, undefined);
    assert.ok(r.warnings.some((w) => w.message.startsWith('Node n1: metadata.annotations[kube-router.io/node.asn]')));
    const other = compileRouting(input(nodes, { nodeName: 'n2' }, { nodesFullMesh: false }));
    assert.deepEqual(other.bgp?.peers, []);
    assert.ok(other.warnings.some((w) => w.message.startsWith('Node n1: metadata.annotations[kube-router.io/node.asn]')));
  });

  it('route reflectors: clients peer only with servers; servers mark clients with the cluster id', () => {
    const ann = { n1: { 'kube-router.io/rr.server': '42' }, n2: { 'kube-router.io/rr.client': '42' }, n3: { 'kube-router.io/rr.client': '42' } };
    const server = compileRouting(input(threeNodes(ann)));
    assert.deepEqual(server.bgp?.peers.map((p) => [p.neighborAddress, p.routeReflectorClient, p.routeReflectorClusterId]), [
      ['10.0.0.2', true, '0.0.0.42'],
      ['10.0.0.3', true, '0.0.0.42'],
    ]);
    const client = compileRouting(input(threeNodes(ann), { nodeName: 'n2' }));
    assert.deepEqual(client.bgp?.peers.map((p) => [p.neighborAddress, p.routeReflectorClient]), [['10.0.0.1', undefined]]);
  });
});

describe('external peers', () => {
  it('from flags: passwords base64-decoded, ports, multihop TTL >= 2', () => {
    const r = compileRouting(
      input(threeNodes(), {}, {
        peerRouterIps: ['192.168.1.1', '192.168.1.2'],
        peerRouterAsns: [65000, 65001],
        peerRouterPasswords: [b64('secret'), ''],
        peerRouterPorts: [179, 1790],
        peerRouterMultihopTtl: 3,
      }),
    );
    const ext = r.bgp?.peers.filter((p) => p.neighborAddress.startsWith('192.'));
    assert.deepEqual(ext, [
      { neighborAddress: '192.168.1.1', peerAsn: 65000, holdTime: 90, families: ['ipv4'], localAddress: '10.0.0.1', authPassword: 'secret', ebgpMultihopTtl: 3 },
      { neighborAddress: '192.168.1.2', peerAsn: 65001, holdTime: 90, families: ['ipv4'], localAddress: '10.0.0.1', remotePort: 1790, ebgpMultihopTtl: 3 },
    ]);
  });

  it('multihop TTL 1 is not used', () => {
    const r = compileRouting(input(threeNodes(), {}, { peerRouterIps: ['192.168.1.1'], peerRouterAsns: [65000], peerRouterMultihopTtl: 1 }));
    assert.equal(r.bgp?.peers.find((p) => p.neighborAddress === '192.168.1.1')?.ebgpMultihopTtl, undefined);
  });

  it('a bad base64 flag password: that peer is skipped with a flag error (value not echoed)', () => {
    const r = compileRouting(input(threeNodes(), {}, { peerRouterIps: ['192.168.1.1'], peerRouterAsns: [65000], peerRouterPasswords: ['!!!'] }));
    assert.equal(r.bgp?.peers.some((p) => p.neighborAddress === '192.168.1.1'), false);
    const w = r.warnings.find((x) => x.code === 'KR_ERR_FLAG');
    assert.ok(w && !w.message.includes('!!!'));
  });

  it('from annotations only when no --peer-router-ips', () => {
    const ann = { n1: { 'kube-router.io/peer.ips': '192.168.5.5', 'kube-router.io/peer.asns': '65100', 'kube-router.io/peer.passwords': b64('pw') } };
    const fromAnn = compileRouting(input(threeNodes(ann)));
    assert.deepEqual(
      fromAnn.bgp?.peers.filter((p) => p.peerAsn === 65100).map((p) => [p.neighborAddress, p.authPassword]),
      [['192.168.5.5', 'pw']],
    );
    const withFlags = compileRouting(input(threeNodes(ann), {}, { peerRouterIps: ['192.168.1.1'], peerRouterAsns: [65000] }));
    assert.deepEqual(withFlags.bgp?.peers.filter((p) => p.peerAsn !== 64512).map((p) => p.neighborAddress), ['192.168.1.1']);
  });

  it('annotation peers of another node are not ours', () => {
    const ann = { n2: { 'kube-router.io/peer.ips': '192.168.5.5', 'kube-router.io/peer.asns': '65100' } };
    assert.equal(compileRouting(input(threeNodes(ann))).bgp?.peers.length, 2);
  });

  it('mismatched peer annotation lists: this node has no external peers, iBGP unaffected', () => {
    const ann = { n1: { 'kube-router.io/peer.ips': '192.168.5.5,192.168.5.6', 'kube-router.io/peer.asns': '65100' } };
    const r = compileRouting(input(threeNodes(ann)));
    assert.deepEqual(r.bgp?.peers.map((p) => p.neighborAddress), ['10.0.0.2', '10.0.0.3']);
    assert.ok(r.warnings.some((w) => w.message.startsWith('Node n1: metadata.annotations[kube-router.io/peer.asns]')));
  });

  it('the local address of a peer follows its family', () => {
    const n1 = node('n1', '10.0.0.1', '10.244.1.0/24');
    n1.status?.addresses?.push({ type: 'InternalIP', address: 'fd00::1' });
    const r = compileRouting(input([n1], {}, { enableIpv6: true, peerRouterIps: ['fd00::99'], peerRouterAsns: [65000] }));
    assert.deepEqual(r.bgp?.peers.map((p) => [p.neighborAddress, p.localAddress, p.families]), [['fd00::99', 'fd00::1', ['ipv4', 'ipv6']]]);
    assert.deepEqual(r.bgp?.global.listenAddresses, ['10.0.0.1', 'fd00::1']);
  });
});

describe('determinism', () => {
  it('node order does not matter', () => {
    const a = compileRouting(input(threeNodes()));
    const b = compileRouting(input(threeNodes().reverse()));
    assert.deepEqual(a.bgp, b.bgp);
  });
});
