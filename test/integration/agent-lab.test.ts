// runAgent in-process with the real shared cache (kubeconfig + reflectors)
// against the lab API server, and an injected test controller: the
// controller's first sync sees the complete initial lists, and /healthz
// reports the resourceVersion each sync applied, following server writes.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { runAgent, type AgentInfo } from '../../src/cmd/agent.js';
import { defaultOptions } from '../../src/cmd/options/parse.js';
import { controllerHealth, type Controller, type ControllerDeps } from '../../src/controllers/controller.js';
import { startLabApiServer, type RunningLabApiServer, type StoredObject } from '../../src/lab/apiserver/index.js';
import { createAgentRegistry } from '../../src/metrics/registry.js';
import { parsePrometheusText } from '../../src/metrics/parse-text.js';
import { BoundedFrequencyRunner } from '../../src/runner/bounded-frequency-runner.js';
import { freePort, httpGet as get } from '../helpers/http.js';



async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const svc = (name: string): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
});

interface HealthBody {
  cacheSynced: boolean;
  resourceVersion: string;
  controllers: { name: string; running: boolean; healthy: boolean; kinds?: string[]; lastSyncResourceVersion?: string }[];
}

let server: RunningLabApiServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-agent-it-'));
const abort = new AbortController();
let done: Promise<number> | undefined;
/** Services the controller saw at each sync, and whether the cache had synced. */
const syncs: { services: number; synced: boolean }[] = [];
let healthPort = 0;
let metricsPort = 0;

before(async () => {
  server = await startLabApiServer({ port: 0, seed: [svc('seed-a'), svc('seed-b'), svc('seed-c')] });
  const kubeconfig = path.join(tmp, 'kubeconfig');
  fs.writeFileSync(kubeconfig, server.kubeconfig());
  healthPort = await freePort();
  metricsPort = await freePort();
  const factory = (deps: ControllerDeps): Controller => {
    const sync = async (): Promise<void> => {
      syncs.push({ services: deps.cache.store('Service').size(), synced: deps.cache.hasSynced() });
    };
    const runner = new BoundedFrequencyRunner({
      name: 'proxy',
      fn: sync,
      minIntervalMs: 20,
      maxIntervalMs: 30_000,
      retryIntervalMs: 1000,
      metrics: deps.metrics,
      resourceVersion: () => deps.cache.resourceVersion(),
    });
    let unsubscribe: (() => void)[] = [];
    return {
      name: 'proxy',
      kinds: ['Service', 'EndpointSlice'],
      async start() {
        unsubscribe = [deps.cache.on('Service', () => runner.run()), deps.cache.on('EndpointSlice', () => runner.run())];
        runner.start();
      },
      sync,
      async stop() {
        for (const u of unsubscribe) u();
        await runner.stop();
      },
      async cleanup() {},
      health: () => controllerHealth('proxy', runner.health()),
    };
  };
  let ready!: (i: AgentInfo) => void;
  const readyP = new Promise<AgentInfo>((res) => (ready = res));
  done = runAgent({
    options: {
      ...defaultOptions(),
      kubeconfig,
      hostnameOverride: 'it-node',
      runRouter: false,
      runFirewall: false,
      healthAddr: '127.0.0.1',
      healthPort,
      metricsAddr: '127.0.0.1',
      metricsPort,
      cacheSyncTimeout: 10_000,
    },
    logger: pino({ level: process.env.KR_TEST_LOG ?? 'silent' }),
    factories: { proxy: factory },
    registry: createAgentRegistry({ version: 'test' }),
    signal: abort.signal,
    signals: null,
    exit: () => {},
    onReady: ready,
  });
  await Promise.race([readyP, done.then((code) => Promise.reject(new Error(`agent exited with ${code}`)))]);
});

after(async () => {
  abort.abort();
  if (done) await done;
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the first sync sees the complete initial lists', async () => {
  await until('first sync', () => syncs.length > 0);
  assert.deepEqual(syncs[0], { services: server.store.list('Service').items.length, synced: true });
  assert.ok(syncs[0].services >= 3, 'the three seeded services at least');
  assert.ok(syncs.every((s) => s.synced));
});

test('/healthz is 200 and follows the server resourceVersion as syncs apply changes', async () => {
  const read = async (): Promise<{ status: number; body: HealthBody }> => {
    const r = await get(`http://127.0.0.1:${healthPort}/healthz`);
    return { status: r.status, body: JSON.parse(r.text) as HealthBody };
  };
  await until('healthy', async () => (await read()).status === 200);
  const created = server.store.create('Service', svc('later'));
  const rv = created.metadata.resourceVersion;
  assert.ok(rv);
  await until(`sync of resourceVersion ${rv}`, async () => {
    const { body } = await read();
    const proxy = body.controllers.find((c) => c.name === 'proxy');
    return proxy?.lastSyncResourceVersion !== undefined && BigInt(proxy.lastSyncResourceVersion) >= BigInt(rv);
  });
  const { status, body } = await read();
  assert.equal(status, 200);
  assert.equal(body.cacheSynced, true);
  assert.deepEqual(
    body.controllers.map((c) => [c.name, c.running, c.healthy]),
    [['proxy', true, true]],
  );
  assert.deepEqual(body.controllers[0].kinds, ['Service', 'EndpointSlice']);
  assert.equal(syncs.at(-1)?.services, server.store.list('Service').items.length);
});

test('/metrics holds the sync histogram and the informer metrics', async () => {
  const r = await get(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(r.status, 200);
  const parsed = parsePrometheusText(r.text);
  const count = parsed.samples.find((s) => s.name === 'kube_router_controller_sync_duration_seconds_count' && s.labels.controller === 'proxy');
  assert.ok(count && count.value >= 1);
  assert.ok(parsed.samples.some((s) => s.name.startsWith('kube_router_informer_')), 'informer metrics on the same registry');
});

test('shutdown returns 0', async () => {
  abort.abort();
  assert.equal(await done, 0);
  await assert.rejects(get(`http://127.0.0.1:${healthPort}/healthz`));
});
