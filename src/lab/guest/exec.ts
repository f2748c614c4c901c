// Running commands for the control API: collected (exec) or streamed as JSON
// lines (exec/stream), at a target the topology resolves.

import { spawn } from 'node:child_process';
import { quoteArgv } from '../vm/proc.js';
import { ControlError } from './control.js';

export interface ExecRequest {
  /** `root`, `nodeN`, `router` or `ns/pod`. */
  target: string;
  argv: string[];
  /** Written to stdin, then closed. */
  input?: string;
  /** Default 120 s; the command is killed after it. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface ExecReply {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export type ExecEvent =
  | { type: 'stdout'; data: string }
  | { type: 'stderr'; data: string }
  | { type: 'exit'; code: number | null; signal: string | null; ms: number };

const MAX_COLLECT = 32 << 20;

/** Streams a command's output as events, ending with an `exit` event. */
export async function* execEvents(argv: string[], req: ExecRequest, signal?: AbortSignal): AsyncGenerator<ExecEvent> {
  const t0 = Date.now();
  const queue: ExecEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const push = (ev: ExecEvent): void => {
    queue.push(ev);
    wake?.();
  };
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...(req.env ?? {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), req.timeoutMs ?? 120_000);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => push({ type: 'stdout', data: d }));
  child.stderr.on('data', (d: string) => push({ type: 'stderr', data: d }));
  child.on('error', (e) => {
    push({ type: 'stderr', data: `lab exec: cannot run ${quoteArgv(argv)}: ${e.message}\n` });
  });
  child.on('close', (code, sig) => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    push({ type: 'exit', code: code ?? (sig === null ? 127 : null), signal: sig, ms: Date.now() - t0 });
    done = true;
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(req.input ?? '');
  for (;;) {
    while (queue.length > 0) {
      const ev = queue.shift() as ExecEvent;
      yield ev;
      if (ev.type === 'exit') return;
    }
    if (done && queue.length === 0) return;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
}

export async function execCollect(argv: string[], req: ExecRequest): Promise<ExecReply> {
  let stdout = '';
  let stderr = '';
  for await (const ev of execEvents(argv, req)) {
    if (ev.type === 'stdout' && stdout.length < MAX_COLLECT) stdout += ev.data;
    else if (ev.type === 'stderr' && stderr.length < MAX_COLLECT) stderr += ev.data;
    else if (ev.type === 'exit') return { code: ev.code, signal: ev.signal, stdout, stderr, ms: ev.ms };
  }
  return { code: null, signal: null, stdout, stderr, ms: 0 };
}

export function parseExecRequest(body: unknown): ExecRequest {
  const b = (body ?? {}) as Partial<ExecRequest>;
  if (!Array.isArray(b.argv) || b.argv.length === 0 || !b.argv.every((a) => typeof a === 'string')) {
    throw new ControlError(400, 'exec: argv (a non-empty array of strings) is required');
  }
  return { target: typeof b.target === 'string' ? b.target : 'root', argv: b.argv, input: b.input, timeoutMs: b.timeoutMs, env: b.env };
}
