import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { runAgent, type AgentInfo, type CacheFactoryParams, type RunAgentParams } from '../../src/cmd/agent.js';
import { defaultOptions } from '../../src/cmd/options/parse.js';
import type { AgentOptions } from '../../src/cmd/options/types.js';
import { controllerHealth, type Controller, type ControllerDeps, type ControllerFactory, type ControllerName } from '../../src/controllers/controller.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { ResourceKind } from '../../src/informers/types.js';
import { parsePrometheusText } from '../../src/metrics/parse-text.js';
import { createAgentRegistry } from '../../src/metrics/registry.js';
import { BoundedFrequencyRunner } from '../../src/runner/bounded-frequency-runner.js';
import { freePort, httpGet as get } from '../helpers/http.js';

// ---- helpers ----


function capturingLogger(): { logger: Logger; lines: () => { level: number; msg: string; [k: string]: unknown }[] } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, dest);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { level: number; msg: string }),
  };
}


type Response = Awaited<ReturnType<typeof get>>;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface SyncRecord {
  controller: ControllerName;
  cacheSynced: boolean;
  services: number;
}

interface TestControllerControl {
  syncs: SyncRecord[];
  /** Make every later sync fail. */
  failing: boolean;
  cleanups: ControllerName[];
  started: ControllerName[];
  stopped: ControllerName[];
  kinds: Partial<Record<ControllerName, ResourceKind[]>>;
}

function newControl(): TestControllerControl {
  return { syncs: [], failing: false, cleanups: [], started: [], stopped: [], kinds: {} };
}

/** A minimal controller over a real runner: counts syncs and what they saw. */
function testFactory(name: ControllerName, kinds: ResourceKind[], control: TestControllerControl): ControllerFactory {
  control.kinds[name] = kinds;
  return (deps: ControllerDeps): Controller => {
    const sync = async (): Promise<void> => {
      control.syncs.push({ controller: name, cacheSynced: deps.cache.hasSynced(), services: kinds.includes('Service') ? deps.cache.store('Service').size() : -1 });
      if (control.failing) throw new Error(`${name} sync failed on purpose`);
    };
    const runner = new BoundedFrequencyRunner({
      name,
      fn: sync,
      minIntervalMs: 10,
      maxIntervalMs: 200,
      retryIntervalMs: 50,
      healthSlackMs: 300,
      metrics: deps.metrics,
      logger: deps.logger,
      resourceVersion: () => deps.cache.resourceVersion(),
    });
    let unsubscribe: (() => void)[] = [];
    return {
      name,
      kinds,
      async start() {
        control.started.push(name);
        unsubscribe = kinds.map((k) => deps.cache.on(k, () => runner.run()));
        runner.start();
      },
      sync,
      async stop() {
        control.stopped.push(name);
        for (const u of unsubscribe) u();
        await runner.stop();
      },
      async cleanup() {
        control.cleanups.push(name);
      },
      health: () => controllerHealth(name, runner.health()),
    };
  };
}

function options(over: Partial<AgentOptions>): AgentOptions {
  return { ...defaultOptions(), hostnameOverride: 'node-a', healthPort: 0, metricsPort: 0, cacheSyncTimeout: 60_000, ...over };
}

interface Running {
  done: Promise<number>;
  abort: AbortController;
  ready: Promise<AgentInfo>;
  cache: () => FakeSharedCache;
  cacheParams: () => CacheFactoryParams | undefined;
  exits: number[];
  signals: EventEmitter;
  log: ReturnType<typeof capturingLogger>;
}

function start(opts: AgentOptions, factories: RunAgentParams['factories'], cacheOpts: { syncOnStart?: ResourceKind[] } = {}): Running {
  const abort = new AbortController();
  const log = capturingLogger();
  let cache: FakeSharedCache | undefined;
  let cacheParams: CacheFactoryParams | undefined;
  const exits: number[] = [];
  const signals = new EventEmitter();
  let resolveReady!: (i: AgentInfo) => void;
  const ready = new Promise<AgentInfo>((res) => (resolveReady = res));
  const done = runAgent({
    options: opts,
    logger: log.logger,
    factories,
    registry: createAgentRegistry({ version: '9.9.9' }),
    createCache: (p) => {
      cacheParams = p;
      cache = new FakeSharedCache({ kinds: p.kinds, syncOnStart: cacheOpts.syncOnStart });
      return cache;
    },
    signal: abort.signal,
    signals,
    exit: (code) => exits.push(code),
    onReady: resolveReady,
  });
  return {
    done,
    abort,
    ready,
    cache: () => {
      assert.ok(cache, 'cache created');
      return cache;
    },
    cacheParams: () => cacheParams,
    exits,
    signals,
    log,
  };
}

