// compileService: destinations. All slices merged and deduped, address type
// matching the VIP family, FQDN skipped, ports matched by name, ready vs
// serving-terminating fallback, traffic policies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import { ctx, ep, NODE_IP, render, slice, svc, vs } from './proxy-fixtures.js';

test('all slices of the service are merged; an endpoint in two slices appears once', () => {
  const a = slice({ name: 'web-a', endpoints: [ep('10.244.1.5'), ep('10.244.1.6')] });
  const b = slice({ name: 'web-b', endpoints: [ep('10.244.1.6'), ep('10.244.2.9', 'node-b')] });
  const c = compileService(svc(), [a, b], ctx());
  assert.deepEqual(c.services, [vs('10.96.0.10', 80, ['10.244.1.5:8080', '10.244.1.6:8080', '10.244.2.9:8080'])]);
});

test('a duplicate endpoint keeps its best condition whatever the slice order', () => {
  const a = slice({ name: 'web-a', endpoints: [ep('10.244.1.6', 'node-a', { ready: false, serving: false })] });
  const b = slice({ name: 'web-b', endpoints: [ep('10.244.1.6', 'node-a', { ready: true })] });
  for (const order of [[a, b], [b, a]]) {
    const c = compileService(svc(), order, ctx());
    assert.deepEqual(c.services, [vs('10.96.0.10', 80, ['10.244.1.6:8080'])]);
  }
});

test('FQDN slices and endpoints of the other family are skipped', () => {
  const fq = slice({ name: 'web-fqdn', addressType: 'FQDN', endpoints: [ep('example.com')] });
  const v6 = slice({ name: 'web-v6', addressType: 'IPv6', endpoints: [ep('fd00::5')] });
  const v4 = slice({ name: 'web-v4', endpoints: [ep('10.244.1.5')] });
  const c = compileService(svc(), [fq, v6, v4], ctx());
  assert.deepEqual(c.services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'])]);
  assert.deepEqual(c.warnings, []);
});

test('service ports match slice ports by name: a named targetPort resolves to the slice port number', () => {
  const s = svc({
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' },
      { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 'prom' },
    ],
  });
  // Two pods whose "web" container ports differ land in two slices.
  const a = slice({ name: 'web-a', ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }], endpoints: [ep('10.244.1.5')] });
  const b = slice({ name: 'web-b', ports: [{ name: 'http', port: 8081 }], endpoints: [ep('10.244.1.6')] });
  const c = compileService(s, [b, a], ctx());
  assert.deepEqual(c.services, [
    vs('10.96.0.10', 80, ['10.244.1.5:8080', '10.244.1.6:8081']),
    vs('10.96.0.10', 9090, ['10.244.1.5:9100'], { portName: 'metrics' }),
  ]);
});

