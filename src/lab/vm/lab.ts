// Boot, find and stop a lab VM. bootLab() installs what is missing, builds
// (or reuses) the initramfs, starts qemu in the background and waits until
// the guest supervisor reports the cluster ready; the VM keeps running after
// this process exits (`down` or LabVm.stop() ends it).

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeApiCerts } from '../guest/api-certs.js';
import type { GuestConfig } from '../guest/config.js';
import { ensureNativeTools } from '../native/build.js';
import { GuestClient, type GuestStatus } from './client.js';
import { buildInitramfs } from './initramfs.js';
import { GUEST_API_PORT, GUEST_CONTROL_PORT } from './init-script.js';
import { findKernel } from './kernel.js';
import { ensurePackages } from './packages.js';
import { cacheDir, checkoutRoot, runDir, runPaths } from './paths.js';
import { LabError, sleep, tail } from './proc.js';
import { isOurQemu, launchQemu } from './qemu.js';
import { readState, removeState, writeState, type LabState } from './state.js';

export interface BootOptions {
  /** Run directory name; `default` is the one the CLI manages. */
  id?: string;
  nodes?: number;
  secondSubnet?: boolean;
  /** IPv6 too: underlay, pod CIDRs, Service CIDRs (the lab's dual-stack option). */
  dualStack?: boolean;
  agentArgs?: string[];
  startAgents?: boolean;
  /** Extra labels per node name (e.g. {node1: {'topology.kubernetes.io/zone': 'a'}}). */
  nodeLabels?: Record<string, Record<string, string>>;
  memoryMiB?: number;
  cpus?: number;
  cache9p?: 'loose' | 'mmap' | 'none';
  readyTimeoutMs?: number;
  /** Also wait until every agent's /healthz answers (default false). */
  waitAgents?: boolean;
  /** Progress lines ("lab: ..."); default: stderr. */
  say?: (line: string) => void;
}

export interface LabVm {
  state: LabState;
  client: GuestClient;
  /** Kubeconfig for the host's kubectl (server https://127.0.0.1:<forwarded port>). */
  kubeconfigPath: string;
  /** Host-side measurements: bootToReadyMs, and the guest's own timings. */
  timings: Record<string, number>;
  logsDir: string;
  consoleLog: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function readTail(path: string, lines = 25): string {
  try {
    return tail(readFileSync(path, 'utf8'), lines);
  } catch {
    return '(no output)';
  }
}

function vmFrom(state: LabState): LabVm {
  const paths = runPaths(state.runDir);
  return {
    state,
    client: new GuestClient(state.ports.control, state.token),
    kubeconfigPath: state.kubeconfig,
    timings: {},
    logsDir: paths.logs,
    consoleLog: paths.console,
    stop: () => stopLab(state.id).then(() => undefined),
  };
}

/** The running lab of that id, if its qemu is alive. */
export function attachLab(id = 'default'): LabVm | undefined {
  const state = readState(runPaths(runDir(id)).state);
  if (state === undefined || !isOurQemu(state.pid, state.shared)) return undefined;
  return vmFrom(state);
}

export async function bootLab(opts: BootOptions = {}): Promise<LabVm> {
  const say = opts.say ?? ((l: string) => process.stderr.write(`${l}\n`));
  const id = opts.id ?? 'default';
  const dir = runDir(id);
  const paths = runPaths(dir);
  const existing = readState(paths.state);
  if (existing !== undefined && isOurQemu(existing.pid, existing.shared)) {
    throw new LabError('up', `a lab is already running (pid ${existing.pid}, ${dir}); run \`kube-router-lab down\` first`);
  }
  removeState(paths.state);
  for (const f of [paths.console, paths.qemuLog]) rmSync(f, { force: true });
  rmSync(paths.logs, { recursive: true, force: true });
  runDir(id);

  say('lab: checking packages');
  await ensurePackages(say);
  const kernel = findKernel();
  say(`lab: building initramfs (kernel ${kernel.version})`);
  const initrd = await buildInitramfs(kernel, cacheDir());
  if (!initrd.built) say(`lab: initramfs cached (${initrd.path})`);

  // Made here, where the CPU is fast, so the emulated guest neither compiles
  // the native tools (responder, prober, holder) nor makes TLS keys.
  const tPrep = performance.now();
  const tools = await ensureNativeTools();
  writeApiCerts(paths.shared);
  say(`lab: native tools (${tools.dir}) and API server certificates ready in ${Math.round(performance.now() - tPrep)} ms`);

  const token = randomBytes(24).toString('hex');
  const ports = { api: await freePort(), control: await freePort() };
  const nodes = opts.nodes ?? 3;
  const config: GuestConfig = {
    token,
    checkout: checkoutRoot(),
    logsDir: paths.logs,
    nodeBinary: process.execPath,
    nodes,
    secondSubnet: opts.secondSubnet ?? false,
    ...(opts.dualStack ? { dualStack: true } : {}),
    agentArgs: opts.agentArgs ?? [],
    startAgents: opts.startAgents ?? true,
    controlPort: GUEST_CONTROL_PORT,
    apiPort: GUEST_API_PORT,
    hostApiPort: ports.api,
    ...(opts.nodeLabels !== undefined ? { nodeLabels: opts.nodeLabels } : {}),
  };
  writeFileSync(paths.config, JSON.stringify(config, null, 2), { mode: 0o600 });
  const supervisor = join(checkoutRoot(), 'dist', 'src', 'lab', 'guest', 'supervisor.js');
  if (!existsSync(supervisor)) throw new LabError('up', `${supervisor} is not built (npm run build)`);

  say(`lab: booting kernel ${kernel.version} (${nodes} nodes${config.secondSubnet ? ', second subnet' : ''}${config.dualStack ? ', dual-stack' : ''})`);
  const t0 = performance.now();
  const pid = launchQemu({
    kernel,
    initramfs: initrd.path,
    shared: paths.shared,
    console: paths.console,
    qemuLog: paths.qemuLog,
    hostApiPort: ports.api,
    hostControlPort: ports.control,
    memoryMiB: opts.memoryMiB ?? 3072,
    cpus: opts.cpus ?? 2,
    supervisor,
    nodeBinary: process.execPath,
    // loose: fastest, but files changed on the host after boot may be seen stale in the guest.
    cache9p: opts.cache9p ?? ((process.env.KUBE_ROUTER_LAB_9P_CACHE as BootOptions['cache9p']) || 'loose'),
  });
  const state: LabState = {
    id,
    pid,
    runDir: dir,
    shared: paths.shared,
    token,
    ports,
    kernel: kernel.version,
    nodes,
    secondSubnet: config.secondSubnet,
    ...(config.dualStack ? { dualStack: true } : {}),
    kubeconfig: paths.kubeconfig,
    startedAt: new Date().toISOString(),
  };
  writeState(paths.state, state);
  const vm = vmFrom(state);
  // Interrupted while booting: do not leave a VM behind.
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`lab: ${sig} while booting; stopping the VM`);
    void stopLab(id).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const status = await waitReady(vm, pid, paths, t0, opts.readyTimeoutMs ?? 240_000, say);
    const bootToReadyMs = Math.round(performance.now() - t0);
    vm.timings = { bootToReadyMs, ...status.timings };
    say(`lab: guest ready in ${(bootToReadyMs / 1000).toFixed(1)} s`);
    if (opts.waitAgents && config.startAgents) {
      const healthy = await waitAgentsHealthy(vm.client, say, 300_000);
      if (healthy !== undefined) vm.timings.agentsHealthyMs = healthy;
    }
    try {
      writeFileSync(paths.kubeconfig, await vm.client.kubeconfig(`https://127.0.0.1:${ports.api}`), { mode: 0o600 });
    } catch (e) {
      say(`lab: no kubeconfig: ${(e as Error).message}`);
    }
    return vm;
  } catch (e) {
    await stopLab(id).catch(() => undefined);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Polls /v1/status until every agent answers /healthz; returns the slowest start (ms), or undefined if some never did. */
export async function waitAgentsHealthy(client: GuestClient, say: (l: string) => void, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const st = await client.status();
    const agents = st.agents;
    if (agents.length > 0 && agents.every((a) => a.healthyAfterMs !== undefined)) {
      const slowest = Math.max(...agents.map((a) => a.healthyAfterMs ?? 0));
      say(`lab: agents healthy (slowest ${(slowest / 1000).toFixed(1)} s after start)`);
      return slowest;
    }
    const dead = agents.filter((a) => !a.running);
    if (dead.length > 0) {
      say(`lab: agent(s) not running: ${dead.map((a) => a.node).join(', ')} (see their logs)`);
      return undefined;
    }
    await sleep(1000);
  }
  say('lab: agents not healthy in time');
  return undefined;
}

