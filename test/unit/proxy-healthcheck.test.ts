// healthCheckNodePort servers: kube-proxy's JSON and status codes, counts
// following the local endpoints, the port closed when the Service goes; and
// the controller wiring (eTP Local LoadBalancer only).

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { HealthCheckServers, healthCheckBody } from '../../src/controllers/proxy/healthcheck.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { ep, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, newController, nodeObject } from './proxy-controller-helpers.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function get(port: number, path = '/healthz'): Promise<{ status: number; body: string; weight: string | null } | 'refused'> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, body: await r.text(), weight: r.headers.get('x-load-balancing-endpoint-weight') };
  } catch {
    return 'refused';
  }
}

test("kube-proxy's body, byte for byte", () => {
  assert.equal(
    healthCheckBody('pxn', 'loc', 2, true),
    '{\n\t"service": {\n\t\t"namespace": "pxn",\n\t\t"name": "loc"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
  );
});

test('200 with the local endpoint count, 503 with none, closed when the service goes', async () => {
  const port = await freePort();
  const hc = new HealthCheckServers({ logger: pino({ level: 'silent' }), host: '127.0.0.1' });
  try {
    await hc.set('pxn/loc', { nodePort: port, localEndpoints: 1 });
    assert.deepEqual(hc.ports(), [port]);
    const ok = await get(port);
    assert.notEqual(ok, 'refused');
    if (ok === 'refused') return;
    assert.equal(ok.status, 200);
    assert.equal(ok.weight, '1');
    assert.deepEqual(JSON.parse(ok.body), { service: { namespace: 'pxn', name: 'loc' }, localEndpoints: 1, serviceProxyHealthy: true });

    await hc.set('pxn/loc', { nodePort: port, localEndpoints: 0 });
    const none = await get(port, '/');
    assert.ok(none !== 'refused' && none.status === 503 && JSON.parse(none.body).localEndpoints === 0);

    await hc.set('pxn/loc', null);
    assert.deepEqual(hc.ports(), []);
    assert.equal(await get(port), 'refused');
  } finally {
    await hc.close();
  }
});

test('a port in use is not fatal: the other services are served', async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const a = busy.address();
  const busyPort = typeof a === 'object' && a !== null ? a.port : 0;
  const port = await freePort();
  const hc = new HealthCheckServers({ logger: pino({ level: 'silent' }), host: '127.0.0.1' });
  try {
    await hc.set('ns/a', { nodePort: busyPort, localEndpoints: 1 });
    await hc.set('ns/b', { nodePort: port, localEndpoints: 3 });
    assert.deepEqual(hc.ports(), [port]);
    const r = await get(port);
    assert.ok(r !== 'refused' && r.status === 200 && r.weight === '3');
  } finally {
    await hc.close();
    await new Promise<void>((r) => busy.close(() => r()));
  }
});

test('the controller serves healthCheckNodePort for an eTP Local LoadBalancer only, counting local ready endpoints', async () => {
  const port = await freePort();
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  cache.add('Service', svc({ type: 'LoadBalancer', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }], spec: { externalTrafficPolicy: 'Local', healthCheckNodePort: port } }));
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5'), ep('10.244.1.6'), ep('10.244.2.5', 'other-node')] }));
  cache.add('Service', svc({ name: 'cluster', clusterIP: '10.96.0.11', type: 'LoadBalancer', spec: { healthCheckNodePort: port + 1 } }));
  const c = newController(cache, fakeKernels());
  try {
    await c.sync();
    const r = await get(port);
    assert.notEqual(r, 'refused');
    if (r === 'refused') return;
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).localEndpoints, 2);
    assert.equal(await get(port + 1), 'refused');
  } finally {
    await c.stop();
  }
});