test('an unnamed single port matches the unnamed slice port; protocol must match too', () => {
  const s = svc({ ports: [{ port: 53, protocol: 'UDP', targetPort: 53 }] });
  const sl = slice({ ports: [{ port: 5353, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], endpoints: [ep('10.244.1.5')] });
  const c = compileService(s, [sl], ctx());
  assert.deepEqual(c.services, [vs('10.96.0.10', 53, ['10.244.1.5:53'], { protocol: 'UDP', portName: '' })]);
});

test('ready endpoints only; serving+terminating ones only when none is ready (kube-proxy fallback)', () => {
  const mixed = slice({
    endpoints: [
      ep('10.244.1.5', 'node-a', { ready: true }),
      ep('10.244.1.6', 'node-a', { ready: false, serving: true, terminating: true }),
      ep('10.244.1.7', 'node-a', { ready: false, serving: false, terminating: true }),
      ep('10.244.1.8', 'node-a', { ready: false, serving: false }),
    ],
  });
  assert.deepEqual(compileService(svc(), [mixed], ctx()).services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'])]);

  const draining = slice({
    endpoints: [
      ep('10.244.1.6', 'node-a', { ready: false, serving: true, terminating: true }),
      ep('10.244.1.7', 'node-a', { ready: false, serving: false, terminating: true }),
      ep('10.244.1.8', 'node-a', { ready: false, serving: false }),
    ],
  });
  assert.deepEqual(compileService(svc(), [draining], ctx()).services, [vs('10.96.0.10', 80, ['10.244.1.6:8080'])]);
});

test('conditions left unset mean ready (discovery/v1 semantics, manual slices)', () => {
  const sl = slice({ endpoints: [ep('10.244.1.5')] });
  sl.endpoints[0].conditions = undefined;
  assert.deepEqual(compileService(svc(), [sl], ctx()).services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'])]);
});

const NP = [{ name: 'http', protocol: 'TCP' as const, port: 80, nodePort: 30080 }];
const LOCAL_AND_REMOTE = [ep('10.244.1.5', 'node-a'), ep('10.244.2.7', 'node-b')];

test('externalTrafficPolicy Local: NodePort, externalIP and LB VIPs get this node\'s endpoints only', () => {
  const s = svc({
    type: 'LoadBalancer',
    ports: NP,
    spec: { externalTrafficPolicy: 'Local', externalIPs: ['203.0.113.5'], healthCheckNodePort: 32000 },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } },
  });
  const c = compileService(s, [slice({ endpoints: LOCAL_AND_REMOTE })], ctx());
  assert.deepEqual(render(c), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080`,
    'LoadBalancer TCP 198.51.100.7:80 rr -> 10.244.1.5:8080',
    'ExternalIP TCP 203.0.113.5:80 rr -> 10.244.1.5:8080',
  ]);
  assert.deepEqual(c.healthCheck, { nodePort: 32000, localEndpoints: 1 });
  assert.equal(c.hasLocalEndpoints, true);

  // On a node without a local endpoint the VIPs stay, with no destination.
  const other = compileService(s, [slice({ endpoints: LOCAL_AND_REMOTE })], ctx({}, { name: 'node-c' }));
  assert.deepEqual(render(other), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> `,
    'LoadBalancer TCP 198.51.100.7:80 rr -> ',
    'ExternalIP TCP 203.0.113.5:80 rr -> ',
  ]);
  assert.deepEqual(other.healthCheck, { nodePort: 32000, localEndpoints: 0 });
  assert.equal(other.hasLocalEndpoints, false);
});

test('externalTrafficPolicy Local falls back to local serving+terminating endpoints, never remote ones', () => {
  const s = svc({ type: 'NodePort', ports: NP, spec: { externalTrafficPolicy: 'Local' } });
  const sl = slice({
    endpoints: [ep('10.244.1.5', 'node-a', { ready: false, serving: true, terminating: true }), ep('10.244.2.7', 'node-b')],
  });
  assert.deepEqual(render(compileService(s, [sl], ctx())), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.2.7:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080`,
  ]);
});

test('internalTrafficPolicy Local: the ClusterIP gets local endpoints only, NodePort all', () => {
  const s = svc({ type: 'NodePort', ports: NP, spec: { internalTrafficPolicy: 'Local' } });
  assert.deepEqual(render(compileService(s, [slice({ endpoints: LOCAL_AND_REMOTE })], ctx())), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080,10.244.2.7:8080`,
  ]);
});

test('kube-router.io/service.local "true" is externalTrafficPolicy Local; other values are not', () => {
  const s = (v: string) => svc({ type: 'NodePort', ports: NP, annotations: { 'kube-router.io/service.local': v } });
  assert.deepEqual(render(compileService(s('true'), [slice({ endpoints: LOCAL_AND_REMOTE })], ctx())), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080`,
  ]);
  assert.deepEqual(render(compileService(s('yes'), [slice({ endpoints: LOCAL_AND_REMOTE })], ctx())), [
    'ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080,10.244.2.7:8080',
    `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080,10.244.2.7:8080`,
  ]);
});

test('a service without selector uses its manual slices like any other', () => {
  const s = svc({ spec: { selector: undefined } });
  const manual = slice({ name: 'web-manual', endpoints: [{ ip: '192.168.50.4' }] });
  assert.deepEqual(compileService(s, [manual], ctx()).services, [vs('10.96.0.10', 80, ['192.168.50.4:8080'])]);
});

test('an endpoint with a bad address or a slice port without number is a warning naming the slice', () => {
  const sl = slice({
    ports: [{ name: 'http', port: 8080 }, { name: 'other' }],
    endpoints: [ep('10.244.1.5'), ep('not-an-ip')],
  });
  const c = compileService(svc(), [sl], ctx());
  assert.deepEqual(c.services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'])]);
  assert.deepEqual(
    c.warnings.map((w) => `${String(w.context.object)} ${String(w.context.field)}`),
    ['EndpointSlice default/web-abcde ports[1].port', 'EndpointSlice default/web-abcde endpoints[1].addresses'],
  );
});
