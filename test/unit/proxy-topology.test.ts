// Topology-aware routing with kube-proxy's rules: EndpointSlice hints
// (forZones, forNodes) narrow Cluster-policy traffic to this node's zone
// (node) when every ready endpoint is hinted and one matches; otherwise all
// endpoints. Local traffic policies take precedence and ignore hints.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import type { CompiledService } from '../../src/controllers/proxy/model.js';
import { nodeInfoFrom } from '../../src/controllers/proxy/node-info.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { ctx, ep, NODE, slice, svc, type EpInit } from './proxy-fixtures.js';
import { fakeKernels, ipvsDump, newController, nodeObject } from './proxy-controller-helpers.js';

const LB_IP = '198.51.100.7';

/** Destinations of the virtual service on `address:port`, as `ip` (the fixture slice port is 8080). */
function dests(c: CompiledService, address: string, port = 80): string[] {
  const v = c.services.find((s) => s.service.address === address && s.service.port === port);
  assert.ok(v, `no virtual service ${address}:${port}`);
  return v.destinations.map((d) => d.address);
}

function lbService(spec: Parameters<typeof svc>[0] extends infer T ? (T extends { spec?: infer S } ? S : never) : never = {}) {
  return svc({
    type: 'LoadBalancer',
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
    spec: { trafficDistribution: 'PreferClose', ...spec },
    status: { loadBalancer: { ingress: [{ ip: LB_IP }] } },
  });
}

const zoned = (ip: string, node: string, zone: string, more: Partial<EpInit> = {}): EpInit => ep(ip, node, { forZones: [zone], ...more });

function compileZone(zone: string, endpoints: EpInit[], s = lbService()): CompiledService {
  return compileService(s, [slice({ endpoints })], ctx({}, { zone }));
}

const ALL_HINTED = [
  zoned('10.244.1.5', NODE, 'zone-a'),
  zoned('10.244.2.5', 'node-b', 'zone-a'),
  zoned('10.244.3.5', 'node-c', 'zone-b'),
];

test('every endpoint hinted, some for this zone: ClusterIP, NodePort and LB IP reach this zone only', () => {
  const c = compileZone('zone-a', ALL_HINTED);
  assert.deepEqual(dests(c, '10.96.0.10'), ['10.244.1.5', '10.244.2.5']);
  assert.deepEqual(dests(c, '192.168.1.10', 30080), ['10.244.1.5', '10.244.2.5']);
  assert.deepEqual(dests(c, LB_IP), ['10.244.1.5', '10.244.2.5']);
  // A node of the other zone gets the other endpoint.
  assert.deepEqual(dests(compileZone('zone-b', ALL_HINTED), '10.96.0.10'), ['10.244.3.5']);
});

test('without hints, or one ready endpoint missing its hint: every endpoint', () => {
  const none = compileZone('zone-a', [ep('10.244.1.5'), ep('10.244.2.5', 'node-b'), ep('10.244.3.5', 'node-c')]);
  assert.deepEqual(dests(none, '10.96.0.10'), ['10.244.1.5', '10.244.2.5', '10.244.3.5']);
  const partial = compileZone('zone-a', [zoned('10.244.1.5', NODE, 'zone-a'), ep('10.244.2.5', 'node-b')]);
  assert.deepEqual(dests(partial, '10.96.0.10'), ['10.244.1.5', '10.244.2.5']);
});

test('no endpoint hinted for this zone, or this node has no zone label: every endpoint', () => {
  assert.deepEqual(dests(compileZone('zone-c', ALL_HINTED), '10.96.0.10'), ['10.244.1.5', '10.244.2.5', '10.244.3.5']);
  assert.deepEqual(dests(compileZone('', ALL_HINTED), '10.96.0.10'), ['10.244.1.5', '10.244.2.5', '10.244.3.5']);
});

test('only ready endpoints count: an unhinted not-ready endpoint does not turn topology off', () => {
  const c = compileZone('zone-a', [...ALL_HINTED, ep('10.244.4.5', 'node-d', { ready: false, serving: false })]);
  assert.deepEqual(dests(c, '10.96.0.10'), ['10.244.1.5', '10.244.2.5']);
});

