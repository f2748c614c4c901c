// A batch of probes (consecutive `probe` and `matrix` steps) run in parallel.
// Targets are resolved just before probing; probes whose result is wrong (or
// whose target did not resolve) are resolved and probed once more after a
// delay (2 s, as upstream's e2e does) before they count as failed.

import type { LabCluster, ProbeRequest, ProbeResult, Protocol } from './cluster.js';
import { TargetResolver } from './targets.js';
import type { Expect } from './types.js';

export interface PlannedProbe {
  /** The step the probe belongs to (a matrix step has many). */
  step: number;
  kind: 'probe' | 'matrix';
  from: string;
  to: string;
  port?: number;
  protocol?: Protocol;
  expect: Expect;
  body?: string;
  timeoutMs: number;
}

export interface ProbeOutcome {
  probe: PlannedProbe;
  request?: ProbeRequest;
  result?: ProbeResult;
  /** Resolution or cluster error. */
  error?: string;
  got?: Expect;
  ok: boolean;
  /** Probed twice. */
  retried: boolean;
  ms: number;
}

export interface BatchOptions {
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  retryDelayMs: number;
}

export async function runProbeBatch(cluster: LabCluster, probes: PlannedProbe[], opts: BatchOptions): Promise<ProbeOutcome[]> {
  const outcomes = await attempt(cluster, probes, opts, false);
  const wrong = outcomes.map((o, i) => (o.ok ? -1 : i)).filter((i) => i >= 0);
  if (wrong.length === 0) return outcomes;
  await opts.sleep(opts.retryDelayMs);
  const again = await attempt(cluster, wrong.map((i) => probes[i]), opts, true);
  wrong.forEach((i, j) => {
    outcomes[i] = again[j];
  });
  return outcomes;
}

async function attempt(cluster: LabCluster, probes: PlannedProbe[], opts: BatchOptions, retried: boolean): Promise<ProbeOutcome[]> {
  const resolver = new TargetResolver(cluster);
  const started = opts.now();
  const planned = await Promise.all(
    probes.map(async (probe): Promise<ProbeOutcome> => {
      try {
        const [from, addr] = await Promise.all([resolver.place(probe.from), resolver.address(probe.to, probe.port, probe.protocol)]);
        const request: ProbeRequest = { from, toIP: addr.ip, port: addr.port, protocol: addr.protocol, timeoutMs: probe.timeoutMs };
        return { probe, request, ok: false, retried, ms: 0 };
      } catch (err) {
        return { probe, error: (err as Error).message, ok: false, retried, ms: 0 };
      }
    }),
  );
  const toSend = planned.filter((o) => o.request !== undefined);
  let results: ProbeResult[] = [];
  let batchError: string | undefined;
  if (toSend.length > 0) {
    try {
      results = await cluster.probe(toSend.map((o) => o.request as ProbeRequest));
      if (results.length !== toSend.length) batchError = `cluster answered ${results.length} of ${toSend.length} probes`;
    } catch (err) {
      batchError = `probe failed: ${(err as Error).message}`;
    }
  }
  const elapsed = opts.now() - started;
  toSend.forEach((o, i) => {
    const r = results[i];
    if (batchError !== undefined || r === undefined) {
      o.error = batchError ?? 'no result';
      o.ms = elapsed;
      return;
    }
    o.result = r;
    o.got = r.connected ? 'allow' : 'deny';
    o.ok = judge(o.probe, r);
    o.ms = r.ms ?? elapsed;
  });
  return planned;
}

export function judge(p: PlannedProbe, r: ProbeResult): boolean {
  if (p.expect === 'deny') return !r.connected;
  if (!r.connected) return false;
  return p.body === undefined || bodyMatches(p.body, r.body ?? '');
}

/** `pattern` as a plain substring, or else as a regular expression. */
export function bodyMatches(pattern: string, body: string): boolean {
  if (body.includes(pattern)) return true;
  try {
    return new RegExp(pattern).test(body);
  } catch {
    return false;
  }
}

/** The fields of a probe's report line. */
export function probeLine(o: ProbeOutcome): Record<string, unknown> {
  const p = o.probe;
  return {
    from: p.from,
    to: p.to,
    ip: o.request?.toIP,
    port: o.request?.port ?? p.port,
    protocol: o.request?.protocol ?? p.protocol,
    expect: p.expect,
    got: o.got ?? 'error',
    body: p.body === undefined && o.ok ? undefined : o.result?.body,
    wantBody: p.body,
    error: o.error ?? (o.ok ? undefined : o.result?.error),
    retried: o.retried || undefined,
    ms: o.ms,
  };
}
