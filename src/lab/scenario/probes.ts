// A batch of probes (consecutive `probe` and `matrix` steps) run in parallel.
// Targets are resolved just before probing; probes whose result is wrong (or
// whose target did not resolve) are resolved and probed once more after a
// delay (2 s, as upstream's e2e does) before they count as failed. `to` may
// hold templates (`{{vip 198.51.100.20}}`); `body`/`bodies` too, matched as a
// substring with the values as they are, else as a regular expression with
// the values escaped.

import type { LabCluster, ProbeRequest, ProbeResult, Protocol } from './cluster.js';
import type { IpFamily } from './family.js';
import { TargetResolver } from './targets.js';
import { substituteInRegExp, substituteTemplates } from './template.js';
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
  /** Probe this many times in parallel (default 1), judged together. */
  repeat?: number;
  /** Each must match at least one reply (e.g. every endpoint answers over repeated probes). */
  bodies?: string[];
  /** Every reply must be the same (session affinity, source hashing). */
  sameBody?: boolean;
}

export interface ProbeOutcome {
  probe: PlannedProbe;
  request?: ProbeRequest;
  /** One per repetition. */
  results?: ProbeResult[];
  /** `body` and `bodies` with templates substituted. */
  wantBody?: string;
  wantBodies?: string[];
  /** The same with substituted values regex-escaped: what the regular-expression match uses. */
  wantBodyRe?: string;
  wantBodiesRe?: string[];
  /** Resolution or cluster error, or what did not hold. */
  error?: string;
  /** allow, deny, or `mixed` when some repetitions connected and some did not. */
  got?: Expect | 'mixed';
  ok: boolean;
  /** Probed twice. */
  retried: boolean;
  ms: number;
}

export interface BatchOptions {
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  retryDelayMs: number;
  /** The IP family targets and templates resolve to (default ipv4). */
  family?: IpFamily;
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
  const resolver = new TargetResolver(cluster, opts.family);
  const started = opts.now();
  const planned = await Promise.all(
    probes.map(async (probe): Promise<ProbeOutcome> => {
      try {
        const sub = (t: string): Promise<string> => substituteTemplates(t, (ref) => resolver.template(ref));
        const to = await sub(probe.to);
        const [from, addr] = await Promise.all([resolver.place(probe.from), resolver.address(to, probe.port, probe.protocol)]);
        const request: ProbeRequest = { from, toIP: addr.ip, port: addr.port, protocol: addr.protocol, timeoutMs: probe.timeoutMs };
        return { probe, request, ...(await wantedBodies(probe, resolver)), ok: false, retried, ms: 0 };
      } catch (err) {
        return { probe, error: (err as Error).message, ok: false, retried, ms: 0 };
      }
    }),
  );
  const toSend = planned.filter((o) => o.request !== undefined);
  const requests = toSend.flatMap((o) => new Array<ProbeRequest>(o.probe.repeat ?? 1).fill(o.request as ProbeRequest));
  let results: ProbeResult[] = [];
  let batchError: string | undefined;
  if (requests.length > 0) {
    try {
      results = await cluster.probe(requests);
      if (results.length !== requests.length) batchError = `cluster answered ${results.length} of ${requests.length} probes`;
    } catch (err) {
      batchError = `probe failed: ${(err as Error).message}`;
    }
  }
  const elapsed = opts.now() - started;
  let next = 0;
  for (const o of toSend) {
    const n = o.probe.repeat ?? 1;
    const rs = results.slice(next, next + n);
    next += n;
    if (batchError !== undefined || rs.length !== n) {
      o.error = batchError ?? 'no result';
      o.ms = elapsed;
      continue;
    }
    o.results = rs;
    const connected = rs.filter((r) => r.connected).length;
    o.got = connected === n ? 'allow' : connected === 0 ? 'deny' : 'mixed';
    const problem = judge(o, rs);
    o.ok = problem === undefined;
    if (problem !== undefined && problem !== 'wrong') o.error = problem;
    o.ms = Math.max(...rs.map((r) => r.ms ?? elapsed));
  }
  return planned;
}

