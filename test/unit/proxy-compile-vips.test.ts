// compileService: which virtual services exist (ClusterIP, dual-stack,
// protocols, externalIPs, LoadBalancer IPs, NodePorts) and with what
// destinations, against exact expected IPVS state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import { ctx, ep, NODE_IP, NODE_IP6, render, slice, svc, vs, warningFields } from './proxy-fixtures.js';

const EPS = [ep('10.244.1.5'), ep('10.244.2.7', 'node-b')];

test('ClusterIP: one virtual service per port, destinations from the slice', () => {
  const s = svc({
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
      { name: 'sig', protocol: 'SCTP', port: 9000, targetPort: 9000 },
    ],
  });
  const sl = slice({
    ports: [
      { name: 'http', protocol: 'TCP', port: 8080 },
      { name: 'dns', protocol: 'UDP', port: 5353 },
      { name: 'sig', protocol: 'SCTP', port: 9000 },
    ],
    endpoints: EPS,
  });
  const c = compileService(s, [sl], ctx());
  assert.deepEqual(c.services, [
    vs('10.96.0.10', 80, ['10.244.1.5:8080', '10.244.2.7:8080']),
    vs('10.96.0.10', 53, ['10.244.1.5:5353', '10.244.2.7:5353'], { protocol: 'UDP', portName: 'dns' }),
    vs('10.96.0.10', 9000, ['10.244.1.5:9000', '10.244.2.7:9000'], { protocol: 'SCTP', portName: 'sig' }),
  ]);
  assert.deepEqual(c.addresses, ['10.96.0.10/32']);
  assert.deepEqual(c.ipsetEntries['kube-router-svip'], { inet: ['10.96.0.10'], inet6: [] });
  assert.deepEqual(c.ipsetEntries['kube-router-svip-prt'], {
    inet: ['10.96.0.10,sctp:9000', '10.96.0.10,tcp:80', '10.96.0.10,udp:53'],
    inet6: [],
  });
  assert.deepEqual(c.warnings, []);
});

test('dual-stack: every clusterIP, destinations from the slice of the same family', () => {
  const s = svc({ clusterIPs: ['10.96.0.10', 'fd00:96::a'], spec: { ipFamilies: ['IPv4', 'IPv6'] } });
  const v4 = slice({ name: 'web-v4', endpoints: [ep('10.244.1.5')] });
  const v6 = slice({ name: 'web-v6', addressType: 'IPv6', endpoints: [ep('fd00:244:1::5')] });
  const c = compileService(s, [v6, v4], ctx());
  assert.deepEqual(c.services, [
    vs('10.96.0.10', 80, ['10.244.1.5:8080']),
    vs('fd00:96::a', 80, ['fd00:244:1::5:8080']),
  ]);
  assert.equal(c.services[1].service.af, 10);
  assert.equal(c.services[1].service.netmask, 128);
  assert.deepEqual(c.addresses, ['10.96.0.10/32', 'fd00:96::a/128']);
  assert.deepEqual(c.ipsetEntries['kube-router-svip-prt'].inet6, ['fd00:96::a,tcp:80']);
});

test('externalIPs: a virtual service each, address on the dummy interface, validated against the range', () => {
  const s = svc({ spec: { externalIPs: ['203.0.113.5', '8.8.8.8', '10.96.0.99', 'nope'] } });
  const c = compileService(s, [slice({ endpoints: EPS })], ctx());
  assert.deepEqual(render(c), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
    'ExternalIP TCP 203.0.113.5:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
  ]);
  assert.deepEqual(c.addresses, ['10.96.0.10/32', '203.0.113.5/32']);
  assert.deepEqual(warningFields(c), [
    'Service default/web spec.externalIPs[3]',
    'Service default/web spec.externalIPs[1]',
    'Service default/web spec.externalIPs[2]',
  ]);
  assert.match(c.warnings[1].message, /8\.8\.8\.8|outside --service-external-ip-range/);
  assert.equal(c.warnings[1].context.value, '8.8.8.8');
  assert.match(c.warnings[2].message, /inside --service-cluster-ip-range/);
});

