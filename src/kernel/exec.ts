// A small typed child-process runner for the batch kernel tools (`ipset
// restore`, `iptables-restore` ...): one process per sync, never per entry.
// stdin input, a timeout, stdout/stderr captured; never throws on a non-zero
// exit (the caller turns it into a typed error with `kernelError`).

import { spawn } from 'node:child_process';
import { KubeRouterError } from '../errors.js';

export interface ExecResult {
  /** Exit status; -1 when killed by a signal or the timeout. */
  code: number;
  stdout: string;
  stderr: string;
  /** True when the timeout fired and the process was killed. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Kill (SIGKILL) after this many milliseconds. Default 60 s. */
  timeoutMs?: number;
}

/** Runs argv[0] with argv[1..]. Injected everywhere so tests can wrap it (netns) or fake it. */
export type Exec = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

const DEFAULT_TIMEOUT_MS = 60_000;

export const execLocal: Exec = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    if (argv.length === 0) {
      reject(new KubeRouterError('KR_ERR_INTERNAL', 'exec: empty argv'));
      return;
    }
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // EPIPE when the tool exits before reading all input: the exit code tells.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new KubeRouterError('KR_ERR_KERNEL', `cannot run ${argv[0]}: ${e.message}`, { call: argv.join(' ') }, { cause: e }),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });

/** An Exec that runs everything inside a named network namespace (`ip netns exec`). */
export function netnsExec(netns: string, base: Exec = execLocal): Exec {
  return (argv, opts) => base(['ip', 'netns', 'exec', netns, ...argv], opts);
}

/** The last `n` characters of stderr, trimmed, for error messages. */
export function stderrTail(stderr: string, n = 2000): string {
  const t = stderr.trim();
  return t.length <= n ? t : '…' + t.slice(t.length - n);
}

/** A typed KR_ERR_KERNEL error for a failed tool run. */
export function kernelError(
  argv: readonly string[],
  res: ExecResult,
  message?: string,
  extra: Record<string, unknown> = {},
): KubeRouterError {
  const tail = stderrTail(res.stderr);
  const what = res.timedOut ? 'timed out' : `exited ${res.code}`;
  return new KubeRouterError('KR_ERR_KERNEL', message ?? `${argv.join(' ')} ${what}: ${tail}`, {
    call: argv.join(' '),
    stderr: tail,
    exitCode: res.code,
    ...extra,
  });
}
