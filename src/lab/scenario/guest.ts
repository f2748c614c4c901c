// The scenario runner's guest side: `registerGuestRoutes(ctx)` (called by the
// guest supervisor, src/lab/guest/integrations.ts) adds
//   POST /v1/scenario/run {files: [absolute paths], retryDelayMs?, family?: "ipv4"|"ipv6"}
// answering JSON lines: each result line of the runner as an object, each
// `<file>: N passed, N failed` / total line as {"summary": "..."}, and last
// {"done": true, "passed": N, "failed": N, "exitCode": 0|1}.
//
// The LabCluster driving the real guest comes from the guest supervisor:
// src/lab/guest/lab-cluster.ts exporting `createLabCluster(ctx): LabCluster`.
// Types here are structural so this file builds before that one exists.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeRouterError } from '../../errors.js';
import type { LabCluster } from './cluster.js';
import { isFamily, type IpFamily } from './family.js';
import type { ScenarioOutput } from './report.js';
import { runScenarioFiles, type RunOptions, type RunSummary } from './runner.js';

interface RouteRequest {
  body: unknown;
  signal: AbortSignal;
}

/** What this module needs of the supervisor's GuestContext. */
export interface ScenarioRouteHost {
  control: { route(method: string, path: string, handler: (req: RouteRequest) => Promise<unknown> | AsyncIterable<unknown>): void };
  log?(msg: string): void;
}

export const SCENARIO_RUN_PATH = '/v1/scenario/run';

const LAB_CLUSTER_MODULE = join(dirname(fileURLToPath(import.meta.url)), '..', 'guest', 'lab-cluster.js');

async function loadLabCluster(ctx: ScenarioRouteHost): Promise<LabCluster> {
  if (!existsSync(LAB_CLUSTER_MODULE)) {
    throw new KubeRouterError('KR_ERR_LAB', 'the guest LabCluster (src/lab/guest/lab-cluster.ts: createLabCluster) is not built yet');
  }
  const mod = (await import(LAB_CLUSTER_MODULE)) as { createLabCluster?: (c: ScenarioRouteHost) => LabCluster | Promise<LabCluster> };
  if (mod.createLabCluster === undefined) throw new KubeRouterError('KR_ERR_LAB', `${LAB_CLUSTER_MODULE} exports no createLabCluster`);
  return mod.createLabCluster(ctx);
}

export function registerGuestRoutes(ctx: ScenarioRouteHost, cluster?: LabCluster): void {
  let shared: Promise<LabCluster> | undefined = cluster === undefined ? undefined : Promise.resolve(cluster);
  let busy = false;
  ctx.control.route('POST', SCENARIO_RUN_PATH, async (req) => {
    const { files, retryDelayMs, family } = runRequest(req.body);
    if (busy) throw new KubeRouterError('KR_ERR_LAB', 'a scenario run is already in progress');
    shared ??= loadLabCluster(ctx);
    let c: LabCluster;
    try {
      c = await shared;
    } catch (err) {
      shared = undefined;
      throw err;
    }
    busy = true;
    const opts: RunOptions = { ...(retryDelayMs === undefined ? {} : { retryDelayMs }), ...(family === undefined ? {} : { family }) };
    return streamRun((out) => runScenarioFiles(files, c, out, opts).finally(() => (busy = false)));
  });
}

export function runRequest(body: unknown): { files: string[]; retryDelayMs?: number; family?: IpFamily } {
  const b = (body ?? {}) as { files?: unknown; retryDelayMs?: unknown; family?: unknown };
  if (!Array.isArray(b.files) || b.files.length === 0 || !b.files.every((f) => typeof f === 'string')) {
    throw new KubeRouterError('KR_ERR_LAB', 'body must be {"files": ["/abs/path.yaml", ...]}');
  }
  if (b.family !== undefined && !isFamily(b.family)) {
    throw new KubeRouterError('KR_ERR_LAB', `body: family must be "ipv4" or "ipv6", got ${JSON.stringify(b.family)}`, { field: 'family' });
  }
  const retryDelayMs = typeof b.retryDelayMs === 'number' ? b.retryDelayMs : undefined;
  return { files: b.files as string[], retryDelayMs, family: b.family };
}

/** Turns the runner's output into a stream of objects, ending with a `done` object. */
export async function* streamRun(run: (out: ScenarioOutput) => Promise<RunSummary>): AsyncGenerator<unknown> {
  const queue: unknown[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const out: ScenarioOutput = {
    write(text: string) {
      for (const line of text.split('\n')) if (line !== '') queue.push(toObject(line));
      wake?.();
    },
  };
  void run(out)
    .then(
      (s) => void queue.push({ done: true, passed: s.passed, failed: s.failed, exitCode: s.exitCode }),
      (err: unknown) => void (failure = err),
    )
    .finally(() => {
      finished = true;
      wake?.();
    });
  for (;;) {
    while (queue.length > 0) yield queue.shift();
    if (finished) {
      if (failure !== undefined) throw failure;
      return;
    }
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}

function toObject(line: string): unknown {
  if (line.startsWith('{')) {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      // not one of the runner's JSON lines: pass it on as text
    }
  }
  return { summary: line };
}

/** The host side's inverse: the text line to print for a streamed object (undefined for the `done` object). */
export function lineOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return String(obj);
  const o = obj as { summary?: unknown; done?: unknown };
  if (o.done === true) return undefined;
  if (typeof o.summary === 'string') return o.summary;
  return JSON.stringify(obj);
}
