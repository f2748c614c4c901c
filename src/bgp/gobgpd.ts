// Supervisor of the gobgpd child process: starts it with its gRPC API on a
// local address, waits until GetBgp answers, restarts it with exponential
// backoff when it dies and emits 'restarted' so the routing controller pushes
// its whole configuration again (a fresh gobgpd has asn 0: isConfigured()).
// With `detach` (graceful restart) stop() leaves it running; a later start()
// adopts a gobgpd that already answers on the address instead of spawning.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync, readSync, fstatSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeRouterError } from '../errors.js';
import { GobgpClient } from './client.js';

export interface GobgpdLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface GobgpdOptions {
  /** gRPC API port (kube-router's --gobgp-admin-port, default 50051). */
  apiPort: number;
  /** Address the API binds to. Default 127.0.0.1. */
  apiHost?: string;
  /**
   * Also serve the API on this unix socket, and talk to gobgpd through it
   * (reaches a gobgpd in another network namespace). TCP stays for the CLI.
   */
  apiSocket?: string;
  /** Default 'gobgpd' (from PATH). */
  binary?: string;
  /** gobgpd --log-level. Default 'info'. */
  logLevel?: 'panic' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** gobgpd -r: it was restarted with graceful restart. */
  gracefulRestart?: boolean;
  extraArgs?: string[];
  /** Command run in front of gobgpd, e.g. ['ip', 'netns', 'exec', 'ns1'] (tests). */
  wrapper?: string[];
  /** gobgpd's stdout+stderr go here (a file, so a detached gobgpd never writes to a closed pipe). */
  logFile?: string;
  /** Holds the pid, to stop an adopted gobgpd. Default `${logFile}.pid`. */
  pidFile?: string;
  /** Adopt a gobgpd already answering on the address. Default true. */
  adopt?: boolean;
  /** ms to wait for GetBgp after a spawn. Default 10000. */
  readyTimeoutMs?: number;
  /** Restart backoff: first delay, cap, factor. Defaults 500 ms, 30 s, 2. */
  backoff?: { initialMs?: number; maxMs?: number; factor?: number };
  /** A child up this long resets the backoff. Default 30000 ms. */
  stableAfterMs?: number;
  /** How often an adopted gobgpd (no child to watch) is probed. Default 2000 ms. */
  probeIntervalMs?: number;
  /** gRPC deadline of the client. Default 5000 ms. */
  callTimeoutMs?: number;
  logger?: GobgpdLogger;
}

export interface GobgpdExit {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

export interface GobgpdEvents {
  /** A replacement gobgpd answers; it is unconfigured: push everything again. */
  restarted: [pid: number | undefined];
  /** The gobgpd died unexpectedly (a restart is scheduled). */
  exit: [GobgpdExit];
  /** A restart attempt failed (another one is scheduled). */
  error: [KubeRouterError];
}

const TAIL_BYTES = 4096;

export class GobgpdSupervisor extends EventEmitter<GobgpdEvents> {
  readonly client: GobgpClient;
  /** Where the client talks to gobgpd (the TCP address, or unix://apiSocket). */
  readonly address: string;
  /** The TCP API address (--gobgp-admin-port), used by the `gobgp` CLI. */
  readonly tcpAddress: string;
  private readonly opts: GobgpdOptions;
  private readonly logFile: string;
  private readonly pidFile: string;
  private child: ChildProcess | undefined;
  /** The child once it answered: only its death triggers a restart (start-up failures are handled inline). */
  private upChild: ChildProcess | undefined;
  private closed = false;
  private adoptedPid: number | undefined;
  private stopping = false;
  private running = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private startedAt = 0;
  private restartCount = 0;

  constructor(opts: GobgpdOptions) {
    super();
    this.opts = opts;
    const host = opts.apiHost ?? '127.0.0.1';
    this.tcpAddress = host.includes(':') ? `[${host}]:${opts.apiPort}` : `${host}:${opts.apiPort}`;
    this.address = opts.apiSocket ? `unix://${opts.apiSocket}` : this.tcpAddress;
    this.logFile = opts.logFile ?? join(tmpdir(), `kube-router-gobgpd-${opts.apiPort}.log`);
    this.pidFile = opts.pidFile ?? `${this.logFile}.pid`;
    this.delayMs = opts.backoff?.initialMs ?? 500;
    this.client = new GobgpClient({ address: this.address, timeoutMs: opts.callTimeoutMs ?? 5000 });
  }

  /** pid of the supervised gobgpd (spawned or adopted). */
  get pid(): number | undefined {
    return this.child?.pid ?? this.adoptedPid;
  }

  /** How many times gobgpd was restarted after dying. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Starts (or adopts) gobgpd and resolves when GetBgp answers. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.closed) throw new KubeRouterError('KR_ERR_INTERNAL', 'gobgpd supervisor already stopped', { address: this.address });
    this.stopping = false;
    this.running = true;
    if ((this.opts.adopt ?? true) && (await this.answers(500))) {
      this.adoptedPid = this.readPidFile();
      this.opts.logger?.info({ address: this.address, pid: this.adoptedPid }, 'adopted a running gobgpd');
      this.scheduleProbe();
      return;
    }
    try {
      await this.spawnAndWait();
    } catch (err) {
      this.running = false;
      this.killChild('SIGKILL');
      throw err;
    }
  }

  /**
   * Whether gobgpd has been given its global config (StartBgp). False for a
   * fresh or restarted gobgpd, which answers GetBgp with asn 0.
   */
  async isConfigured(): Promise<boolean> {
    return (await this.client.getBgp()).asn !== 0;
  }

