// How the kubelet runs commands "on its node": in the node's network and
// mount namespaces (the node's own view of /etc/cni/net.d, /var/lib/cni and
// /run, so /run/netns/<pod> lives there too).
//
// A NodeRunner does both short commands (exec, with stdin input) and
// long-lived ones (spawn: responders, probers, holders). The simplest one
// is a command prefix that enters the node and then execs the command:
//   prefixRunner(['ip', 'netns', 'exec', 'node1'])            (host tests)
//   prefixRunner(['nsenter', '-t', PID, '-n', '-m', '--'])    (the lab's nodes)
// The prefix must exec (not fork) so the pid of the spawned process is the
// pid of the command itself: `ip netns exec` and `nsenter` without -F/-p do.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Extra environment (merged over the kubelet's own). */
  env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Killed (SIGKILL) after this long; code is then -1 (default 60 s). */
  timeoutMs?: number;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  stdio?: StdioOptions;
  /** Own process group, so it outlives the kubelet's (default false). */
  detached?: boolean;
}

export interface NodeRunner {
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
}

/** The brief's shape of a node exec function: (argv, env?) => result. */
export type ExecInNode = (argv: string[], env?: Record<string, string>) => Promise<ExecResult>;

/** Runs argv (with this process's environment plus env) and collects its output. */
export function execLocal(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const child = spawn(argv[0], argv.slice(1), {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs ?? 60000} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60000);
    const done = (code: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      stderr += String(err.message);
      done(-1);
    });
    child.on('close', (code, signal) => done(code ?? (signal ? -1 : 0)));
    child.stdin.on('error', () => undefined); // the command may exit without reading
    child.stdin.end(opts.input ?? '');
  });
}

/** A runner that prefixes every command with `prefix` (empty: this process's own namespaces). */
export function prefixRunner(prefix: string[]): NodeRunner {
  return wrapRunner((argv) => [...prefix, ...argv]);
}

/** A runner that rewrites every argv with `wrap`, e.g. the topology's `argvFor({kind: 'node', name}, argv)`. */
export function wrapRunner(wrap: (argv: string[]) => string[]): NodeRunner {
  return {
    exec: (argv, opts) => execLocal(wrap(argv), opts),
    spawn: (argv, opts = {}) => {
      const full = wrap(argv);
      return spawn(full[0], full.slice(1), {
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
        stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
        detached: opts.detached ?? false,
      });
    },
  };
}

/** A runner for a network namespace of this host named `netns` (`ip netns exec`). */
export function netnsRunner(netns: string): NodeRunner {
  return prefixRunner(['ip', 'netns', 'exec', netns]);
}

/**
 * A runner whose short commands go through a caller's ExecInNode (stdin is
 * passed through the environment and a shell) and whose long-lived ones
 * go through `spawner`.
 */
export function execInNodeRunner(execInNode: ExecInNode, spawner: NodeRunner): NodeRunner {
  return {
    exec: (argv, opts = {}) => {
      if (opts.input === undefined) return execInNode(argv, opts.env);
      const env = { ...(opts.env ?? {}), KR_LAB_STDIN: opts.input };
      return execInNode(['sh', '-c', 'printf "%s" "$KR_LAB_STDIN" | { unset KR_LAB_STDIN; exec "$@"; }', 'sh', ...argv], env);
    },
    spawn: spawner.spawn,
  };
}

/** Runs `argv` inside network namespace `netns` as seen by `runner` (its /run/netns). */
export function inNetns(netns: string | undefined, argv: string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
}

/** First line of stderr (or stdout) for error messages. */
export function describeFailure(r: ExecResult): string {
  const text = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
  return `exit ${r.code}${text ? `: ${text}` : ''}`;
}
