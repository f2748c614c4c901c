// `kube-router-lab run [--keep] [--family ipv4|ipv6] FILE.yaml...` on the
// host (called by src/lab/vm/cli.ts): parses every file first (a malformed
// file costs no boot), then runs them all in the guest on one cluster: the
// running lab of `kube-router-lab up` if there is one, else a lab booted for
// the run (with the first file's cluster section) and stopped after it,
// unless --keep. `--family ipv6` runs the same files in IPv6 (targets,
// templates and agent flags follow the family): it needs a dual-stack lab, so
// a lab booted for it is dual-stack and a running IPv4-only lab is refused.
// Prints the runner's lines on stdout; exit status 0 only if every
// expectation held.

import { resolve } from 'node:path';
import { errorMessage } from '../../errors.js';
import type { ClusterSpec } from './cluster.js';
import { isFamily, type IpFamily } from './family.js';
import { agentArgsForFamily } from './family-args.js';
import { lineOf, SCENARIO_RUN_PATH } from './guest.js';
import type { ScenarioOutput } from './report.js';
import { parseAll } from './runner.js';

const USAGE = 'usage: kube-router-lab run [--keep] [--family ipv4|ipv6] FILE.yaml...\n';

/** What this command needs of src/lab/vm/lab.ts (structural, loaded at run time). */
export interface LabVmLike {
  /** The lab's state file (LabState): dualStack is set when it was booted with --dual-stack. */
  state: { dualStack?: boolean };
  client: { stream(method: string, path: string, body: unknown, onLine: (obj: unknown) => void, timeoutMs?: number): Promise<void> };
  stop(): Promise<void>;
}
export interface LabModule {
  attachLab(id?: string): LabVmLike | undefined;
  bootLab(opts: { nodes?: number; secondSubnet?: boolean; dualStack?: boolean; agentArgs?: string[]; say?: (l: string) => void }): Promise<LabVmLike>;
}

const loadLabModule = async (): Promise<LabModule> => (await import(new URL('../vm/lab.js', import.meta.url).href)) as LabModule;

export interface RunArgs {
  keep: boolean;
  family: IpFamily;
  files: string[];
}

/** The command line of `run`; a string is the usage problem. */
export function parseRunArgs(argv: string[]): RunArgs | string {
  const out: RunArgs = { keep: false, family: 'ipv4', files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') out.keep = true;
    else if (a === '--family' || a.startsWith('--family=')) {
      const v = a === '--family' ? argv[++i] : a.slice('--family='.length);
      if (!isFamily(v)) return `--family must be ipv4 or ipv6, got ${v === undefined ? 'nothing' : `'${v}'`}`;
      out.family = v;
    } else if (a.startsWith('--')) return `unknown flag ${a}`;
    else out.files.push(a);
  }
  return out.files.length === 0 ? 'no scenario file given' : out;
}

export async function runScenarioCommand(
  argv: string[],
  out: ScenarioOutput = process.stdout,
  say: (l: string) => void = (l) => process.stderr.write(`${l}\n`),
  loadLab: () => Promise<LabModule> = loadLabModule,
): Promise<number> {
  const args = parseRunArgs(argv);
  if (typeof args === 'string') {
    say(argv.length === 0 ? USAGE.trimEnd() : `kube-router-lab run: ${args}\n${USAGE.trimEnd()}`);
    return 2;
  }
  const { keep, family, files } = args;
  const { scenarios } = parseAll(files, out);
  if (scenarios === undefined) return 1;

  const lab = await loadLab();
  let vm = lab.attachLab();
  const booted = vm === undefined;
  if (vm === undefined) {
    vm = await lab.bootLab({ ...bootOptions(scenarios[0].cluster, family), say });
  } else if (family === 'ipv6' && vm.state.dualStack !== true) {
    say('kube-router-lab run: --family ipv6 needs a dual-stack lab; the running lab was booted IPv4-only (kube-router-lab down; kube-router-lab up --dual-stack)');
    return 1;
  } else {
    say('lab: running the scenarios on the lab already up');
  }
  let exitCode: number | undefined;
  // The IPv4 body stays as it always was (no family key).
  const body = { files: files.map((f) => resolve(f)), ...(family === 'ipv6' ? { family } : {}) };
  try {
    await vm.client.stream('POST', SCENARIO_RUN_PATH, body, (obj) => {
      const o = obj as { done?: boolean; exitCode?: number; error?: string };
      if (o.done === true) exitCode = o.exitCode;
      else if (typeof o.error === 'string' && Object.keys(o).length <= 2) say(`kube-router-lab run: ${o.error}`);
      const line = lineOf(obj);
      if (line !== undefined) out.write(`${line}\n`);
    });
  } catch (err) {
    say(`kube-router-lab run: ${errorMessage(err)}`);
  } finally {
    if (booted && !keep) await vm.stop();
    else if (booted) say('lab: left running (--keep); `kube-router-lab down` stops it');
  }
  if (exitCode === undefined) say('kube-router-lab run: the guest ended the run without a result');
  return exitCode ?? 1;
}

/**
 * The boot of a lab for the run: the first file's cluster section, as the
 * run's family uses it (an IPv6 run boots dual-stack with the agents' IPv6
 * flags, so configure() of the first file does not restart them).
 */
export function bootOptions(first: ClusterSpec, family: IpFamily): { nodes: number; secondSubnet: boolean; dualStack: boolean; agentArgs: string[] } {
  const dualStack = family === 'ipv6' || (first.dualStack ?? false);
  let agentArgs = first.agentArgs;
  try {
    agentArgs = agentArgsForFamily(first.agentArgs, family);
  } catch {
    // A range without an IPv6 twin: the file's configure step reports it; the boot goes on.
  }
  return { nodes: first.nodes, secondSubnet: first.secondSubnet, dualStack, agentArgs };
}
