import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControllerHealth } from '../../src/controllers/controller.js';
import { evaluateHealth, judgeController, type HealthEntry } from '../../src/health/evaluate.js';
import { startHealthServer, type HealthServer } from '../../src/health/server.js';
import { BoundedFrequencyRunner } from '../../src/runner/bounded-frequency-runner.js';
import { FakeClock } from '../../src/runner/fake-clock.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function h(fields: Partial<ControllerHealth>): ControllerHealth {
  return { name: 'proxy', periodMs: 10_000, ...fields };
}

describe('judgeController', () => {
  it('is unhealthy before the first sync, even while it runs', () => {
    assert.equal(judgeController(h({}), T0).healthy, false);
    assert.match(judgeController(h({}), T0).reason ?? '', /no successful sync yet/);
    const r = judgeController(h({ syncingSince: T0 - 1000, lastProgressAt: T0 }), T0);
    assert.equal(r.healthy, false);
    assert.match(r.reason ?? '', /first sync still running/);
  });

  it('is healthy within the period and stale after it', () => {
    assert.equal(judgeController(h({ lastSyncAt: T0 - 10_000 }), T0).healthy, true);
    const r = judgeController(h({ lastSyncAt: T0 - 10_001, lastError: 'ipset restore failed' }), T0);
    assert.equal(r.healthy, false);
    assert.match(r.reason ?? '', /last successful sync 10\.0s ago \(expected within 10\.0s\); last error: ipset restore failed/);
  });

  it('a long sync is alive while it reports progress, dead when it stops', () => {
    const base = { lastSyncAt: T0 - 60_000, syncingSince: T0 - 40_000 };
    assert.equal(judgeController(h({ ...base, lastProgressAt: T0 - 9000 }), T0).healthy, true);
    const dead = judgeController(h({ ...base, lastProgressAt: T0 - 11_000 }), T0);
    assert.equal(dead.healthy, false);
    assert.match(dead.reason ?? '', /without progress for 11\.0s/);
    // progressTimeoutMs overrides the period for this check
    assert.equal(judgeController(h({ ...base, lastProgressAt: T0 - 11_000, progressTimeoutMs: 30_000 }), T0).healthy, true);
    // A sync that just started counts as progress.
    assert.equal(judgeController(h({ lastSyncAt: T0 - 60_000, syncingSince: T0 - 1000 }), T0).healthy, true);
  });
});

describe('evaluateHealth', () => {
  it('is unhealthy until the cache has synced, and names it', () => {
    const r = evaluateHealth({ now: T0, cacheSynced: false, resourceVersion: '', controllers: [] });
    assert.equal(r.healthy, false);
    assert.equal(r.ready, false);
    assert.match(r.reason ?? '', /cache not synced/);
  });

  it('lists every enabled controller; not-built ones do not decide the status', () => {
    const entries: HealthEntry[] = [
      { name: 'routing', running: false, note: 'enabled (--run-router) but not built yet' },
      { name: 'proxy', running: true, health: h({ lastSyncAt: T0 - 1000, lastSyncResourceVersion: '42' }) },
    ];
    const r = evaluateHealth({ now: T0, cacheSynced: true, resourceVersion: '43', controllers: entries });
    assert.equal(r.healthy, true);
    assert.equal(r.status, 'ok');
    assert.equal(r.ready, true);
    assert.equal(r.resourceVersion, '43');
    assert.deepEqual(
      r.controllers.map((c) => [c.name, c.running, c.healthy]),
      [['routing', false, false], ['proxy', true, true]],
    );
    assert.equal(r.controllers[0].reason, 'enabled (--run-router) but not built yet');
    assert.equal(r.controllers[1].lastSyncAt, new Date(T0 - 1000).toISOString());
    assert.equal(r.controllers[1].lastSyncResourceVersion, '42');
    assert.equal(r.controllers[1].periodSeconds, 10);
  });

  it('names the stale controller', () => {
    const entries: HealthEntry[] = [
      { name: 'proxy', running: true, health: h({ lastSyncAt: T0 - 1000 }) },
      { name: 'firewall', running: true, health: h({ name: 'firewall', lastSyncAt: T0 - 20_000 }) },
    ];
    const r = evaluateHealth({ now: T0, cacheSynced: true, resourceVersion: '1', controllers: entries });
    assert.equal(r.healthy, false);
    assert.equal(r.ready, true, 'readiness does not revert once synced');
    assert.match(r.reason ?? '', /unhealthy controllers: firewall \(/);
    assert.doesNotMatch(r.reason ?? '', /proxy/);
  });
});

interface Fetched {
  status: number;
  body: { status: string; healthy: boolean; reason?: string; cacheSynced: boolean; resourceVersion: string; controllers: { name: string; healthy: boolean; reason?: string; lastSyncAt?: string; lastSyncResourceVersion?: string }[] };
}

function get(url: string): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Fetched['body'] });
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('error', reject);
  });
}

