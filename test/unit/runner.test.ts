import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { BoundedFrequencyRunner, type RunContext, type RunReason } from '../../src/runner/bounded-frequency-runner.js';
import { FakeClock, settle } from '../../src/runner/fake-clock.js';

interface Harness {
  clock: FakeClock;
  runner: BoundedFrequencyRunner;
  /** Clock times at which fn started, with the reason. */
  starts: { at: number; reason: RunReason }[];
  registry: Registry;
}

function harness(
  fn: (ctx: RunContext, clock: FakeClock) => Promise<void> = async () => {},
  intervals = { minIntervalMs: 1000, maxIntervalMs: 60_000, retryIntervalMs: 5000 },
  extra: { resourceVersion?: () => string } = {},
): Harness {
  const clock = new FakeClock(0);
  const registry = new Registry();
  const starts: { at: number; reason: RunReason }[] = [];
  const runner = new BoundedFrequencyRunner({
    name: 'proxy',
    ...intervals,
    clock,
    metrics: registry,
    ...extra,
    fn: async (ctx) => {
      starts.push({ at: clock.now(), reason: ctx.reason });
      await fn(ctx, clock);
    },
  });
  return { clock, runner, starts, registry };
}

/** A promise the test resolves by hand (a sync that takes a while). */
function gate(): { wait: Promise<void>; open: () => void; fail: (e: Error) => void } {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const wait = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { wait, open, fail };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} registered`);
  const data = await metric.get();
  const v = data.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
}

describe('BoundedFrequencyRunner', () => {
  it('runs once at start, then not again until asked', async () => {
    const h = harness();
    h.runner.start();
    await h.clock.advance(0);
    assert.deepEqual(h.starts, [{ at: 0, reason: 'requested' }]);
    await h.clock.advance(30_000);
    assert.equal(h.starts.length, 1);
    await h.runner.stop();
  });

  it('does not run before start(); a request made before start is served at start', async () => {
    const h = harness();
    h.runner.run();
    await h.clock.advance(120_000);
    assert.equal(h.starts.length, 0);
    h.runner.start();
    await h.clock.advance(0);
    assert.equal(h.starts.length, 1);
    await h.runner.stop();
  });

  it('coalesces a burst of requests into one run', async () => {
    const h = harness();
    h.runner.start();
    await h.clock.advance(0);
    await h.clock.advance(5000); // well past minInterval
    for (let i = 0; i < 100; i++) h.runner.run();
    await h.clock.advance(0);
    assert.equal(h.starts.length, 2);
    await h.clock.advance(10_000);
    assert.equal(h.starts.length, 2);
    await h.runner.stop();
  });

  it('keeps minInterval between the end of one run and the start of the next', async () => {
    const long = gate();
    let first = true;
    const h = harness(async (_ctx, clock) => {
      if (first) {
        first = false;
        await long.wait;
      }
      void clock;
    });
    h.runner.start();
    await h.clock.advance(0);
    // Requests during the run wait for it to end, then for minInterval.
    h.runner.run();
    h.runner.run();
    await h.clock.advance(3000);
    assert.equal(h.starts.length, 1, 'no second run while the first is in flight');
    long.open();
    await h.clock.advance(0); // the first run ends at t=3000
    assert.equal(h.runner.status().lastRunEndAt, 3000);
    await h.clock.advance(999);
    assert.equal(h.starts.length, 1, 'not before end + minInterval');
    await h.clock.advance(1);
    assert.equal(h.starts.length, 2);
    assert.equal(h.starts[1].at, 4000);
    assert.equal(h.starts[1].reason, 'requested');
    await h.runner.stop();
  });

  it('never runs fn twice at once', async () => {
    let active = 0;
    let maxActive = 0;
    const gates: ReturnType<typeof gate>[] = [];
    const h = harness(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      const g = gate();
      gates.push(g);
      await g.wait;
      active--;
    }, { minIntervalMs: 0, maxIntervalMs: 1000, retryIntervalMs: 100 });
    h.runner.start();
    for (let i = 0; i < 10; i++) {
      h.runner.run();
      await h.clock.advance(700); // also passes maxInterval while a run is in flight
      gates.at(-1)?.open();
    }
    await h.clock.advance(0);
    assert.equal(maxActive, 1);
    assert.ok(h.starts.length >= 5);
    for (const g of gates) g.open();
    await h.runner.stop();
  });

  it('runs at least once per maxInterval (periodic resync)', async () => {
    const h = harness();
    h.runner.start();
    await h.clock.advance(0);
    await h.clock.advance(59_999);
    assert.equal(h.starts.length, 1);
    await h.clock.advance(1);
    assert.deepEqual(h.starts[1], { at: 60_000, reason: 'periodic' });
    await h.clock.advance(60_000);
    assert.deepEqual(h.starts[2], { at: 120_000, reason: 'periodic' });
    // A requested run restarts the period from its end.
    await h.clock.advance(10_000);
    h.runner.run();
    await h.clock.advance(0);
    assert.equal(h.starts[3].at, 130_000);
    await h.clock.advance(59_999);
    assert.equal(h.starts.length, 4);
    await h.clock.advance(1);
    assert.deepEqual(h.starts[4], { at: 190_000, reason: 'periodic' });
    await h.runner.stop();
  });

  it('retries a failed run after retryInterval; a success cancels the retry', async () => {
    let failNext = 2;
    const h = harness(async () => {
      if (failNext > 0) {
        failNext--;
        throw new Error('iptables-restore: exit status 1');
      }
    });
    h.runner.start();
    await h.clock.advance(0);
    assert.equal(h.runner.status().consecutiveFailures, 1);
    assert.equal(h.runner.status().lastError, 'iptables-restore: exit status 1');
    await h.clock.advance(4999);
    assert.equal(h.starts.length, 1);
    await h.clock.advance(1);
    assert.deepEqual(h.starts[1], { at: 5000, reason: 'retry' });
    await h.clock.advance(5000);
    assert.deepEqual(h.starts[2], { at: 10_000, reason: 'retry' });
    const st = h.runner.status();
    assert.equal(st.consecutiveFailures, 0);
    assert.equal(st.failures, 2);
    assert.equal(st.lastError, undefined);
    assert.equal(st.retryAt, undefined);
    await h.clock.advance(30_000);
    assert.equal(h.starts.length, 3, 'no retry after a success');
    await h.runner.stop();
  });

  it('a success of a requested run cancels a pending retry', async () => {
    let fail = true;
    const h = harness(async () => {
      if (fail) {
        fail = false;
        throw new Error('boom');
      }
    });
    h.runner.start();
    await h.clock.advance(0);
    await h.clock.advance(2000);
    h.runner.run(); // succeeds at t=2000, before the retry at 5000
    await h.clock.advance(0);
    assert.equal(h.starts.length, 2);
    await h.clock.advance(10_000);
    assert.equal(h.starts.length, 2);
    await h.runner.stop();
  });

  it('retries respect minInterval too', async () => {
    let fail = true;
    const h = harness(
      async () => {
        if (fail) {
          fail = false;
          throw new Error('boom');
        }
      },
      { minIntervalMs: 3000, maxIntervalMs: 60_000, retryIntervalMs: 1000 },
    );
    h.runner.start();
    await h.clock.advance(0);
    await h.clock.advance(2999);
    assert.equal(h.starts.length, 1);
    await h.clock.advance(1);
    assert.deepEqual(h.starts[1], { at: 3000, reason: 'retry' });
    await h.runner.stop();
  });

  it('catches errors (thrown or rejected, even non-Error values) and counts them', async () => {
    let n = 0;
    const h = harness(
      (async () => {
        n++;
        if (n === 1) throw new Error('first');
        if (n === 2) return Promise.reject('second');
        if (n === 3) throw 42;
      }) as () => Promise<void>,
      { minIntervalMs: 0, maxIntervalMs: 60_000, retryIntervalMs: 10 },
    );
    h.runner.start();
    await h.clock.advance(100);
    assert.equal(n, 4);
    assert.equal(await metricValue(h.registry, 'kube_router_controller_sync_errors_total', { controller: 'proxy' }), 3);
    assert.equal(await metricValue(h.registry, 'kube_router_controller_sync_total', { controller: 'proxy', result: 'error' }), 3);
    assert.equal(await metricValue(h.registry, 'kube_router_controller_sync_total', { controller: 'proxy', result: 'success' }), 1);
    const hist = await metricValue(h.registry, 'kube_router_controller_sync_duration_seconds', { controller: 'proxy', le: '+Inf' });
    assert.equal(hist, 4);
    assert.equal(h.runner.status().failures, 3);
    await h.runner.stop();
  });

  it('exposes pending and last-queued gauges', async () => {
    const g = gate();
    const h = harness(async () => g.wait);
    h.runner.start();
    await h.clock.advance(0);
    assert.equal(await metricValue(h.registry, 'kube_router_controller_sync_pending', { controller: 'proxy' }), 0);
    await h.clock.advance(500);
    h.runner.run();
    assert.equal(await metricValue(h.registry, 'kube_router_controller_sync_pending', { controller: 'proxy' }), 1);
    assert.equal(await metricValue(h.registry, 'kube_router_controller_sync_last_queued_timestamp_seconds', { controller: 'proxy' }), 0.5);
    g.open();
    await h.clock.advance(1000);
    assert.equal(await metricValue(h.registry, 'kube_router_controller_sync_pending', { controller: 'proxy' }), 0);
    await h.runner.stop();
  });

  it('two runners share one registry with distinct labels', async () => {
    const clock = new FakeClock(0);
    const registry = new Registry();
    const mk = (name: string) =>
      new BoundedFrequencyRunner({ name, fn: async () => {}, minIntervalMs: 0, maxIntervalMs: 1000, retryIntervalMs: 100, clock, metrics: registry });
    const a = mk('proxy');
    const b = mk('firewall');
    a.start();
    b.start();
    await clock.advance(0);
    assert.equal(await metricValue(registry, 'kube_router_controller_sync_total', { controller: 'proxy', result: 'success' }), 1);
    assert.equal(await metricValue(registry, 'kube_router_controller_sync_total', { controller: 'firewall', result: 'success' }), 1);
    await a.stop();
    await b.stop();
  });

  it('stop() waits for the in-flight run and prevents further runs', async () => {
    const g = gate();
    let finished = false;
    const h = harness(async () => {
      await g.wait;
      finished = true;
    });
    h.runner.start();
    await h.clock.advance(0);
    let stopped = false;
    const stopping = h.runner.stop().then(() => {
      stopped = true;
    });
    await settle();
    assert.equal(stopped, false, 'stop waits for the run');
    g.open();
    await stopping;
    assert.equal(finished, true);
    h.runner.run();
    await h.clock.advance(600_000);
    assert.equal(h.starts.length, 1);
    assert.equal(h.clock.pendingTimers(), 0);
  });

  it('loop() resolves when the abort signal fires and the run has finished', async () => {
    const h = harness();
    const ac = new AbortController();
    const looping = h.runner.loop(ac.signal);
    await h.clock.advance(0);
    assert.equal(h.starts.length, 1);
    ac.abort();
    await looping;
    assert.equal(h.runner.status().stopped, true);
  });

  it('records progress and the resourceVersion seen, for health', async () => {
    const g = gate();
    let rv = 10;
    const h = harness(
      async (ctx, clock) => {
        if (clock.now() >= 60_000) {
          ctx.progress();
          await g.wait;
        }
      },
      { minIntervalMs: 1000, maxIntervalMs: 60_000, retryIntervalMs: 5000 },
      { resourceVersion: () => String(rv) },
    );
    h.runner.start();
    await h.clock.advance(0);
    let health = h.runner.health();
    assert.equal(health.lastSyncAt, 0);
    assert.equal(health.lastSyncResourceVersion, '10');
    assert.equal(health.periodMs, 60_000 + 5000 + 5000);
    rv = 11;
    await h.clock.advance(60_000); // the periodic run starts and blocks
    health = h.runner.health();
    assert.equal(health.syncingSince, 60_000);
    assert.equal(health.lastProgressAt, 60_000);
    await h.clock.advance(1000);
    h.runner.progress();
    assert.equal(h.runner.health().lastProgressAt, 61_000);
    g.open();
    await h.clock.advance(0);
    health = h.runner.health();
    assert.equal(health.syncingSince, undefined);
    assert.equal(health.lastSyncAt, 61_000);
    assert.equal(health.lastSyncResourceVersion, '11');
    await h.runner.stop();
  });

  it('an idle runner after a success is current with the cache resourceVersion', async () => {
    let rv = 5;
    let fail = false;
    const g = { block: undefined as Promise<void> | undefined };
    const h = harness(
      async () => {
        if (g.block) await g.block;
        if (fail) throw new Error('boom');
      },
      { minIntervalMs: 1000, maxIntervalMs: 60_000, retryIntervalMs: 5000 },
      { resourceVersion: () => String(rv) },
    );
    assert.equal(h.runner.appliedResourceVersion(), undefined, 'nothing applied before the first sync');
    h.runner.start();
    await h.clock.advance(0);
    assert.equal(h.runner.health().lastSyncResourceVersion, '5');
    rv = 6; // e.g. a bookmark, or an event the controller found irrelevant
    assert.equal(h.runner.health().lastSyncResourceVersion, '6');
    rv = 7;
    h.runner.run(); // a relevant event: pending until the sync has run
    assert.equal(h.runner.health().lastSyncResourceVersion, '5');
    let release!: () => void;
    g.block = new Promise<void>((res) => (release = res));
    await h.clock.advance(1000); // starts, sees 7, blocks
    rv = 8;
    assert.equal(h.runner.health().lastSyncResourceVersion, '5', 'not while running');
    release();
    g.block = undefined;
    await h.clock.advance(0);
    assert.equal(h.runner.health().lastSyncResourceVersion, '8', 'idle again');
    fail = true;
    h.runner.run();
    await h.clock.advance(1000);
    rv = 9;
    assert.equal(h.runner.health().lastSyncResourceVersion, '7', 'a failed sync keeps the last applied one');
    await h.runner.stop();
    fail = false;
    assert.equal(h.runner.health().lastSyncResourceVersion, '7', 'a stopped runner is not current');
  });

  it('rejects inconsistent intervals', () => {
    assert.throws(
      () => new BoundedFrequencyRunner({ name: 'x', fn: async () => {}, minIntervalMs: 10, maxIntervalMs: 5, retryIntervalMs: 1 }),
      { code: 'KR_ERR_INTERNAL' },
    );
  });
});
