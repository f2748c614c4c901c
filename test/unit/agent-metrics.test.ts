import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import { parsePrometheusText } from '../../src/metrics/parse-text.js';
import { BUILD_INFO_METRIC, createAgentRegistry } from '../../src/metrics/registry.js';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/server.js';
import { BoundedFrequencyRunner } from '../../src/runner/bounded-frequency-runner.js';
import { FakeClock } from '../../src/runner/fake-clock.js';
import { httpGet as get } from '../helpers/http.js';


describe('parsePrometheusText', () => {
  it('parses families, labels with escapes, special values and timestamps', () => {
    const p = parsePrometheusText(
      [
        '# HELP a_total Things.',
        '# TYPE a_total counter',
        'a_total{x="1",y="q\\"uote\\\\ back\\nline"} 3',
        'b NaN',
        'c{le="+Inf"} +Inf 1700000000000',
        '# a free comment',
        '',
      ].join('\n'),
    );
    assert.equal(p.families.get('a_total')?.type, 'counter');
    assert.equal(p.families.get('a_total')?.help, 'Things.');
    assert.deepEqual(p.samples[0], { name: 'a_total', labels: { x: '1', y: 'q"uote\\ back\nline' }, value: 3 });
    assert.ok(Number.isNaN(p.samples[1].value));
    assert.equal(p.samples[2].value, Infinity);
  });

  it('rejects malformed lines, naming them', () => {
    for (const bad of ['1abc 3', 'a{x=1} 3', 'a{x="1" 3', 'a 3 4 5', 'a three', '# TYPE a countr', 'a{x="1",x="2"} 1', 'a{x="\\q"} 1']) {
      assert.throws(() => parsePrometheusText(`${bad}\n`), /metrics line 1: /, bad);
    }
  });
});

describe('agent registry and metrics server', () => {
  let registry: Registry;
  let server: MetricsServer;
  const clock = new FakeClock(0);
  let runner: BoundedFrequencyRunner;

  before(async () => {
    registry = createAgentRegistry({ version: '1.2.3' });
    runner = new BoundedFrequencyRunner({ name: 'firewall', fn: async () => {}, minIntervalMs: 0, maxIntervalMs: 1000, retryIntervalMs: 100, clock, metrics: registry });
    runner.start();
    await clock.advance(0);
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, path: '/custom/metrics', registry });
  });

  after(async () => {
    await runner.stop();
    await server.close();
  });

  it('serves the registry at --metrics-path with its content type', async () => {
    const r = await get(server.url);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, registry.contentType);
    const p = parsePrometheusText(r.text);
    assert.equal(p.families.get(BUILD_INFO_METRIC)?.type, 'gauge');
    const info = p.samples.find((s) => s.name === BUILD_INFO_METRIC);
    assert.deepEqual(info, { name: BUILD_INFO_METRIC, labels: { version: '1.2.3', nodeversion: process.version }, value: 1 });
    assert.ok(p.samples.some((s) => s.name === 'nodejs_heap_size_total_bytes'));
    assert.ok(p.samples.some((s) => s.name === 'kube_router_controller_sync_total' && s.labels.controller === 'firewall' && s.labels.result === 'success' && s.value === 1));
    // every sample belongs to a declared family
    for (const s of p.samples) {
      const family = [...p.families.keys()].find((f) => s.name === f || s.name.startsWith(`${f}_`));
      assert.ok(family, `family of ${s.name}`);
    }
  });

  it('404 elsewhere', async () => {
    assert.equal((await get(server.url.replace('/custom/metrics', '/metrics'))).status, 404);
  });

  it('a fresh registry per agent: two registries do not clash', () => {
    assert.doesNotThrow(() => createAgentRegistry({ defaultMetrics: false }));
    assert.doesNotThrow(() => createAgentRegistry({ defaultMetrics: false }));
  });

  it('a taken port names --metrics-addr/--metrics-port', async () => {
    await assert.rejects(startMetricsServer({ host: '127.0.0.1', port: server.port, path: '/metrics', registry }), {
      code: 'KR_ERR_CONFIG',
      message: new RegExp(`cannot listen on 127\\.0\\.0\\.1:${server.port} \\(--metrics-addr/--metrics-port\\)`),
    });
  });
});
