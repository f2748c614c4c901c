// The guest supervisor: the one long-running node process of the guest
// (started by the init's stage 2; the guest powers off when it ends). It
// serves the control API first, then brings up, in order: the lab API server
// (0.0.0.0:6443), the node topology, the controller-manager, one kubelet per
// node and one agent per node, recording how long each phase took.
//
//   node dist/src/lab/guest/supervisor.js --config <run>/shared/config.json [--kernel-uptime S]

import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Topology } from '../topology/topology.js';
import { UNDERLAY } from '../topology/types.js';
import { API_CERT_HOSTS, readApiCerts } from './api-certs.js';
import { readGuestConfig } from './config.js';
import type { GuestContext, Phase, PhaseRunner, SupervisorEvent } from './context.js';
import { ControlServer } from './control.js';
import { startApiServer } from './integrations.js';
import { startCluster } from './start-cluster.js';
import { registerRoutes, type SupervisorState } from './routes.js';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

function uptime(): number {
  return Number.parseFloat(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const configPath = arg(argv, '--config');
  if (configPath === undefined) throw new Error('usage: supervisor.js --config FILE [--kernel-uptime S]');
  const config = readGuestConfig(configPath);
  const timings: Record<string, number> = {
    kernelUptimeAtLaunchS: Number(arg(argv, '--kernel-uptime') ?? 0),
    // node's own start (process creation to this line), slow under emulation.
    nodeStartMs: Math.round(performance.now()),
  };
  const state: SupervisorState = { phase: 'starting', components: {} };
  const subscribers = new Set<(ev: SupervisorEvent) => void>();
  const emit = (ev: Omit<SupervisorEvent, 'at'>): void => {
    const full = { at: new Date().toISOString(), ...ev } as SupervisorEvent;
    for (const s of subscribers) s(full);
  };
  const control = new ControlServer(config.token);
  // Filled in phase by phase; the routes check what is there yet.
  const ctx = { config, control, components: new Map(), timings, log, emit } as unknown as GuestContext;
  const setPhase = (phase: Phase): void => {
    state.phase = phase;
    log(`supervisor: phase ${phase}`);
    emit({ type: 'phase', phase });
  };

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    setPhase('stopping');
    void (async () => {
      await ctx.agents?.stopAll('TERM').catch((e: unknown) => log(`supervisor: stopping agents: ${String(e)}`));
      for (const [name, c] of [...ctx.components].reverse()) {
        await c.stop().catch((e: unknown) => log(`supervisor: stopping ${name}: ${String(e)}`));
      }
      await ctx.api?.close().catch(() => undefined);
      await control.close();
      log('supervisor: bye');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  registerRoutes(ctx, state, (fn) => {
    subscribers.add(fn);
    return () => subscribers.delete(fn);
  }, shutdown);
  await control.listen(config.controlPort);
  log(`supervisor: control API on :${config.controlPort} (node start ${timings.nodeStartMs} ms, kernel uptime ${timings.kernelUptimeAtLaunchS} s)`);

  const phase: PhaseRunner = async <T>(name: Phase, fn: () => Promise<T>): Promise<T> => {
    setPhase(name);
    const t0 = performance.now();
    const r = await fn();
    timings[`${name}Ms`] = Math.round(performance.now() - t0);
    return r;
  };

  try {
    // Certificates the host made before boot (checking them takes milliseconds); else the server makes its own.
    const tc = performance.now();
    const premade = readApiCerts(dirname(configPath));
    timings.apiCertsReadMs = Math.round(performance.now() - tc);
    if (premade.certs === undefined) log(`supervisor: no certificates from the host (${premade.why ?? '?'}); making them here`);
    timings.apiCertsFromHost = premade.certs === undefined ? 0 : 1;
    const api = await phase('apiserver', () => startApiServer({ host: '0.0.0.0', port: config.apiPort, certHosts: API_CERT_HOSTS, certs: premade.certs }));
    ctx.api = api;
    state.components.apiserver = `${api.url} (https://${UNDERLAY.bridgeIp}:${config.apiPort} from the nodes; certificates made by the ${premade.certs === undefined ? 'guest' : 'host'})`;
    ctx.topology = await phase('topology', () => Topology.create({ nodes: config.nodes, secondSubnet: config.secondSubnet, dualStack: config.dualStack ?? false }));
    await startCluster(ctx, state, phase);
    timings.readyKernelUptimeS = uptime();
    setPhase('ready');
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
    log(`supervisor: FAILED in phase ${state.phase}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    setPhase('failed');
  }
}

main().catch((e: unknown) => {
  log(`supervisor: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