// ---- tests ----

describe('runAgent', () => {
  const toStop: Running[] = [];
  after(async () => {
    for (const r of toStop) {
      r.abort.abort();
      await r.done;
    }
  });

  it('watches only the union of the enabled controllers\' kinds; warns about unbuilt ones', async () => {
    const control = newControl();
    const r = start(options({ runRouter: true, runServiceProxy: true, runFirewall: false }), {
      proxy: testFactory('proxy', ['Service', 'EndpointSlice'], control),
      firewall: testFactory('firewall', ['Pod', 'NetworkPolicy', 'Namespace'], control),
    });
    toStop.push(r);
    const info = await r.ready;
    assert.deepEqual(info.controllers, ['proxy']);
    assert.equal(info.nodeName, 'node-a');
    assert.deepEqual(r.cacheParams()?.kinds, ['EndpointSlice', 'Service']);
    const warnings = r.log.lines().filter((l) => l.level === 40).map((l) => l.msg);
    assert.deepEqual(warnings, ['controller routing is enabled (--run-router) but not built yet; it does nothing']);
    r.abort.abort();
    assert.equal(await r.done, 0);
    assert.deepEqual(control.stopped, ['proxy']);
    assert.equal(r.cache().stopped, true);
  });

  it('never syncs before the initial lists have arrived', async () => {
    const control = newControl();
    const r = start(options({ runRouter: false, runFirewall: false }), { proxy: testFactory('proxy', ['Service', 'EndpointSlice'], control) }, { syncOnStart: [] });
    toStop.push(r);
    await waitFor('cache started', () => (r.cacheParams() && r.cache().started ? true : undefined));
    r.cache().add('Service', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } });
    // Give the agent plenty of chances to (wrongly) start the controller.
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(control.started.length, 0);
    assert.equal(control.syncs.length, 0);
    r.cache().markSynced('Service');
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(control.started.length, 0, 'one kind listed is not enough');
    r.cache().markSynced('EndpointSlice');
    await r.ready;
    await waitFor('first sync', () => (control.syncs.length > 0 ? true : undefined));
    assert.deepEqual(control.syncs[0], { controller: 'proxy', cacheSynced: true, services: 1 });
    assert.ok(control.syncs.every((s) => s.cacheSynced));
    r.abort.abort();
    assert.equal(await r.done, 0);
  });

  it('fails with exit 1 when the caches do not sync in --cache-sync-timeout', async () => {
    const control = newControl();
    const r = start(options({ runRouter: false, runFirewall: false, cacheSyncTimeout: 50 }), { proxy: testFactory('proxy', ['Service'], control) }, { syncOnStart: [] });
    assert.equal(await r.done, 1);
    assert.deepEqual(control.syncs, []);
    const err = r.log.lines().find((l) => l.level === 50);
    assert.match(err?.msg ?? '', /--cache-sync-timeout=50ms/);
  });

  it('/healthz goes 503 → 200 → 503 and /metrics holds the sync histogram', async () => {
    const control = newControl();
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    const r = start(
      options({ runRouter: true, runFirewall: false, healthAddr: '127.0.0.1', healthPort, metricsAddr: '127.0.0.1', metricsPort, metricsPath: '/metrics' }),
      { proxy: testFactory('proxy', ['Service'], control) },
      { syncOnStart: [] },
    );
    toStop.push(r);
    const base = `http://127.0.0.1:${healthPort}`;
    // Servers are up before the cache has synced: 503 naming the cache.
    const before = await waitFor<Response>('health server', async () => {
      try {
        return await get(`${base}/healthz`);
      } catch {
        return undefined;
      }
    });
    assert.equal(before.status, 503);
    const body0 = JSON.parse(before.text) as { cacheSynced: boolean; reason: string; controllers: { name: string; running: boolean; healthy: boolean }[] };
    assert.equal(body0.cacheSynced, false);
    assert.match(body0.reason, /cache not synced/);
    assert.deepEqual(body0.controllers.map((c) => [c.name, c.running, c.healthy]), [['routing', false, false], ['proxy', true, false]]);

    r.cache().markSynced('Service');
    await r.ready;
    const ok = await waitFor<Response>('200', async () => {
      const res = await get(`${base}/healthz`);
      return res.status === 200 ? res : undefined;
    });
    const body = JSON.parse(ok.text) as { cacheSynced: boolean; resourceVersion: string; controllers: { name: string; lastSyncAt?: string; lastSyncResourceVersion?: string }[] };
    assert.equal(body.cacheSynced, true);
    const proxy = body.controllers.find((c) => c.name === 'proxy');
    assert.ok(proxy?.lastSyncAt && !Number.isNaN(Date.parse(proxy.lastSyncAt)));
    assert.equal(proxy?.lastSyncResourceVersion, body.resourceVersion);

    // A change in the cache: the sync that follows reports its resourceVersion.
    const svc = r.cache().add('Service', { metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
    await waitFor('resourceVersion applied', async () => {
      const res = JSON.parse((await get(`${base}/healthz`)).text) as typeof body;
      return res.controllers.find((c) => c.name === 'proxy')?.lastSyncResourceVersion === svc.metadata.resourceVersion ? true : undefined;
    });

    // /metrics: valid Prometheus text with the histogram, build info and default metrics.
    const m = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
    const parsed = parsePrometheusText(m.text);
    assert.equal(parsed.families.get('kube_router_controller_sync_duration_seconds')?.type, 'histogram');
    const count = parsed.samples.find((s) => s.name === 'kube_router_controller_sync_duration_seconds_count' && s.labels.controller === 'proxy');
    assert.ok(count && count.value >= 1, 'sync durations observed');
    const buckets = parsed.samples.filter((s) => s.name === 'kube_router_controller_sync_duration_seconds_bucket' && s.labels.controller === 'proxy');
    assert.equal(buckets.length, 16, '15 exponential buckets + Inf');
    assert.equal(buckets[0].labels.le, '0.001');
    const build = parsed.samples.find((s) => s.name === 'kube_router_build_info');
    assert.equal(build?.labels.nodeversion, process.version);
    assert.equal(build?.labels.version, '9.9.9');
    assert.ok(parsed.samples.some((s) => s.name === 'process_cpu_user_seconds_total'));
    assert.ok(parsed.samples.some((s) => s.name.startsWith('nodejs_')));
    assert.equal((await get(`http://127.0.0.1:${metricsPort}/other`)).status, 404);

    // Every sync now fails: the controller goes stale, /healthz names it.
    control.failing = true;
    const bad = await waitFor<Response>('503', async () => {
      const res = await get(`${base}/healthz`);
      return res.status === 503 ? res : undefined;
    });
    const badBody = JSON.parse(bad.text) as { reason: string; controllers: { name: string; lastError?: string }[] };
    assert.match(badBody.reason, /unhealthy controllers: proxy \(/);
    assert.equal(badBody.controllers.find((c) => c.name === 'proxy')?.lastError, 'proxy sync failed on purpose');
    const errs = parsePrometheusText((await get(`http://127.0.0.1:${metricsPort}/metrics`)).text).samples.find(
      (s) => s.name === 'kube_router_controller_sync_errors_total' && s.labels.controller === 'proxy',
    );
    assert.ok(errs && errs.value >= 1);

    r.abort.abort();
    assert.equal(await r.done, 0);
    await assert.rejects(get(`${base}/healthz`), 'health server closed');
  });

  it('a signal while waiting for the cache sync exits 0 without starting controllers', async () => {
    const control = newControl();
    const r = start(options({ runRouter: false, runFirewall: false }), { proxy: testFactory('proxy', ['Service'], control) }, { syncOnStart: [] });
    await waitFor('cache started', () => (r.cacheParams() && r.cache().started ? true : undefined));
    r.signals.emit('SIGTERM');
    assert.equal(await r.done, 0);
    assert.equal(control.started.length, 0);
    assert.equal(r.cache().stopped, true);
  });

  it('exits 1 naming the flag and address when the health port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const control = newControl();
      const r = start(options({ runRouter: false, runFirewall: false, healthAddr: '127.0.0.1', healthPort: port }), { proxy: testFactory('proxy', ['Service'], control) });
      assert.equal(await r.done, 1);
      const err = r.log.lines().find((l) => l.level === 50);
      assert.match(err?.msg ?? '', new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(--health-addr/--health-port\\)`));
      assert.deepEqual(control.started, []);
    } finally {
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });

  it('exits 1 naming --metrics-port when the metrics port is taken, closing the health server', async () => {
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as net.AddressInfo).port;
    const healthPort = await freePort();
    try {
      const r = start(options({ runRouter: false, runFirewall: false, healthAddr: '127.0.0.1', healthPort, metricsAddr: '127.0.0.1', metricsPort: port }), {
        proxy: testFactory('proxy', ['Service'], newControl()),
      });
      assert.equal(await r.done, 1);
      assert.match(r.log.lines().find((l) => l.level === 50)?.msg ?? '', /--metrics-addr\/--metrics-port/);
      await assert.rejects(get(`http://127.0.0.1:${healthPort}/healthz`));
    } finally {
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });

  it('--cleanup-config calls every enabled controller\'s cleanup without a cache and exits 0', async () => {
    const control = newControl();
    const r = start(options({ cleanupConfig: true, runRouter: true, runServiceProxy: true, runFirewall: true }), {
      proxy: testFactory('proxy', ['Service'], control),
      firewall: testFactory('firewall', ['Pod'], control),
    });
    assert.equal(await r.done, 0);
    assert.deepEqual(control.cleanups.sort(), ['firewall', 'proxy']);
    assert.equal(r.cacheParams(), undefined, 'no cache, no API server');
    assert.deepEqual(control.started, []);
  });

  it('SIGTERM shuts down gracefully (exit 0); a second signal exits at once', async () => {
    const control = newControl();
    let release!: () => void;
    const hang = new Promise<void>((res) => (release = res));
    const factory = testFactory('proxy', ['Service'], control);
    const r = start(options({ runRouter: false, runFirewall: false }), {
      proxy: (deps) => {
        const c = factory(deps);
        return { ...c, stop: async () => { await c.stop(); await hang; } };
      },
    });
    await r.ready;
    r.signals.emit('SIGTERM');
    await waitFor('controller stop', () => (control.stopped.length > 0 ? true : undefined));
    r.signals.emit('SIGINT');
    assert.deepEqual(r.exits, [130]);
    release();
    assert.equal(await r.done, 0);
    assert.equal(r.signals.listenerCount('SIGTERM'), 0, 'signal handlers removed');
  });

  it('a hung shutdown ends within its deadline', async () => {
    const factory = testFactory('proxy', ['Service'], newControl());
    const abort = new AbortController();
    const exits: number[] = [];
    let resolveReady!: () => void;
    const ready = new Promise<void>((res) => (resolveReady = res));
    const done = runAgent({
      options: options({ runRouter: false, runFirewall: false }),
      logger: pino({ level: 'silent' }),
      factories: {
        proxy: (deps) => {
          const c = factory(deps);
          // Stops its runner but never reports it.
          return { ...c, stop: () => c.stop().then(() => new Promise<void>(() => {})) };
        },
      },
      registry: new Registry(),
      createCache: (p) => new FakeSharedCache({ kinds: p.kinds }),
      signal: abort.signal,
      signals: null,
      exit: (code) => exits.push(code),
      shutdownTimeoutMs: 100,
      onReady: () => resolveReady(),
    });
    await ready;
    abort.abort();
    assert.equal(await done, 0);
    assert.deepEqual(exits, [0]);
  });

  it('exits 1 when a controller fails to start, stopping the others', async () => {
    const control = newControl();
    const proxy = testFactory('proxy', ['Service'], control);
    const r = start(options({ runRouter: true, runServiceProxy: true, runFirewall: true }), {
      proxy,
      firewall: (deps) => ({ ...testFactory('firewall', ['Pod'], control)(deps), start: async () => { throw new Error('no iptables'); } }),
    });
    assert.equal(await r.done, 1);
    assert.deepEqual(control.stopped, ['proxy']);
    assert.match(r.log.lines().find((l) => l.level === 50)?.msg ?? '', /controller firewall failed to start: no iptables/);
  });
});