/** `body` and `bodies` with templates substituted: as text, and for the regular-expression match. */
async function wantedBodies(probe: PlannedProbe, resolver: TargetResolver): Promise<Pick<ProbeOutcome, 'wantBody' | 'wantBodies' | 'wantBodyRe' | 'wantBodiesRe'>> {
  const sub = (t: string): Promise<string> => substituteTemplates(t, (ref) => resolver.template(ref));
  const subRe = (t: string): Promise<string> => substituteInRegExp(t, (ref) => resolver.template(ref));
  const out: Pick<ProbeOutcome, 'wantBody' | 'wantBodies' | 'wantBodyRe' | 'wantBodiesRe'> = {};
  if (probe.body !== undefined) [out.wantBody, out.wantBodyRe] = await Promise.all([sub(probe.body), subRe(probe.body)]);
  if (probe.bodies !== undefined) [out.wantBodies, out.wantBodiesRe] = await Promise.all([Promise.all(probe.bodies.map(sub)), Promise.all(probe.bodies.map(subRe))]);
  return out;
}

/** Undefined when the results are as expected; else `wrong` (allow/deny) or what did not hold. */
export function judge(o: ProbeOutcome, rs: ProbeResult[]): string | undefined {
  const p = o.probe;
  if (p.expect === 'deny') return rs.some((r) => r.connected) ? 'wrong' : undefined;
  if (!rs.every((r) => r.connected)) return 'wrong';
  const bodies = rs.map((r) => r.body ?? '');
  // A pattern matches the body, or the body with the client the responder saw
  // (`x/a client=10.244.1.5:40312`: source-IP checks).
  const withClient = rs.map((r) => (r.client === undefined ? r.body ?? '' : `${r.body ?? ''} client=${r.client}`));
  const matches = (want: string, re: string, i: number): boolean => bodyMatches(want, bodies[i], re) || bodyMatches(want, withClient[i], re);
  if (o.wantBody !== undefined) {
    const want = o.wantBody;
    const i = bodies.findIndex((_, j) => !matches(want, o.wantBodyRe ?? want, j));
    if (i >= 0) return `reply '${withClient[i]}' does not match '${o.wantBody}'`;
  }
  for (const [k, want] of (o.wantBodies ?? []).entries()) {
    if (!bodies.some((_, j) => matches(want, o.wantBodiesRe?.[k] ?? want, j))) return `no reply matched '${want}'`;
  }
  if (p.sameBody === true && new Set(bodies).size > 1) return `replies differ: ${[...new Set(bodies)].join(', ')}`;
  return undefined;
}

/**
 * `pattern` as a plain substring, or else as a regular expression: `regex`,
 * the pattern with its substituted template values escaped (default: the pattern).
 */
export function bodyMatches(pattern: string, body: string, regex: string = pattern): boolean {
  if (body.includes(pattern)) return true;
  try {
    return new RegExp(regex).test(body);
  } catch {
    return false;
  }
}

/** The fields of a probe's report line. */
export function probeLine(o: ProbeOutcome): Record<string, unknown> {
  const p = o.probe;
  const rs = o.results ?? [];
  const replies: Record<string, number> = {};
  for (const r of rs) if (r.connected) replies[r.body ?? ''] = (replies[r.body ?? ''] ?? 0) + 1;
  const showBody = !o.ok || o.wantBody !== undefined;
  return {
    from: p.from,
    to: p.to,
    ip: o.request?.toIP,
    port: o.request?.port ?? p.port,
    protocol: o.request?.protocol ?? p.protocol,
    expect: p.expect,
    got: o.got ?? 'error',
    body: rs.length === 1 && showBody ? rs[0].body : undefined,
    client: rs.length === 1 && showBody ? rs[0].client : undefined,
    wantBody: o.wantBody ?? p.body,
    wantBodies: o.wantBodies ?? p.bodies,
    replies: rs.length > 1 ? replies : undefined,
    error: o.error ?? (o.ok ? undefined : rs.find((r) => !r.connected)?.error),
    retried: o.retried || undefined,
    ms: o.ms,
  };
}