test('an endpoint hinted for several zones serves each of them', () => {
  const c = compileZone('zone-b', [zoned('10.244.1.5', NODE, 'zone-a', { forZones: ['zone-a', 'zone-b'] }), zoned('10.244.3.5', 'node-c', 'zone-a')]);
  assert.deepEqual(dests(c, '10.96.0.10'), ['10.244.1.5']);
});

test('no ready endpoint anywhere: the serving+terminating fallback ignores topology', () => {
  const term = { ready: false, serving: true, terminating: true };
  const c = compileZone('zone-a', [zoned('10.244.2.5', 'node-b', 'zone-a', term), zoned('10.244.3.5', 'node-c', 'zone-b', term)]);
  assert.deepEqual(dests(c, '10.96.0.10'), ['10.244.2.5', '10.244.3.5']);
});

test('node hints (PreferSameNode) come first when every ready endpoint has one and one names this node', () => {
  const eps = [
    zoned('10.244.1.5', NODE, 'zone-a', { forNodes: [NODE] }),
    zoned('10.244.2.5', 'node-b', 'zone-a', { forNodes: ['node-b'] }),
  ];
  assert.deepEqual(dests(compileZone('zone-a', eps), '10.96.0.10'), ['10.244.1.5']);
  // Not every endpoint has a node hint: zone hints decide.
  const mixed = [zoned('10.244.1.5', NODE, 'zone-a', { forNodes: [NODE] }), zoned('10.244.2.5', 'node-b', 'zone-a')];
  assert.deepEqual(dests(compileZone('zone-a', mixed), '10.96.0.10'), ['10.244.1.5', '10.244.2.5']);
});

test('internalTrafficPolicy Local takes precedence for the ClusterIP; external traffic still follows the hints', () => {
  const c = compileZone('zone-b', ALL_HINTED, lbService({ internalTrafficPolicy: 'Local' }));
  assert.deepEqual(dests(c, '10.96.0.10'), ['10.244.1.5']);
  assert.deepEqual(dests(c, LB_IP), ['10.244.3.5']);
});

test('externalTrafficPolicy Local takes precedence for NodePort and LB IP; the ClusterIP still follows the hints', () => {
  const c = compileZone('zone-b', ALL_HINTED, lbService({ externalTrafficPolicy: 'Local' }));
  assert.deepEqual(dests(c, LB_IP), ['10.244.1.5']);
  assert.deepEqual(dests(c, '192.168.1.10', 30080), ['10.244.1.5']);
  assert.deepEqual(dests(c, '10.96.0.10'), ['10.244.3.5']);
});

test("the node's zone is its topology.kubernetes.io/zone label", () => {
  const n = nodeObject();
  assert.equal(nodeInfoFrom(NODE, n, []).zone, '');
  n.metadata.labels = { 'topology.kubernetes.io/zone': 'zone-a' };
  assert.equal(nodeInfoFrom(NODE, n, []).zone, 'zone-a');
});

test('controller: labelling the node with a zone re-programs the destinations; a slice without hints (agent restart) restores all', async () => {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  cache.add('Service', svc());
  cache.add('EndpointSlice', slice({ endpoints: ALL_HINTED }));
  const k = fakeKernels();
  const c = newController(cache, k);
  await c.sync();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080 -> 10.244.2.5:8080 -> 10.244.3.5:8080']);
  const labelled = nodeObject();
  labelled.metadata.labels = { 'topology.kubernetes.io/zone': 'zone-b' };
  cache.update('Node', labelled);
  await c.sync();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.3.5:8080']);
  cache.update('EndpointSlice', slice({ endpoints: [ep('10.244.1.5'), ep('10.244.2.5', 'node-b'), ep('10.244.3.5', 'node-c')] }));
  await newController(cache, k).sync();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080 -> 10.244.2.5:8080 -> 10.244.3.5:8080']);
});
