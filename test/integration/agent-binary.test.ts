// The SHIPPED binary (dist/kube-router.mjs, the bundle scripts/bundle.mjs makes
// of dist/src/cmd/kube-router.js) against the lab API server:
// health and metrics endpoints come up, unbuilt controllers are reported (not
// pretended), SIGTERM exits 0 within 2 s, a taken health port exits 1 naming
// the flag, --cleanup-config needs no API server.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startLabApiServer, type RunningLabApiServer } from '../../src/lab/apiserver/index.js';
import { parsePrometheusText } from '../../src/metrics/parse-text.js';
import { CONTROLLER_FLAGS, CONTROLLER_ORDER } from '../../src/controllers/controller.js';
import { BUILT_IN_FACTORIES } from '../../src/controllers/registry.js';
import { freePort, httpGet as get } from '../helpers/http.js';

const BIN = fileURLToPath(new URL('../../kube-router.mjs', import.meta.url));



interface Agent {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function spawnAgent(args: string[], env: NodeJS.ProcessEnv = {}): Agent {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NODE_NAME: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, output: () => out, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, agent: Agent, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (agent.child.exitCode !== null) throw new Error(`agent exited (${agent.child.exitCode}) while waiting for ${what}:\n${agent.output()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}:\n${agent.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let server: RunningLabApiServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-agent-bin-'));
let kubeconfig = '';
const spawned: Agent[] = [];

before(async () => {
  server = await startLabApiServer({ port: 0 });
  kubeconfig = path.join(tmp, 'kubeconfig');
  fs.writeFileSync(kubeconfig, server.kubeconfig());
});

after(async () => {
  for (const a of spawned) if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('serves /healthz and /metrics, reports unbuilt controllers, exits 0 within 2 s of SIGTERM', async (t) => {
  const [healthPort, metricsPort] = [await freePort(), await freePort()];
  // Built controllers are disabled here: they would program this host's kernel.
  // The proxy is kept when the host has no ip_vs module (it then fails its
  // syncs before any mutation), so the agent has something to run.
  const unbuilt = CONTROLLER_ORDER.filter((n) => BUILT_IN_FACTORIES[n] === undefined);
  const keepProxy = BUILT_IN_FACTORIES.proxy !== undefined && !fs.existsSync('/proc/net/ip_vs');
  if (unbuilt.length === 0 && !keepProxy) return t.skip('every controller is built and this host has ip_vs: running the agent would program it');
  const disableBuilt = CONTROLLER_ORDER.filter((n) => BUILT_IN_FACTORIES[n] !== undefined && !(n === 'proxy' && keepProxy)).map((n) => `${CONTROLLER_FLAGS[n]}=false`);
  const agent = spawnAgent([
    ...disableBuilt,
    '--kubeconfig', kubeconfig,
    '--hostname-override', 'bin-node',
    '--health-addr', '127.0.0.1', '--health-port', String(healthPort),
    '--metrics-addr', '127.0.0.1', '--metrics-port', String(metricsPort),
  ]);
  spawned.push(agent);
  const health = await until('/healthz 200', async () => {
    const r = await get(`http://127.0.0.1:${healthPort}/healthz`);
    // A kept proxy fails its syncs here (no ip_vs), which /healthz may report as 503.
    if (r.status === 200) return r;
    const synced = r.status === 503 && (JSON.parse(r.text) as { cacheSynced?: boolean }).cacheSynced === true;
    return keepProxy && synced ? r : undefined;
  }, agent);
  const body = JSON.parse(health.text) as { cacheSynced: boolean; controllers: { name: string; running: boolean; reason?: string }[] };
  assert.equal(body.cacheSynced, true);
  // Nothing is built yet: every enabled controller is listed as not running, none pretends to run.
  const listed = body.controllers.filter((c) => !c.running).map((c) => c.name);
  assert.deepEqual(listed, unbuilt);
  if (unbuilt.length > 0) assert.match(body.controllers.find((c) => !c.running)?.reason ?? '', new RegExp(CONTROLLER_FLAGS[unbuilt[0]]));

  const metrics = await get(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.contentType, /^text\/plain/);
  const parsed = parsePrometheusText(metrics.text);
  assert.ok(parsed.samples.some((s) => s.name === 'kube_router_build_info' && s.labels.nodeversion === process.version));
  assert.ok(parsed.samples.some((s) => s.name === 'process_resident_memory_bytes'));

  for (const name of unbuilt) {
    assert.match(agent.output(), new RegExp(`controller ${name} is enabled \\(--run-[a-z-]+\\) but not built yet; it does nothing`));
  }

  const sentAt = Date.now();
  agent.child.kill('SIGTERM');
  const exit = await agent.exited;
  assert.equal(exit.code, 0, agent.output());
  assert.ok(exit.at - sentAt < 2000, `exited ${exit.at - sentAt} ms after SIGTERM`);
});

test('a taken health port exits 1 naming the flag and the address', async () => {
  const blocker = net.createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const agent = spawnAgent(['--kubeconfig', kubeconfig, '--hostname-override', 'bin-node', '--health-addr', '127.0.0.1', '--health-port', String(port)]);
    spawned.push(agent);
    const exit = await agent.exited;
    assert.equal(exit.code, 1, agent.output());
    assert.match(agent.output(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(--health-addr/--health-port\\): EADDRINUSE`));
  } finally {
    await new Promise<void>((res) => blocker.close(() => res()));
  }
});

test('--cleanup-config exits 0 without an API server', async () => {
  const agent = spawnAgent(['--cleanup-config', '--hostname-override', 'bin-node', '--kubeconfig', path.join(tmp, 'does-not-exist')], { HOME: tmp, KUBECONFIG: '' });
  spawned.push(agent);
  const exit = await agent.exited;
  assert.equal(exit.code, 0, agent.output());
});
