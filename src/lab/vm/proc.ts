// Child-process helpers shared by the host side (VM launcher) and the guest
// side (supervisor, topology): run a command, collect its output, and turn a
// failure into a typed KR_ERR_LAB error naming the phase, the command and the
// tail of its stderr.

import { spawn, type SpawnOptions } from 'node:child_process';
import { KubeRouterError } from '../../errors.js';

export class LabError extends KubeRouterError {
  readonly phase: string;
  constructor(phase: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('KR_ERR_LAB', `lab ${phase}: ${message}`, { phase, ...context }, options);
    this.name = 'LabError';
    this.phase = phase;
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Phase named in a failure ("topology", "initramfs", ...). */
  phase?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; the caller looks at `code`. */
  allowFail?: boolean;
}

export function tail(text: string, lines = 12): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

export function quoteArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs argv to completion; throws LabError on spawn failure, timeout or (unless allowFail) non-zero exit. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const phase = opts.phase ?? 'exec';
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(argv[0], argv.slice(1), spawnOpts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new LabError(phase, `cannot run ${quoteArgv(argv)}: ${e.message}`, { call: argv[0] }, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const res: RunResult = { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (timedOut) {
        reject(new LabError(phase, `${quoteArgv(argv)} timed out after ${opts.timeoutMs} ms`, { call: argv[0], stderr: tail(res.stderr) }));
      } else if (!opts.allowFail && code !== 0) {
        const why = code === null ? `killed by ${signal}` : `exit ${code}`;
        reject(new LabError(phase, `${quoteArgv(argv)} failed (${why}): ${tail(res.stderr, 6) || tail(res.stdout, 6)}`, { call: argv[0], stderr: tail(res.stderr) }));
      } else {
        resolve(res);
      }
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether a process exists (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
