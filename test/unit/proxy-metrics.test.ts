// The proxy's metrics as kube-router names them: kube_router_service_* per
// virtual service from the IPVS stats (labels svc_namespace, service_name,
// service_vip, protocol, port), read at scrape time, gone with the service;
// the sync time histogram, the service count and the export time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ProxyController } from '../../src/controllers/proxy/controller.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { ipvsService } from '../../src/kernel/ipvs/types.js';
import { parsePrometheusText, type Sample } from '../../src/metrics/parse-text.js';
import { ep, NODE, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, nodeObject, proxyOptions } from './proxy-controller-helpers.js';

function find(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('kube_router_service_* per virtual service from IPVS stats, replaced at each scrape', async () => {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  cache.add('Service', svc({ ns: 'shop', name: 'web' }));
  cache.add('EndpointSlice', slice({ ns: 'shop', endpoints: [ep('10.244.1.5')] }));
  const k = fakeKernels();
  // A user's own service: never exported.
  await k.ipvs.addService(ipvsService({ address: '192.0.2.1', port: 80 }));
  const reg = new Registry();
  const c = new ProxyController({ cache, options: proxyOptions(), nodeName: NODE, logger: pino({ level: 'silent' }), metrics: reg }, k.kernel);
  await c.sync();
  k.ipvs.setCounters(ipvsService({ address: '10.96.0.10', port: 80 }), undefined, { conns: 7, inPkts: 70, outPkts: 60, inBytes: 7000, outBytes: 6000, cps: 1, inPps: 2, outPps: 3, inBps: 800, outBps: 900 });

  const m = parsePrometheusText(await reg.metrics());
  const l = { svc_namespace: 'shop', service_name: 'web', service_vip: '10.96.0.10', protocol: 'tcp', port: '80' };
  assert.equal(find(m.samples, 'kube_router_service_total_connections', l), 7);
  assert.equal(find(m.samples, 'kube_router_service_packets_in', l), 70);
  assert.equal(find(m.samples, 'kube_router_service_packets_out', l), 60);
  assert.equal(find(m.samples, 'kube_router_service_bytes_in', l), 7000);
  assert.equal(find(m.samples, 'kube_router_service_bytes_out', l), 6000);
  assert.equal(find(m.samples, 'kube_router_service_cps', l), 1);
  assert.equal(find(m.samples, 'kube_router_service_pps_in', l), 2);
  assert.equal(find(m.samples, 'kube_router_service_pps_out', l), 3);
  assert.equal(find(m.samples, 'kube_router_service_bps_in', l), 800);
  assert.equal(find(m.samples, 'kube_router_service_bps_out', l), 900);
  assert.equal(m.samples.filter((s) => s.name === 'kube_router_service_total_connections').length, 1, 'the user service is not exported');
  assert.equal(find(m.samples, 'kube_router_controller_ipvs_services', {}), 2);
  assert.equal(find(m.samples, 'kube_router_controller_ipvs_services_sync_time_count', {}), 1);
  assert.ok((find(m.samples, 'kube_router_controller_ipvs_metrics_export_time_count', {}) ?? 0) >= 1);

  // The virtual service goes from the kernel: its series go at the next scrape.
  await k.ipvs.deleteService(ipvsService({ address: '10.96.0.10', port: 80 }));
  await new Promise((r) => setTimeout(r, 600));
  const after = parsePrometheusText(await reg.metrics());
  assert.equal(after.samples.filter((s) => s.name === 'kube_router_service_total_connections').length, 0);
  await c.stop();
});