describe('health server with a runner-backed controller', () => {
  const clock = new FakeClock(T0);
  let cacheSynced = false;
  let rv = '100';
  let syncBlock: Promise<void> | undefined;
  let progressEvery: ((progress: () => void) => void) | undefined;
  const runner = new BoundedFrequencyRunner({
    name: 'proxy',
    minIntervalMs: 1000,
    maxIntervalMs: 30_000,
    retryIntervalMs: 5000,
    healthSlackMs: 5000,
    clock,
    resourceVersion: () => rv,
    fn: async (ctx) => {
      progressEvery?.(() => ctx.progress());
      if (syncBlock) await syncBlock;
    },
  });
  let server: HealthServer;

  before(async () => {
    server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      now: () => clock.now(),
      source: {
        cacheSynced: () => cacheSynced,
        resourceVersion: () => (cacheSynced ? rv : ''),
        controllers: () => [
          { name: 'routing', running: false, note: 'enabled (--run-router) but not built yet' },
          { name: 'proxy', running: true, health: { name: 'proxy', ...runner.health() } },
        ],
      },
    });
  });

  after(async () => {
    await runner.stop();
    await server.close();
  });

  it('503 before the cache has synced, naming the cache', async () => {
    const r = await get(`${server.url}/healthz`);
    assert.equal(r.status, 503);
    assert.equal(r.body.cacheSynced, false);
    assert.match(r.body.reason ?? '', /cache not synced/);
    assert.deepEqual(r.body.controllers.map((c) => c.name), ['routing', 'proxy']);
  });

  it('503 after cache sync but before the first controller sync, naming it', async () => {
    cacheSynced = true;
    const r = await get(`${server.url}/healthz`);
    assert.equal(r.status, 503);
    assert.match(r.body.reason ?? '', /proxy \(no successful sync yet\)/);
    assert.equal((await get(`${server.url}/readyz`)).status, 503);
  });

  it('200 after the first sync, with lastSyncAt and the resourceVersion it saw', async () => {
    runner.start();
    await clock.advance(0);
    const r = await get(`${server.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.resourceVersion, '100');
    const proxy = r.body.controllers.find((c) => c.name === 'proxy');
    assert.equal(proxy?.healthy, true);
    assert.equal(proxy?.lastSyncAt, new Date(T0).toISOString());
    assert.equal(proxy?.lastSyncResourceVersion, '100');
    assert.equal((await get(`${server.url}/readyz`)).status, 200);
  });

  it('a long sync that reports progress stays 200', async () => {
    let release!: () => void;
    syncBlock = new Promise<void>((res) => (release = res));
    let progress: (() => void) | undefined;
    progressEvery = (p) => (progress = p);
    rv = '101';
    await clock.advance(30_000); // the periodic sync starts and blocks
    assert.equal(runner.status().running, true);
    for (let i = 0; i < 6; i++) {
      await clock.advance(10_000);
      progress?.();
    }
    // 90 s since the last success, period 35 s, but progress 0 s ago
    const r = await get(`${server.url}/healthz`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    release();
    syncBlock = undefined;
    progressEvery = undefined;
    await clock.advance(0);
    const after = await get(`${server.url}/healthz`);
    assert.equal(after.status, 200);
    assert.equal(after.body.controllers.find((c) => c.name === 'proxy')?.lastSyncResourceVersion, '101');
  });

  it('a long sync without progress goes 503', async () => {
    let release!: () => void;
    syncBlock = new Promise<void>((res) => (release = res));
    await clock.advance(30_000); // periodic sync starts and blocks, no progress
    await clock.advance(40_000);
    const r = await get(`${server.url}/healthz`);
    assert.equal(r.status, 503);
    assert.match(r.body.reason ?? '', /proxy \(sync running for 40\.0s without progress/);
    release();
    syncBlock = undefined;
    await clock.advance(0);
    assert.equal((await get(`${server.url}/healthz`)).status, 200);
  });

  it('back to 503 when the controller stops syncing', async () => {
    await runner.stop();
    await clock.advance(35_000);
    assert.equal((await get(`${server.url}/healthz`)).status, 200, 'still within the period');
    await clock.advance(1);
    const r = await get(`${server.url}/healthz`);
    assert.equal(r.status, 503);
    assert.match(r.body.reason ?? '', /proxy \(last successful sync 35\.0s ago/);
  });

  it('404 for other paths, HEAD works', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      http.get(`${server.url}/nope`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(status, 404);
    const head = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.url}/healthz`, { method: 'HEAD' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(head, 503);
  });
});

describe('health server bind failure', () => {
  it('names the flags and the address', async () => {
    const blocker = http.createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as AddressInfo).port;
    try {
      await assert.rejects(
        startHealthServer({ host: '127.0.0.1', port, source: { cacheSynced: () => false, resourceVersion: () => '', controllers: () => [] } }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'KR_ERR_CONFIG');
          assert.match(err.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(--health-addr/--health-port\\): EADDRINUSE`));
          return true;
        },
      );
    } finally {
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });
});
