// Execution of the steps that are not probes: each returns the fields of its
// report line, whether its expectation held, and whether the rest of the file
// must be skipped (the cluster could not be brought to the state the
// following steps assume: an apply rejected, an agent that did not start).
// Templates are substituted in the run's family: in apply objects, hold `to`,
// exec `cmd` (as they are) and exec `expect`/`expectNot` (regex-escaped).

import { parseAllDocuments } from 'yaml';
import type { StoredObject } from '../apiserver/types.js';
import { errorMessage } from '../../errors.js';
import type { LabCluster } from './cluster.js';
import type { IpFamily } from './family.js';
import { isMapping } from './fields.js';
import { clip } from './report.js';
import { TargetResolver } from './targets.js';
import { substituteInRegExp, substituteTemplates, type TemplateRef } from './template.js';
import type { ApplySource, Step } from './types.js';

export interface StepOutcome {
  ok: boolean;
  fields: Record<string, unknown>;
  abort?: boolean;
}

export interface StepContext {
  cluster: LabCluster;
  sleep: (ms: number) => Promise<void>;
  /** Names of connections held and not yet released in this file. */
  holds: Set<string>;
  /** The IP family targets and templates resolve to (default ipv4). */
  family?: IpFamily;
}

type NonProbeStep = Exclude<Step, { kind: 'probe' } | { kind: 'matrix' }>;

/** Steps whose failure leaves the cluster in a state the rest of the file cannot rely on. */
const ABORTING = new Set<string>(['apply', 'delete', 'restart-agent', 'restart-apiserver', 'stop', 'start']);

export async function executeStep(step: NonProbeStep, ctx: StepContext): Promise<StepOutcome> {
  try {
    return await execute(step, ctx);
  } catch (err) {
    const abort = ABORTING.has(step.kind);
    return { ok: false, abort, fields: { ...describe(step), error: errorMessage(err) } };
  }
}

/** What a step's report line says about the step itself, before any result. */
function describe(step: NonProbeStep): Record<string, unknown> {
  switch (step.kind) {
    case 'apply':
      return {};
    case 'delete':
      return { objects: step.refs.map((r) => `${r.kind} ${r.namespace === undefined ? '' : `${r.namespace}/`}${r.name}`) };
    case 'settle':
      return { timeoutMs: step.timeoutMs };
    case 'exec':
      return { on: step.on, cmd: step.cmd };
    case 'hold':
      return { name: step.name, from: step.from, to: step.to, port: step.port };
    case 'release':
      return { name: step.name, expect: step.expect };
    case 'restart-agent':
      return { agent: step.node, signal: step.signal };
    case 'restart-apiserver':
      return { apiserver: true, downForMs: step.downForMs };
    case 'stop':
      return { agent: step.node };
    case 'start':
      return { agent: step.node, args: step.args, wait: step.wait };
    case 'sleep':
      return { sleepMs: step.ms };
  }
}

