// The pod's "containers": one native responder process answering on every
// declared containerPort, started detached so it outlives a kubelet restart
// (the next kubelet adopts it by pid).

import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { KubeRouterError } from '../../../errors.js';
import { inNetns, type NodeRunner } from './runner.js';

export interface PortDecl {
  containerPort: number;
  protocol?: string;
}

/** `tcp:80`-style arguments for the declared ports (TCP default, SCTP skipped), deduplicated. */
export function responderPorts(ports: PortDecl[]): string[] {
  const out = new Set<string>();
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP').toUpperCase();
    if (proto !== 'TCP' && proto !== 'UDP') continue;
    out.add(`${proto.toLowerCase()}:${p.containerPort}`);
  }
  return [...out];
}

export interface StartedResponder {
  pid: number;
  child: ChildProcess;
}

/** Starts `responder NAME ports...` in `netns` (undefined: the node's namespace) and waits for its "ready" line. */
export function startResponder(
  runner: NodeRunner,
  responderPath: string,
  netns: string | undefined,
  name: string,
  ports: string[],
  timeoutMs = 20000,
): Promise<StartedResponder> {
  const argv = inNetns(netns, [responderPath, name, ...ports]);
  const child = runner.spawn(argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new KubeRouterError('KR_ERR_LAB', `pod ${name}: responder ${ports.join(' ')} ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, {
          object: `Pod ${name}`,
          call: argv.join(' '),
          stderr,
        }),
      );
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.on('error', (err) => fail(`could not start (${err.message})`));
    child.on('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (settled || !/^ready$/m.test(stdout) || child.pid === undefined) return;
      settled = true;
      clearTimeout(timer);
      // From now on the process lives on its own: no pipes keep it tied to us.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
      resolve({ pid: child.pid, child });
    });
  });
}

/** Whether `pid` is still a responder serving `name` (guards against pid reuse). */
export async function responderAlive(pid: number | undefined, name: string): Promise<boolean> {
  if (!pid) return false;
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return args.some((a) => a.endsWith('/responder')) && args.includes(name);
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs` if still there. */
export async function killResponder(pid: number | undefined, name: string, graceMs = 2000): Promise<void> {
  if (!pid || !(await responderAlive(pid, name))) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (!(await responderAlive(pid, name))) return;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
