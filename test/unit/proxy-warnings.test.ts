// Bad input reaches the log as one warning naming the object and the field,
// and the other services are still programmed.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ProxyController } from '../../src/controllers/proxy/controller.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { ep, NODE, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, ipvsDump, nodeObject, proxyOptions } from './proxy-controller-helpers.js';

test('unknown scheduler, bad schedflags, a port that does not parse, a slice of a missing Service: one warning each, the rest served', async () => {
  const lines: { level: number; msg: string; object?: string; field?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as (typeof lines)[number]);
      cb();
    },
  });
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  cache.add('Service', svc({ name: 'sched', clusterIP: '10.96.0.11', annotations: { 'kube-router.io/service.scheduler': 'nope' } }));
  cache.add('Service', svc({ name: 'flags', clusterIP: '10.96.0.12', annotations: { 'kube-router.io/service.scheduler': 'mh', 'kube-router.io/service.schedflags': 'flag-1,bogus' } }));
  cache.add('Service', svc({ name: 'port', clusterIP: '10.96.0.13', ports: [{ name: 'http', protocol: 'TCP', port: 0 as number, targetPort: 8080 }, { name: 'ok', protocol: 'TCP', port: 81, targetPort: 8080 }] }));
  cache.add('Service', svc({ name: 'good', clusterIP: '10.96.0.14' }));
  for (const n of ['sched', 'flags', 'port', 'good']) cache.add('EndpointSlice', slice({ service: n, ports: [{ name: n === 'port' ? 'ok' : 'http', protocol: 'TCP', port: 8080 }], endpoints: [ep('10.244.1.5')] }));
  const k = fakeKernels();
  const c = new ProxyController({ cache, options: proxyOptions(), nodeName: NODE, logger: pino({ level: 'info' }, sink), metrics: new Registry() }, k.kernel);
  await c.start();
  try {
    cache.add('EndpointSlice', slice({ service: 'ghost', name: 'ghost-manual', endpoints: [ep('10.244.1.9')] }));
    for (let i = 0; i < 50 && c.health().lastSyncResourceVersion !== cache.resourceVersion(); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 250));
    await c.sync();
    const warns = lines.filter((l) => l.level === 40).map((l) => l.msg);
    const one = (re: RegExp): void => assert.equal(warns.filter((m) => re.test(m)).length, 1, `${re}: ${JSON.stringify(warns)}`);
    one(/^Service default\/sched: metadata\.annotations\[kube-router\.io\/service\.scheduler\]: unknown scheduler/);
    one(/^Service default\/flags: metadata\.annotations\[kube-router\.io\/service\.schedflags\]: unknown flag/);
    one(/^Service default\/port: spec\.ports\[0\]\.port: not a port number/);
    one(/^EndpointSlice default\/ghost-manual: metadata\.labels\[kubernetes\.io\/service-name\]: Service default\/ghost does not exist/);
    assert.deepEqual(await ipvsDump(k.ipvs), [
      'TCP 10.96.0.11:80 rr -> 10.244.1.5:8080',
      'TCP 10.96.0.12:80 mh -> 10.244.1.5:8080',
      'TCP 10.96.0.13:81 rr -> 10.244.1.5:8080',
      'TCP 10.96.0.14:80 rr -> 10.244.1.5:8080',
    ]);
  } finally {
    await c.stop();
  }
});