  /** The last bytes gobgpd wrote (stdout and stderr), for error messages. */
  stderrTail(): string {
    return readTail(this.logFile);
  }

  /**
   * Stops supervising. Kills gobgpd (SIGTERM, then SIGKILL after 3 s) unless
   * `detach`, which leaves it running (graceful restart: peers keep our routes).
   */
  async stop(opts: { detach?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.running = false;
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.probeTimer);
    const child = this.child;
    if (opts.detach) {
      child?.unref();
      this.child = undefined;
      this.adoptedPid = undefined;
      this.client.close();
      return;
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    } else if (this.adoptedPid !== undefined) {
      await killPid(this.adoptedPid);
    }
    this.child = undefined;
    this.adoptedPid = undefined;
    rmSync(this.pidFile, { force: true });
    this.client.close();
  }

  private args(): string[] {
    const hosts = this.opts.apiSocket ? `${this.tcpAddress},unix://${this.opts.apiSocket}` : this.tcpAddress;
    const a = ['--api-hosts', hosts, '--pprof-disable', '--log-plain', '--log-level', this.opts.logLevel ?? 'info'];
    if (this.opts.gracefulRestart) a.push('--graceful-restart');
    return [...a, ...(this.opts.extraArgs ?? [])];
  }

  private async spawnAndWait(): Promise<void> {
    const binary = this.opts.binary ?? 'gobgpd';
    const wrapper = this.opts.wrapper ?? [];
    const argv = [...wrapper, binary, ...this.args()];
    if (this.opts.apiSocket) rmSync(this.opts.apiSocket, { force: true });
    const out = openSync(this.logFile, 'w');
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
    } finally {
      closeSync(out);
    }
    this.child = child;
    this.startedAt = Date.now();
    const spawnError = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(new KubeRouterError('KR_ERR_BGP', `cannot start ${binary}: ${err.message}`, { call: 'spawn', value: binary }, { cause: err })),
      );
      child.once('exit', (code, signal) =>
        reject(
          new KubeRouterError('KR_ERR_BGP', `${binary} exited during start-up (code ${code}, signal ${signal}): ${this.stderrTail().trim()}`, {
            call: 'spawn',
            value: binary,
          }),
        ),
      );
    });
    spawnError.catch(() => {}); // observed through the race below
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    await Promise.race([this.waitAnswers(this.opts.readyTimeoutMs ?? 10_000), spawnError]);
    this.upChild = child;
    if (child.pid !== undefined) writeFileSync(this.pidFile, `${child.pid}\n`);
  }

  private async waitAnswers(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await this.answers(Math.min(1000, Math.max(100, until - Date.now())))) return;
      if (Date.now() >= until) {
        throw new KubeRouterError('KR_ERR_BGP', `gobgpd at ${this.address} did not answer GetBgp within ${timeoutMs} ms: ${this.stderrTail().trim()}`, {
          call: 'apipb.GobgpApi/GetBgp',
          address: this.address,
        });
      }
      await sleep(100);
    }
  }

  private async answers(timeoutMs: number): Promise<boolean> {
    try {
      await this.client.waitForReady(timeoutMs);
      await this.client.getBgp();
      return true;
    } catch {
      return false;
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.upChild !== child) return;
    this.upChild = undefined;
    if (this.child === child) this.child = undefined;
    if (this.stopping) return;
    const info: GobgpdExit = { pid: child.pid, code, signal, stderrTail: this.stderrTail() };
    this.opts.logger?.warn({ ...info, address: this.address }, 'gobgpd exited; restarting it');
    this.emit('exit', info);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping) return;
    if (this.startedAt > 0 && Date.now() - this.startedAt > (this.opts.stableAfterMs ?? 30_000)) {
      this.delayMs = this.opts.backoff?.initialMs ?? 500;
    }
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * (this.opts.backoff?.factor ?? 2), this.opts.backoff?.maxMs ?? 30_000);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      await this.spawnAndWait();
      this.restartCount++;
      this.opts.logger?.info({ address: this.address, pid: this.child?.pid }, 'gobgpd restarted');
      this.emit('restarted', this.child?.pid);
    } catch (err) {
      const e = err instanceof KubeRouterError ? err : new KubeRouterError('KR_ERR_BGP', String(err), { call: 'spawn' }, { cause: err });
      this.opts.logger?.error({ err: e, address: this.address }, 'gobgpd restart failed');
      const child = this.child;
      this.child = undefined;
      child?.kill('SIGKILL');
      if (this.listenerCount('error') > 0) this.emit('error', e);
      this.scheduleRestart();
    }
  }

  /** An adopted gobgpd is not our child: probe it, and take over when it stops answering. */
  private scheduleProbe(): void {
    this.probeTimer = setTimeout(async () => {
      if (this.stopping || this.child) return;
      if (await this.answers(1000)) {
        this.scheduleProbe();
        return;
      }
      this.opts.logger?.warn({ address: this.address, pid: this.adoptedPid }, 'adopted gobgpd stopped answering; starting our own');
      this.adoptedPid = undefined;
      this.emit('exit', { pid: undefined, code: null, signal: null, stderrTail: this.stderrTail() });
      this.scheduleRestart();
    }, this.opts.probeIntervalMs ?? 2000);
  }

  private readPidFile(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      // Only a gobgpd: pids are reused.
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('gobgpd') ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private killChild(signal: NodeJS.Signals): void {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null) c.kill(signal);
  }
}

function readTail(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 30 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
