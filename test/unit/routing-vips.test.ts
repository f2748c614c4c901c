// Service VIP advertisement: flags, per-service overrides, skiplbips, Local traffic policies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRouting } from '../../src/controllers/routing/compile.js';
import { compileVips } from '../../src/controllers/routing/compile-vips.js';
import { input, service, slice, threeNodes } from './routing-fixtures.test.js';

const ALL = { advertiseClusterIp: true, advertiseExternalIp: true, advertiseLoadbalancerIp: true };
const lb = service('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.1', externalIPs: ['203.0.113.5'] }, {}, { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } });

function vips(services = [lb], slices = [slice('lb', [{ addresses: ['10.244.1.5'], nodeName: 'n1' }])], flags = ALL) {
  return compileVips({ services, endpointSlices: slices, nodeName: 'n1', nodeIps: ['10.0.0.1'], flags });
}

describe('VIP selection', () => {
  it('each kind follows its flag', () => {
    assert.deepEqual(vips().active, ['10.96.0.1', '198.51.100.7', '203.0.113.5']);
    assert.deepEqual(vips([lb], [], { ...ALL, advertiseExternalIp: false, advertiseLoadbalancerIp: false }).active, ['10.96.0.1']);
    assert.deepEqual(vips([lb], [], { advertiseClusterIp: false, advertiseExternalIp: false, advertiseLoadbalancerIp: false }).all, []);
  });

  it('per-service annotations override the flags (unparsable = false, with a warning)', () => {
    const s = service('a', { clusterIP: '10.96.0.2' }, { 'kube-router.io/service.advertise.clusterip': 'true' });
    assert.deepEqual(vips([s], [], { ...ALL, advertiseClusterIp: false }).active, ['10.96.0.2']);
    const off = service('b', { clusterIP: '10.96.0.3' }, { 'kube-router.io/service.advertise.clusterip': 'False' });
    assert.deepEqual(vips([off]).active, []);
    const junk = service('c', { clusterIP: '10.96.0.4' }, { 'kube-router.io/service.advertise.clusterip': 'yes' });
    const r = vips([junk]);
    assert.deepEqual(r.active, []);
    assert.match(r.warnings[0].message, /^Service default\/c: metadata\.annotations\[kube-router\.io\/service\.advertise\.clusterip\]/);
  });

  it('skiplbips drops the LoadBalancer IPs only', () => {
    const s = { ...lb, metadata: { ...lb.metadata, annotations: { 'kube-router.io/service.skiplbips': '' } } };
    assert.deepEqual(vips([s]).active, ['10.96.0.1', '203.0.113.5']);
  });

  it('headless and ExternalName services have none; dual-stack ClusterIPs are all advertised', () => {
    assert.deepEqual(vips([service('h', { clusterIP: 'None' }), service('e', { type: 'ExternalName', externalName: 'x' })]).all, []);
    assert.deepEqual(vips([service('d', { clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9', 'fd00:96::9'] })]).all, ['10.96.0.9', 'fd00:96::9']);
  });

  it('ETP Local withdraws every VIP from a node without a local endpoint', () => {
    const local = { ...lb, spec: { ...lb.spec, externalTrafficPolicy: 'Local' as const } };
    assert.deepEqual(vips([local]).active, ['10.96.0.1', '198.51.100.7', '203.0.113.5']);
    const remote = vips([local], [slice('lb', [{ addresses: ['10.244.2.5'], nodeName: 'n2' }])]);
    assert.deepEqual(remote.active, []);
    assert.deepEqual(remote.all, ['10.96.0.1', '198.51.100.7', '203.0.113.5'], 'still in the VIP set (import reject)');
    const notReady = vips([local], [slice('lb', [{ addresses: ['10.244.1.5'], nodeName: 'n1', conditions: { ready: false } }])]);
    assert.deepEqual(notReady.active, []);
  });

  it('the service.local annotation (presence) acts as ETP Local', () => {
    const s = service('web', { clusterIP: '10.96.0.5' }, { 'kube-router.io/service.local': 'true' });
    assert.deepEqual(vips([s], []).active, []);
    assert.deepEqual(vips([s], [slice('web', [{ addresses: ['10.244.1.9'], nodeName: 'n1' }])]).active, ['10.96.0.5']);
  });

  it('ITP Local withdraws the ClusterIPs only', () => {
    const s = { ...lb, spec: { ...lb.spec, internalTrafficPolicy: 'Local' as const } };
    assert.deepEqual(vips([s], []).active, ['198.51.100.7', '203.0.113.5']);
  });

  it('an endpoint without nodeName is local when its address is a node IP', () => {
    const s = service('hostnet', { clusterIP: '10.96.0.6', externalTrafficPolicy: 'Local' });
    assert.deepEqual(vips([s], [slice('hostnet', [{ addresses: ['10.0.0.1'] }])]).active, ['10.96.0.6']);
  });

  it('a VIP shared by two services is advertised when one of them says so', () => {
    const a = service('a', { clusterIP: '10.96.0.7', externalIPs: ['203.0.113.9'], externalTrafficPolicy: 'Local' });
    const b = service('b', { clusterIP: '10.96.0.8', externalIPs: ['203.0.113.9'] });
    assert.ok(vips([a, b], []).active.includes('203.0.113.9'));
  });
});

describe('VIP paths in the desired BGP state', () => {
  it('/32 paths with next hop = node IP, next to the pod CIDR', () => {
    const r = compileRouting(input(threeNodes(), { services: [lb] }, { advertiseClusterIp: true, advertiseExternalIp: true }));
    assert.deepEqual(r.bgp?.paths.map((p) => `${p.prefix} ${p.nextHop}`), ['10.96.0.1/32 10.0.0.1', '10.244.1.0/24 10.0.0.1', '203.0.113.5/32 10.0.0.1']);
    assert.deepEqual(r.advertisedVips, ['10.96.0.1', '203.0.113.5']);
  });
});
