// The scenario runner: runs files one after another on one LabCluster
// (configure() each time, which restarts agents only when the cluster section
// differs; reset() between files), steps in order, consecutive probe and
// matrix steps as one parallel batch. Prints one JSON line per step result,
// `<file>: N passed, N failed` after each file and `N passed, N failed` last;
// the exit status is 0 only if every expectation held. `family` (the
// `--family` of `kube-router-lab run`) is the IP family every target and
// template resolves to, and is handed to configure() with each cluster section.

import { errorMessage } from '../../errors.js';
import type { LabCluster } from './cluster.js';
import type { IpFamily } from './family.js';
import { parseScenarioFile, type ParseOptions } from './parse.js';
import { probeLine, runProbeBatch, type BatchOptions, type PlannedProbe } from './probes.js';
import { FileReport, totalLine, type ScenarioOutput, type Tally } from './report.js';
import { executeStep } from './step-exec.js';
import { stepKey, type Scenario, type Step } from './types.js';

export interface RunOptions {
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Delay before wrong probes are probed again (default 2000 ms). */
  retryDelayMs?: number;
  parse?: ParseOptions;
  /** The IP family of the run (default ipv4; ipv6 needs a dual-stack lab). */
  family?: IpFamily;
}

export interface RunSummary extends Tally {
  exitCode: 0 | 1;
}

export const PROBE_RETRY_DELAY_MS = 2000;

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `kube-router-lab run FILE...` on a booted cluster: parses every file first (nothing runs if one is malformed). */
export async function runScenarioFiles(files: string[], cluster: LabCluster, out: ScenarioOutput, opts: RunOptions = {}): Promise<RunSummary> {
  const { scenarios, bad } = parseAll(files, out, opts.parse);
  if (scenarios === undefined) return { passed: 0, failed: bad, exitCode: 1 };
  return runScenarios(scenarios, cluster, out, opts);
}

/**
 * Parses every file. For each malformed one, prints a `parse` result line and
 * its summary line; then the total line, and returns no scenarios.
 */
export function parseAll(files: string[], out: ScenarioOutput, opts?: ParseOptions): { scenarios?: Scenario[]; bad: number } {
  const scenarios: Scenario[] = [];
  let bad = 0;
  for (const file of files) {
    try {
      scenarios.push(parseScenarioFile(file, opts));
    } catch (err) {
      const report = new FileReport(out, file);
      report.result(undefined, 'parse', false, { error: errorMessage(err) });
      report.summary();
      bad++;
    }
  }
  if (bad === 0) return { scenarios, bad };
  out.write(totalLine({ passed: 0, failed: bad }));
  return { bad };
}

/** Runs parsed scenarios one after another. */
export async function runScenarios(scenarios: Scenario[], cluster: LabCluster, out: ScenarioOutput, opts: RunOptions = {}): Promise<RunSummary> {
  const total: Tally = { passed: 0, failed: 0 };
  for (const [i, scenario] of scenarios.entries()) {
    const report = new FileReport(out, scenario.file);
    await runScenario(scenario, cluster, report, opts, i > 0);
    report.summary();
    total.passed += report.passed;
    total.failed += report.failed;
  }
  out.write(totalLine(total));
  return { ...total, exitCode: total.failed === 0 && total.passed + total.failed > 0 ? 0 : 1 };
}

/** Runs one scenario's steps, reporting into `report`. */
export async function runScenario(scenario: Scenario, cluster: LabCluster, report: FileReport, opts: RunOptions, resetFirst: boolean): Promise<void> {
  const sleep = opts.sleep ?? realSleep;
  const family = opts.family ?? 'ipv4';
  const batchOpts: BatchOptions = { sleep, now: opts.now ?? Date.now, retryDelayMs: opts.retryDelayMs ?? PROBE_RETRY_DELAY_MS, family };
  try {
    if (resetFirst) await cluster.reset();
    await cluster.configure(scenario.cluster, family);
  } catch (err) {
    report.result(undefined, 'configure', false, { cluster: scenario.cluster, error: errorMessage(err), skipped: scenario.steps.length });
    return;
  }
  const holds = new Set<string>();
  const steps = scenario.steps;
  let i = 0;
  while (i < steps.length) {
    const step = steps[i];
    if (step.kind === 'probe' || step.kind === 'matrix') {
      let j = i;
      const batch: PlannedProbe[] = [];
      while (j < steps.length && (steps[j].kind === 'probe' || steps[j].kind === 'matrix')) batch.push(...plan(steps[j++]));
      const outcomes = await runProbeBatch(cluster, batch, batchOpts);
      for (const o of outcomes) report.result(o.probe.step, o.probe.kind, o.ok, probeLine(o));
      i = j;
      continue;
    }
    const started = batchOpts.now();
    const o = await executeStep(step, { cluster, sleep, holds, family });
    const skipped = o.abort ? steps.length - i - 1 : undefined;
    report.result(step.index, stepKey(step), o.ok, { ...where(step, scenario.file), ...o.fields, skipped, ms: batchOpts.now() - started });
    if (o.abort) break;
    i++;
  }
  // Connections still held at the end of a file are closed without an expectation.
  for (const name of holds) await cluster.release(name).catch(() => undefined);
}

/** The probes of a probe or matrix step. */
function plan(step: Step): PlannedProbe[] {
  if (step.kind === 'probe') return [{ step: step.index, kind: 'probe', ...step.probe }];
  if (step.kind === 'matrix') {
    return step.cells.map((c) => ({ step: step.index, kind: 'matrix', ...c, timeoutMs: step.timeoutMs }));
  }
  return [];
}

/** For a step of an included file, where it was written. */
function where(step: Step, file: string): Record<string, unknown> {
  return step.source.file === file ? {} : { at: `${step.source.file}#${step.source.index}` };
}
