// An Exec for batch tools fed on stdin (`iptables-restore`): the process
// for the next run is started ahead of time and waits on its stdin, so a
// sync pays only for what the tool does with its input, not for fork, exec
// and the dynamic loader. That start is 62-72 ms in the lab guest (software
// emulation; even /bin/true) and ~9 ms of a 12 ms `iptables-restore` on the
// host, the largest part of a small firewall sync.
//
// One idle process per argv. An idle process does nothing: it holds no lock
// (iptables-restore takes the xtables lock per table, after reading the
// table's first line) and, if the agent dies, reads EOF and exits having
// applied nothing. Idle processes do not keep the agent's event loop alive.
// A run without input, or when the idle process died, falls back to a fresh
// start.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { execLocal, type Exec, type ExecOptions, type ExecResult } from './exec.js';

const DEFAULT_TIMEOUT_MS = 60_000;

interface Warm {
  child: ChildProcessWithoutNullStreams;
  out: Buffer[];
  err: Buffer[];
  /** Resolves with the exit code once the process closed (or failed to start). */
  closed: Promise<number>;
  gone: boolean;
  /** The process could not be started (binary missing ...). */
  failed?: Error;
}

function start(argv: readonly string[]): Warm {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  const w: Warm = { child, out: [], err: [], gone: false, closed: Promise.resolve(-1) };
  w.closed = new Promise((resolve) => {
    child.on('error', (e) => {
      w.gone = true;
      w.failed = e;
      resolve(-1);
    });
    child.on('close', (code) => {
      w.gone = true;
      resolve(code ?? -1);
    });
  });
  child.stdout.on('data', (d: Buffer) => w.out.push(d));
  child.stderr.on('data', (d: Buffer) => w.err.push(d));
  // EPIPE when the tool exits before reading all input: the exit code tells.
  child.stdin.on('error', () => undefined);
  idle(w, true);
  return w;
}

/** An idle process must not keep the event loop alive; a running one must. */
function idle(w: Warm, on: boolean): void {
  // The stdio pipes are net.Sockets at run time (typed as plain streams): they have ref/unref.
  type Refable = { ref?: () => void; unref?: () => void };
  const handles = [w.child, w.child.stdin, w.child.stdout, w.child.stderr] as unknown as Refable[];
  for (const h of handles) {
    if (on) h.unref?.();
    else h.ref?.();
  }
}

export class WarmExec {
  private readonly idle = new Map<string, Warm>();
  private closedAll = false;

  /** Start the process of `argv` now, so the first run finds it waiting. */
  prepare(argv: readonly string[]): void {
    const key = argv.join('\0');
    if (this.closedAll || this.idle.has(key)) return;
    this.idle.set(key, start(argv));
  }

  readonly exec: Exec = async (argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> => {
    if (opts.input === undefined || this.closedAll) return execLocal(argv, opts);
    const key = argv.join('\0');
    let w = this.idle.get(key);
    this.idle.delete(key);
    // A process that died while idle, or could not start, is not reused: a fresh start reports its own error.
    if (!w || w.gone) return this.cold(argv, opts);
    idle(w, false);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      w.child.kill('SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    w.child.stdin.end(opts.input);
    const code = await w.closed;
    clearTimeout(timer);
    // The next run's process starts now that this one is done (not during it: they would share the CPU).
    this.prepare(argv);
    return { code: timedOut ? -1 : code, stdout: Buffer.concat(w.out).toString('utf8'), stderr: Buffer.concat(w.err).toString('utf8'), timedOut };
  };

  private async cold(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
    const res = await execLocal(argv, opts);
    this.prepare(argv);
    return res;
  }

  /** Ends the idle processes (they read EOF and exit without doing anything). */
  close(): void {
    this.closedAll = true;
    for (const w of this.idle.values()) w.child.stdin.end();
    this.idle.clear();
  }
}

/** The agent's one pool: one idle process per restore command, shared by every controller. */
export const sharedWarmExec = new WarmExec();
