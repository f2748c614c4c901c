// compileService: per-service options (session affinity, scheduler and
// flags), services left alone (ExternalName, headless, other proxies), bad
// ports, hairpin entries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import { ctx, ep, NODE_IP, PERSISTENT, render, slice, svc, vs, warningFields } from './proxy-fixtures.js';

const EPS = [ep('10.244.1.5')];

test('session affinity ClientIP: persistent flag, timeout from sessionAffinityConfig, default 10800', () => {
  const dflt = compileService(svc({ spec: { sessionAffinity: 'ClientIP' } }), [slice({ endpoints: EPS })], ctx());
  assert.deepEqual(dflt.services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'], { flags: PERSISTENT, timeout: 10800 })]);
  const set = compileService(
    svc({ spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } }),
    [slice({ endpoints: EPS })],
    ctx(),
  );
  assert.deepEqual(set.services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'], { flags: PERSISTENT, timeout: 60 })]);
  const none = compileService(svc({ spec: { sessionAffinity: 'None' } }), [], ctx());
  assert.equal(none.services[0].service.flags, 0);
  assert.equal(none.services[0].service.timeout, 0);
});

test('scheduler annotation: rr default, lc/dh/sh/mh honoured, unknown is a warning and rr', () => {
  for (const sched of ['lc', 'dh', 'sh', 'mh']) {
    const c = compileService(svc({ annotations: { 'kube-router.io/service.scheduler': sched } }), [], ctx());
    assert.deepEqual(c.services, [vs('10.96.0.10', 80, [], { scheduler: sched })]);
    assert.deepEqual(c.warnings, []);
  }
  const bad = compileService(svc({ annotations: { 'kube-router.io/service.scheduler': 'nope' } }), [slice({ endpoints: EPS })], ctx());
  assert.deepEqual(bad.services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'])]);
  assert.deepEqual(warningFields(bad), ['Service default/web metadata.annotations[kube-router.io/service.scheduler]']);
  assert.equal(bad.warnings[0].code, 'KR_ERR_OBJECT');
  assert.equal(bad.warnings[0].context.value, 'nope');
});

test('schedflags flag-1/2/3 map to 0x08/0x10/0x20, only with mh', () => {
  const mh = compileService(
    svc({ annotations: { 'kube-router.io/service.scheduler': 'mh', 'kube-router.io/service.schedflags': 'flag-1, flag-2,flag-3' } }),
    [],
    ctx(),
  );
  assert.deepEqual(mh.services, [vs('10.96.0.10', 80, [], { scheduler: 'mh', flags: 0x38 })]);
  const mhAffinity = compileService(
    svc({
      annotations: { 'kube-router.io/service.scheduler': 'mh', 'kube-router.io/service.schedflags': 'flag-2' },
      spec: { sessionAffinity: 'ClientIP' },
    }),
    [],
    ctx(),
  );
  assert.equal(mhAffinity.services[0].service.flags, 0x10 | PERSISTENT);
  const rr = compileService(svc({ annotations: { 'kube-router.io/service.schedflags': 'flag-1' } }), [], ctx());
  assert.equal(rr.services[0].service.flags, 0);
  const bad = compileService(
    svc({ annotations: { 'kube-router.io/service.scheduler': 'mh', 'kube-router.io/service.schedflags': 'flag-1,flag-9' } }),
    [],
    ctx(),
  );
  assert.equal(bad.services[0].service.flags, 0x08);
  assert.deepEqual(warningFields(bad), ['Service default/web metadata.annotations[kube-router.io/service.schedflags]']);
});

test('services left alone: ExternalName, clusterIP None, headless label, another service-proxy-name', () => {
  const cases: [string, ReturnType<typeof svc>][] = [
    ['ExternalName', svc({ type: 'ExternalName', clusterIP: '', clusterIPs: [], spec: { externalName: 'db.example.com' } })],
    ['headless (clusterIP None)', svc({ clusterIP: 'None', clusterIPs: ['None'] })],
    ['headless label', svc({ labels: { 'service.kubernetes.io/headless': '' } })],
    ['service-proxy-name other', svc({ labels: { 'service.kubernetes.io/service-proxy-name': 'other' } })],
  ];
  for (const [reason, s] of cases) {
    const c = compileService(s, [slice({ endpoints: EPS })], ctx());
    assert.equal(c.skipped, reason);
    assert.deepEqual(c.services, []);
    assert.deepEqual(c.addresses, []);
    assert.deepEqual(c.warnings, []);
  }
  const ours = compileService(svc({ labels: { 'service.kubernetes.io/service-proxy-name': 'kube-router' } }), [], ctx());
  assert.equal(ours.skipped, '');
  assert.equal(ours.services.length, 1);
});

test('a port that does not parse or an unknown protocol is a warning; the other ports are compiled', () => {
  const s = svc({
    ports: [
      { name: 'http', protocol: 'TCP', port: 80 },
      { name: 'bad', protocol: 'TCP', port: 'eighty' as unknown as number },
      { name: 'icmp', protocol: 'ICMP' as unknown as 'TCP', port: 7 },
      { name: 'big', protocol: 'UDP', port: 70000 },
    ],
  });
  const c = compileService(s, [slice({ endpoints: EPS })], ctx());
  assert.deepEqual(c.services, [vs('10.96.0.10', 80, ['10.244.1.5:8080'])]);
  assert.deepEqual(warningFields(c), [
    'Service default/web spec.ports[1].port',
    'Service default/web spec.ports[2].protocol',
    'Service default/web spec.ports[3].port',
  ]);
  assert.match(c.warnings[0].message, /^Service default\/web: spec\.ports\[1\]\.port: /);
});

test('a bad clusterIP is a warning; no port means no VIP on the dummy interface', () => {
  const c = compileService(svc({ clusterIPs: ['10.96.0.300'] }), [], ctx());
  assert.deepEqual(c.services, []);
  assert.deepEqual(warningFields(c), ['Service default/web spec.clusterIPs[0]']);
  const noPorts = compileService(svc({ ports: [] }), [], ctx());
  assert.deepEqual(noPorts.addresses, []);
});

const HP = {
  type: 'NodePort' as const,
  ports: [{ name: 'http', protocol: 'TCP' as const, port: 80, nodePort: 30080 }],
  spec: { externalIPs: ['203.0.113.5'] },
};
const HP_EPS = [ep('10.244.1.5', 'node-a'), ep('10.244.2.7', 'node-b')];

test('hairpin: none by default; annotation gives ClusterIP and NodePort entries for local endpoints', () => {
  assert.deepEqual(compileService(svc(HP), [slice({ endpoints: HP_EPS })], ctx()).hairpin, []);
  const c = compileService(svc({ ...HP, annotations: { 'kube-router.io/service.hairpin': '' } }), [slice({ endpoints: HP_EPS })], ctx());
  assert.deepEqual(c.hairpin, [
    { family: 'IPv4', endpoint: '10.244.1.5', vip: '10.96.0.10', port: 80, protocol: 'TCP' },
    { family: 'IPv4', endpoint: '10.244.1.5', vip: NODE_IP, port: 30080, protocol: 'TCP' },
  ]);
});

test('hairpin: .hairpin.externalips adds externalIPs; --hairpin-mode turns it on for every service', () => {
  const c = compileService(
    svc({ ...HP, annotations: { 'kube-router.io/service.hairpin.externalips': '' } }),
    [slice({ endpoints: HP_EPS })],
    ctx({ hairpinMode: true }),
  );
  assert.deepEqual(c.hairpin, [
    { family: 'IPv4', endpoint: '10.244.1.5', vip: '10.96.0.10', port: 80, protocol: 'TCP' },
    { family: 'IPv4', endpoint: '10.244.1.5', vip: NODE_IP, port: 30080, protocol: 'TCP' },
    { family: 'IPv4', endpoint: '10.244.1.5', vip: '203.0.113.5', port: 80, protocol: 'TCP' },
  ]);
  // Without the externalips annotation, global hairpin covers ClusterIP + NodePort only.
  const g = compileService(svc(HP), [slice({ endpoints: HP_EPS })], ctx({ hairpinMode: true }));
  assert.equal(g.hairpin.length, 2);
});

test('render helper shows the whole IPVS shape', () => {
  const c = compileService(svc({ ...HP, spec: {} }), [slice({ endpoints: EPS })], ctx());
  assert.deepEqual(render(c), ['ClusterIP TCP 10.96.0.10:80 rr -> 10.244.1.5:8080', `NodePort TCP ${NODE_IP}:30080 rr -> 10.244.1.5:8080`]);
});
