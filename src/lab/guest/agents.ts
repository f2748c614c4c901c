// One kube-router agent per node: started inside the node's namespaces from
// this checkout (dist/kube-router.mjs, the bundled agent) with the node's kubeconfig and
// --hostname-override, its output appended to <logs>/agent-<node>.log;
// stopped with TERM or KILL, restarted with the same flags.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError, quoteArgv } from '../vm/proc.js';
import type { Topology } from '../topology/topology.js';
import { healthPort, waitHealthy } from './agent-health.js';

export interface AgentStatus {
  node: string;
  running: boolean;
  pid?: number;
  args: string[];
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  log: string;
  restarts: number;
  /** Milliseconds from start until /healthz answered 200 (absent until then, or with --health-port=0). */
  healthyAfterMs?: number;
}

/**
 * Runs before an agent starts on a node and after it stopped, e.g. the
 * routing work starts a gobgpd in the node when the flags enable routing.
 * INTEGRATION POINT (routing issue): register with AgentManager.addHook().
 */
export interface AgentHook {
  beforeStart?(node: string, args: readonly string[]): Promise<void>;
  afterStop?(node: string): Promise<void>;
}

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export interface AgentManagerOptions {
  topology: Topology;
  checkout: string;
  nodeBinary: string;
  logsDir: string;
  /** Kubeconfig text for the agents (server https://192.168.56.1:6443). */
  kubeconfig: string;
  /** Flags given to every agent, before per-start extras. */
  baseArgs: string[];
  /** Told when an agent exits or becomes healthy (for /v1/events). */
  onEvent?: (ev: { type: 'agent-exit' | 'agent-healthy'; node: string; [k: string]: unknown }) => void;
}

export class AgentManager {
  private readonly running = new Map<string, Running>();
  private readonly status = new Map<string, AgentStatus>();
  private readonly hooks: AgentHook[] = [];
  private readonly healthy = new Map<string, Promise<boolean>>();
  private readonly kubeconfigPath: string;

  constructor(private readonly opts: AgentManagerOptions) {
    const dir = '/var/lib/kube-router-lab';
    mkdirSync(dir, { recursive: true });
    // The overlay root is the same file system in every node's mount namespace.
    this.kubeconfigPath = join(dir, 'agent.kubeconfig');
    writeFileSync(this.kubeconfigPath, opts.kubeconfig, { mode: 0o600 });
  }

  get agentPath(): string {
    // The bundle (scripts/bundle.mjs): the same code as dist/src, loaded in
    // under half the time, which every agent start under emulation pays.
    return join(this.opts.checkout, 'dist', 'kube-router.mjs');
  }

  available(): boolean {
    return existsSync(this.agentPath);
  }

  addHook(h: AgentHook): void {
    this.hooks.push(h);
  }

  setTopology(t: Topology): void {
    this.opts.topology = t;
  }

  setBaseArgs(args: string[]): void {
    this.opts.baseArgs = [...args];
  }

  list(): AgentStatus[] {
    return this.opts.topology.nodes.map((n) => this.statusOf(n.name));
  }

  statusOf(node: string): AgentStatus {
    return this.status.get(node) ?? { node, running: false, args: [], log: this.logPath(node), restarts: 0 };
  }

  logPath(node: string): string {
    return join(this.opts.logsDir, `agent-${node}.log`);
  }

  /**
   * Starts the agent with the base flags plus `extra`. `wait: 'exit'` resolves
   * with its exit status (one-off runs such as --cleanup-config).
   */
  async start(node: string, extra: string[] = [], wait: 'running' | 'exit' = 'running'): Promise<number | null> {
    this.opts.topology.node(node);
    if (this.running.has(node)) throw new LabError('agent', `the agent on ${node} is already running`);
    if (!this.available()) throw new LabError('agent', `${this.agentPath} is not built`);
    const args = [...this.opts.baseArgs, ...extra];
    for (const h of this.hooks) await h.beforeStart?.(node, args);
    const argv = this.opts.topology.argvFor({ kind: 'node', name: node }, [
      this.opts.nodeBinary,
      this.agentPath,
      `--kubeconfig=${this.kubeconfigPath}`,
      `--hostname-override=${node}`,
      ...args,
    ]);
    const logFd = openSync(this.logPath(node), 'a');
    writeSync(logFd, `\n=== ${new Date().toISOString()} lab: starting ${quoteArgv(argv)}\n`);
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', logFd, logFd], env: { ...process.env, NODE_NAME: node } });
    closeSync(logFd);
    const prev = this.statusOf(node);
    const st: AgentStatus = { ...prev, node, running: true, pid: child.pid, args, startedAt: new Date().toISOString(), restarts: prev.startedAt ? prev.restarts + 1 : 0 };
    this.status.set(node, st);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.on('error', (e) => {
        st.running = false;
        st.lastExit = { code: null, signal: null, at: new Date().toISOString() };
        this.running.delete(node);
        resolve({ code: 127, signal: `spawn error: ${e.message}` });
      });
      child.on('exit', (code, signal) => {
        st.running = false;
        st.lastExit = { code, signal, at: new Date().toISOString() };
        this.running.delete(node);
        this.opts.onEvent?.({ type: 'agent-exit', node, code, signal });
        resolve({ code, signal });
      });
    });
    this.running.set(node, { child, exited });
    const port = healthPort(args);
    const t0 = Date.now();
    if (wait === 'running' && port > 0) {
      const ip = this.opts.topology.node(node).ip;
      this.healthy.set(
        node,
        waitHealthy(ip, port, () => this.running.get(node)?.child === child, 300_000).then((ok) => {
          if (ok) {
            st.healthyAfterMs = Date.now() - t0;
            this.opts.onEvent?.({ type: 'agent-healthy', node, ms: st.healthyAfterMs });
          }
          return ok;
        }),
      );
    } else this.healthy.delete(node);
    if (wait === 'exit') {
      const r = await exited;
      return r.code;
    }
    return null;
  }

  /** Resolves when the agent's /healthz answers (false: it exited first, or has no health port). */
  whenHealthy(node: string): Promise<boolean> {
    return this.healthy.get(node) ?? Promise.resolve(false);
  }

  /** Sends the signal and waits for exit (KILL after timeoutMs). Resolves with the exit status. */
  async stop(node: string, signal: 'TERM' | 'KILL' = 'TERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: string | null } | undefined> {
    const r = this.running.get(node);
    if (r === undefined) return undefined;
    r.child.kill(`SIG${signal}`);
    const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
    const res = await r.exited;
    clearTimeout(timer);
    for (const h of this.hooks) await h.afterStop?.(node);
    return res;
  }

  async restart(node: string, signal: 'TERM' | 'KILL' = 'TERM'): Promise<void> {
    const extra = this.statusOf(node).args.slice(this.opts.baseArgs.length);
    await this.stop(node, signal);
    await this.start(node, extra);
  }

  async stopAll(signal: 'TERM' | 'KILL' = 'TERM'): Promise<void> {
    await Promise.all([...this.running.keys()].map((n) => this.stop(n, signal)));
  }
}