async function execute(step: NonProbeStep, ctx: StepContext): Promise<StepOutcome> {
  const { cluster } = ctx;
  const base = describe(step);
  const resolver = (): TargetResolver => new TargetResolver(cluster, ctx.family);
  switch (step.kind) {
    case 'apply': {
      const objects = await renderObjects(step.objects, resolver());
      await cluster.apply(objects);
      return { ok: true, fields: { objects: objects.map(objectName) } };
    }
    case 'delete':
      await cluster.delete(step.refs);
      return { ok: true, fields: base };
    case 'settle': {
      const r = await cluster.settle(step.timeoutMs);
      return { ok: r.settled, fields: { ...base, pending: r.settled ? undefined : r.pending } };
    }
    case 'exec': {
      const res = resolver();
      const x = await renderExec(step, res);
      const on = await res.place(step.on);
      const r = await cluster.exec(on, x.cmd, step.timeoutMs);
      const problems: string[] = [];
      if (r.exitCode !== step.expectExit) problems.push(`exit status ${r.exitCode}, expected ${step.expectExit}`);
      if (x.expect !== undefined && !new RegExp(x.expect, 'm').test(r.output)) {
        problems.push(`output does not match /${x.expect}/`);
      }
      if (x.expectNot !== undefined && new RegExp(x.expectNot, 'm').test(r.output)) {
        problems.push(`output matches /${x.expectNot}/`);
      }
      const ok = problems.length === 0;
      return {
        ok,
        fields: {
          ...base,
          cmd: x.cmd,
          expect: x.expect,
          expectNot: x.expectNot,
          expectExit: step.expectExit,
          exitCode: r.exitCode,
          error: ok ? undefined : problems.join('; '),
          output: ok ? undefined : clip(r.output),
        },
      };
    }
    case 'hold': {
      if (ctx.holds.has(step.name)) throw new Error(`a connection named '${step.name}' is already held`);
      const res = resolver();
      const to = await substituteTemplates(step.to, (ref) => res.template(ref));
      const [from, addr] = await Promise.all([res.place(step.from), res.address(to, step.port, 'TCP')]);
      await cluster.hold(step.name, from, addr.ip, addr.port);
      ctx.holds.add(step.name);
      return { ok: true, fields: { ...base, ip: addr.ip, port: addr.port } };
    }
    case 'release': {
      if (!ctx.holds.has(step.name)) throw new Error(`no connection named '${step.name}' is held`);
      ctx.holds.delete(step.name);
      const r = await cluster.release(step.name);
      const unbroken = !r.broken && r.error === undefined && r.maxGapMs <= step.maxGapMs;
      const ok = step.expect === 'unbroken' ? unbroken : !unbroken;
      return {
        ok,
        fields: { ...base, got: unbroken ? 'unbroken' : 'broken', broken: r.broken, maxGapMs: r.maxGapMs, error: r.error },
      };
    }
    case 'restart-agent':
      await cluster.restartAgent(step.node, step.signal);
      return { ok: true, fields: base };
    case 'restart-apiserver':
      await cluster.restartApiServer(step.downForMs);
      return { ok: true, fields: base };
    case 'stop':
      await cluster.stopAgent(step.node);
      return { ok: true, fields: base };
    case 'start': {
      const code = await cluster.startAgent(step.node, step.args, step.wait);
      if (step.wait === 'running' || step.expectExit === undefined) return { ok: true, fields: base };
      const ok = code === step.expectExit;
      return {
        ok,
        abort: !ok,
        fields: { ...base, expectExit: step.expectExit, exitCode: code, error: ok ? undefined : `exit status ${code}, expected ${step.expectExit}` },
      };
    }
    case 'sleep':
      await ctx.sleep(step.ms);
      return { ok: true, fields: base };
  }
}

type ExecStep = Extract<Step, { kind: 'exec' }>;

/** An exec step's command (values as they are) and patterns (values regex-escaped) with templates substituted. */
export async function renderExec(step: Pick<ExecStep, 'cmd' | 'expect' | 'expectNot'>, resolver: TargetResolver): Promise<{ cmd: string; expect?: string; expectNot?: string }> {
  const resolve = (ref: TemplateRef): Promise<string> => resolver.template(ref);
  const re = (t: string | undefined): Promise<string | undefined> => (t === undefined ? Promise.resolve(undefined) : substituteInRegExp(t, resolve));
  const [cmd, expect, expectNot] = await Promise.all([substituteTemplates(step.cmd, resolve), re(step.expect), re(step.expectNot)]);
  return { cmd, expect, expectNot };
}

/** Substitutes templates and parses the objects of an apply step. */
export async function renderObjects(src: ApplySource, resolver: TargetResolver): Promise<StoredObject[]> {
  const sub = (text: string): Promise<string> => substituteTemplates(text, (ref) => resolver.template(ref));
  if ('text' in src) {
    const text = await sub(src.text);
    const out: StoredObject[] = [];
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`objects do not parse after templates: ${doc.errors[0].message}`);
      const v: unknown = doc.toJS();
      if (v !== null && v !== undefined) out.push(v as StoredObject); // shape checked by the parser
    }
    return out;
  }
  return (await Promise.all(src.values.map((v) => deepSub(v, sub)))) as StoredObject[];
}

async function deepSub(v: unknown, sub: (s: string) => Promise<string>): Promise<unknown> {
  if (typeof v === 'string') return sub(v);
  if (Array.isArray(v)) return Promise.all(v.map((x) => deepSub(x, sub)));
  if (isMapping(v)) {
    const entries = await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await deepSub(x, sub)] as const));
    return Object.fromEntries(entries);
  }
  return v;
}

function objectName(o: StoredObject): string {
  const ns = o.metadata.namespace;
  return `${o.kind} ${ns === undefined ? '' : `${ns}/`}${o.metadata.name}`;
}