async function waitReady(vm: LabVm, pid: number, paths: ReturnType<typeof runPaths>, t0: number, timeoutMs: number, say: (l: string) => void): Promise<GuestStatus> {
  let lastPhase = '';
  let controlUp = false;
  while (performance.now() - t0 < timeoutMs) {
    if (!isOurQemu(pid, paths.shared)) {
      throw new LabError('boot', `qemu exited before the guest was ready.\nqemu: ${readTail(paths.qemuLog, 10)}\nconsole:\n${readTail(paths.console)}\nsupervisor:\n${readTail(join(paths.logs, 'supervisor.log'))}`);
    }
    let status: GuestStatus | undefined;
    try {
      status = await vm.client.status(3000);
    } catch {
      status = undefined;
    }
    if (status !== undefined) {
      if (!controlUp) {
        controlUp = true;
        say(`lab: guest supervisor answering after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
      if (status.phase !== lastPhase) {
        lastPhase = status.phase;
        if (status.phase !== 'ready' && status.phase !== 'failed') say(`lab: guest: ${status.phase}`);
      }
      if (status.ready) return status;
      if (status.phase === 'failed') {
        throw new LabError('boot', `the guest supervisor failed: ${status.error ?? '?'}\nsupervisor:\n${readTail(join(paths.logs, 'supervisor.log'))}`);
      }
    }
    await sleep(250);
  }
  throw new LabError('boot', `the guest was not ready within ${timeoutMs / 1000} s (phase ${lastPhase || 'boot'}).\nconsole:\n${readTail(paths.console)}\nsupervisor:\n${readTail(join(paths.logs, 'supervisor.log'))}`);
}

/** Asks the guest to power off, then makes sure qemu is gone. Returns whether a VM was found. */
export async function stopLab(id = 'default', say: (l: string) => void = () => undefined): Promise<boolean> {
  const paths = runPaths(runDir(id));
  const state = readState(paths.state);
  if (state === undefined) return false;
  const ours = isOurQemu(state.pid, state.shared);
  if (ours) {
    say(`lab: stopping (pid ${state.pid})`);
    await new GuestClient(state.ports.control, state.token).shutdown().catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && isOurQemu(state.pid, state.shared)) await sleep(200);
    if (isOurQemu(state.pid, state.shared)) {
      say('lab: guest did not power off in 20 s; killing qemu');
      process.kill(state.pid, 'SIGTERM');
      await sleep(1000);
      if (isOurQemu(state.pid, state.shared)) process.kill(state.pid, 'SIGKILL');
    }
  }
  removeState(paths.state);
  rmSync(paths.kubeconfig, { force: true });
  return ours;
}