test('externalIPs: strict validation with no range rejects all; non-strict accepts all but the service CIDR', () => {
  const s = svc({ spec: { externalIPs: ['203.0.113.5', '10.96.0.99'] } });
  const strict = compileService(s, [], ctx({ serviceExternalIpRange: [] }));
  assert.deepEqual(strict.services.map((v) => v.kind), ['ClusterIP']);
  assert.equal(strict.warnings.length, 2);
  assert.match(strict.warnings[0].message, /no --service-external-ip-range configured/);
  const loose = compileService(s, [], ctx({ serviceExternalIpRange: [], strictExternalIpValidation: false }));
  assert.deepEqual(render(loose), ['ClusterIP TCP 10.96.0.10:80 rr -> ', 'ExternalIP TCP 203.0.113.5:80 rr -> ']);
  assert.deepEqual(warningFields(loose), ['Service default/web spec.externalIPs[1]']);
});

test('LoadBalancer: ingress IPs (ipMode Proxy and hostnames ignored), range-validated, skiplbips', () => {
  const base = {
    type: 'LoadBalancer' as const,
    ports: [{ name: 'http', protocol: 'TCP' as const, port: 80, nodePort: 30080 }],
    status: {
      loadBalancer: {
        ingress: [
          { ip: '198.51.100.7' },
          { ip: '198.51.100.8', ipMode: 'Proxy' as const },
          { hostname: 'lb.example.com' },
          { ip: '192.0.2.1' },
        ],
      },
    },
  };
  const c = compileService(svc(base), [slice({ endpoints: EPS })], ctx());
  assert.deepEqual(render(c), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080,10.244.2.7:8080`,
    'LoadBalancer TCP 198.51.100.7:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
  ]);
  assert.deepEqual(c.addresses, ['10.96.0.10/32', '198.51.100.7/32']);
  assert.deepEqual(warningFields(c), ['Service default/web status.loadBalancer.ingress[3].ip']);
  assert.equal(c.warnings[0].context.value, '192.0.2.1');

  const skip = compileService(
    svc({ ...base, annotations: { 'kube-router.io/service.skiplbips': '' } }),
    [slice({ endpoints: EPS })],
    ctx(),
  );
  assert.deepEqual(skip.services.map((v) => v.kind), ['ClusterIP', 'NodePort']);
  assert.deepEqual(skip.addresses, ['10.96.0.10/32']);
  assert.deepEqual(skip.warnings, []);
});

test('NodePort: on the primary IP of each family of the service; all local IPs with --nodeport-bindon-all-ip', () => {
  const ports = [{ name: 'http', protocol: 'TCP' as const, port: 80, nodePort: 30080 }];
  const single = compileService(svc({ type: 'NodePort', ports }), [slice({ endpoints: [ep('10.244.1.5')] })], ctx());
  assert.deepEqual(render(single), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080`,
  ]);
  // Node IPs are not VIPs for the dummy interface, but are in kube-router-svip.
  assert.deepEqual(single.addresses, ['10.96.0.10/32']);
  assert.deepEqual(single.ipsetEntries['kube-router-svip'].inet, ['10.96.0.10', NODE_IP]);

  const dual = compileService(
    svc({ type: 'NodePort', ports, clusterIPs: ['10.96.0.10', 'fd00:96::a'] }),
    [slice({ endpoints: [ep('10.244.1.5')] }), slice({ name: 'web-6', addressType: 'IPv6', endpoints: [ep('fd00:244::5')] })],
    ctx(),
  );
  assert.deepEqual(render(dual), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080`,
    `NodePort TCP ${NODE_IP6}:30080 rr -> fd00:244::5:8080`,
    'ClusterIP TCP fd00:96::a:80 rr -> fd00:244::5:8080',
  ]);

  const all = compileService(svc({ type: 'NodePort', ports }), [], ctx({ nodeportBindonAllIp: true }));
  assert.deepEqual(render(all), [
    'ClusterIP TCP 10.96.0.10:80 rr -> ',
    'NodePort TCP 172.16.0.10:30080 rr -> ',
    `NodePort TCP ${NODE_IP}:30080 rr -> `,
  ]);
});

test('a ClusterIP service with a stale nodePort field gets no NodePort', () => {
  const c = compileService(svc({ ports: [{ name: 'http', port: 80, nodePort: 30080 }] }), [], ctx());
  assert.deepEqual(c.services.map((v) => v.kind), ['ClusterIP']);
});
