// Probes and held connections from a pod or node, through the native
// `prober` and `holder` tools (src/lab/native/).

import { KubeRouterError } from '../../../errors.js';
import { ensureNativeTools } from '../../native/build.js';
import { describeFailure, inNetns, type NodeRunner } from './runner.js';

export interface ProbeSpec {
  /** Echoed in the result; default: the probe's index. No whitespace. */
  id?: string;
  protocol: 'TCP' | 'UDP';
  ip: string;
  port: number;
  /** Default 1000 ms (the scenario semantics: a connection or reply within 1 s). */
  timeoutMs?: number;
}

export type ProbeStatus = 'ok' | 'refused' | 'timeout' | 'error';

export interface ProbeResult {
  id: string;
  status: ProbeStatus;
  /** First line the target sent (the responder's `ns/name client=ip:port`), '' when none; the error text for `error`. */
  body: string;
  latencyMs: number;
}

export interface HoldSummary {
  /** Lines received (the greeting plus one echo per line sent). */
  lines: number;
  sent: number;
  /** Longest time without a received line, connection start to release. */
  maxGapMs: number;
  error?: string;
}

export interface HoldHandle {
  /** Whether the connection was established (false: release() reports the error). */
  readonly connected: boolean;
  /** Local address of the held connection, `ip:port`. */
  readonly localAddress?: string;
  release(): Promise<HoldSummary>;
}

/** One prober input line per probe. */
export function formatProbeInput(probes: ProbeSpec[]): string {
  return probes
    .map((p, i) => {
      const id = p.id ?? String(i);
      if (/\s/.test(id) || id === '') throw new KubeRouterError('KR_ERR_LAB', `probe id must be non-empty without spaces: "${id}"`);
      return `${id} ${p.protocol.toLowerCase()} ${p.ip} ${p.port} ${p.timeoutMs ?? 1000}\n`;
    })
    .join('');
}

/** Parses `ID STATUS BODY LATENCY_MS` lines (BODY may contain spaces, `-` is empty). */
export function parseProbeOutput(stdout: string): ProbeResult[] {
  const out: ProbeResult[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim().split(' ');
    if (t.length < 4) continue;
    const status = t[1];
    if (status !== 'ok' && status !== 'refused' && status !== 'timeout' && status !== 'error') continue;
    const body = t.slice(2, -1).join(' ');
    out.push({ id: t[0], status, body: body === '-' ? '' : body, latencyMs: Number(t[t.length - 1]) });
  }
  return out;
}

/**
 * Runs one prober in `netns` (undefined: the runner's own namespace) and
 * returns the results in the order of `probes`.
 */
export async function runProbes(runner: NodeRunner, netns: string | undefined, probes: ProbeSpec[]): Promise<ProbeResult[]> {
  if (probes.length === 0) return [];
  const tools = await ensureNativeTools();
  const ids = probes.map((p, i) => p.id ?? String(i));
  const maxTimeout = Math.max(...probes.map((p) => p.timeoutMs ?? 1000));
  const r = await runner.exec(inNetns(netns, [tools.prober]), {
    input: formatProbeInput(probes),
    timeoutMs: maxTimeout + 15000,
  });
  const byId = new Map(parseProbeOutput(r.stdout).map((res) => [res.id, res]));
  if (r.code !== 0 && byId.size === 0) {
    throw new KubeRouterError('KR_ERR_LAB', `prober failed${netns ? ` in netns ${netns}` : ''}: ${describeFailure(r)}`, {
      call: 'prober',
      stderr: r.stderr,
    });
  }
  return ids.map(
    (id) => byId.get(id) ?? { id, status: 'error' as const, body: `no result from prober (${describeFailure(r)})`, latencyMs: 0 },
  );
}

interface HolderSummaryJson {
  sent: number;
  lines: number;
  maxGapMs: number;
  error: string | null;
}

/**
 * Starts a holder in `netns` (undefined: the runner's namespace) connected to
 * ip:port. Resolves once the connection is established or has failed.
 */
export async function startHolder(runner: NodeRunner, netns: string | undefined, ip: string, port: number): Promise<HoldHandle> {
  const tools = await ensureNativeTools();
  const child = runner.spawn(inNetns(netns, [tools.holder, ip, String(port)]), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let connected = false;
  let localAddress: string | undefined;
  const exited = new Promise<number>((resolve) => {
    child.on('error', (err) => {
      stderr += err.message;
      resolve(-1);
    });
    child.on('close', (code) => resolve(code ?? -1));
  });
  const firstLine = new Promise<void>((resolve) => {
    const check = (): void => {
      const m = /^connected (\S+)$/m.exec(stdout);
      if (m) {
        connected = true;
        localAddress = m[1];
        resolve();
      } else if (/^error /m.test(stdout)) resolve();
    };
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      check();
    });
    void exited.then(() => resolve());
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin?.on('error', () => undefined);
  await firstLine;

  let released: Promise<HoldSummary> | undefined;
  const release = async (): Promise<HoldSummary> => {
    child.stdin?.end();
    const killTimer = setTimeout(() => child.kill('SIGTERM'), 2000);
    const code = await exited;
    clearTimeout(killTimer);
    const jsonLine = stdout.split('\n').find((l) => l.startsWith('{'));
    if (!jsonLine) {
      return { lines: 0, sent: 0, maxGapMs: 0, error: `holder exited ${code} without a summary: ${stderr.trim() || stdout.trim()}` };
    }
    const s = JSON.parse(jsonLine) as HolderSummaryJson;
    return { lines: s.lines, sent: s.sent, maxGapMs: s.maxGapMs, ...(s.error !== null ? { error: s.error } : {}) };
  };
  return {
    get connected() {
      return connected;
    },
    get localAddress() {
      return localAddress;
    },
    release: () => (released ??= release()),
  };
}
