// `kube-router-lab run [--keep] FILE.yaml...` on the host (called by
// src/lab/vm/cli.ts): parses every file first (a malformed file costs no
// boot), then runs them all in the guest on one cluster: the running lab of
// `kube-router-lab up` if there is one, else a lab booted for the run (with
// the first file's cluster section) and stopped after it, unless --keep.
// Prints the runner's lines on stdout; exit status 0 only if every
// expectation held.

import { resolve } from 'node:path';
import { errorMessage } from '../../errors.js';
import type { ClusterSpec } from './cluster.js';
import { lineOf, SCENARIO_RUN_PATH } from './guest.js';
import type { ScenarioOutput } from './report.js';
import { parseAll } from './runner.js';

const USAGE = 'usage: kube-router-lab run [--keep] FILE.yaml...\n';

/** What this command needs of src/lab/vm/lab.ts (structural, loaded at run time). */
interface LabVmLike {
  client: { stream(method: string, path: string, body: unknown, onLine: (obj: unknown) => void, timeoutMs?: number): Promise<void> };
  stop(): Promise<void>;
}
interface LabModule {
  attachLab(id?: string): LabVmLike | undefined;
  bootLab(opts: { nodes?: number; secondSubnet?: boolean; agentArgs?: string[]; say?: (l: string) => void }): Promise<LabVmLike>;
}

export async function runScenarioCommand(argv: string[], out: ScenarioOutput = process.stdout, say: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  const keep = argv.includes('--keep');
  const files = argv.filter((a) => a !== '--keep');
  const unknown = files.find((f) => f.startsWith('--'));
  if (files.length === 0 || unknown !== undefined) {
    say(unknown === undefined ? USAGE.trimEnd() : `kube-router-lab run: unknown flag ${unknown}\n${USAGE.trimEnd()}`);
    return 2;
  }
  const { scenarios } = parseAll(files, out);
  if (scenarios === undefined) return 1;

  const lab = (await import(new URL('../vm/lab.js', import.meta.url).href)) as LabModule;
  let vm = lab.attachLab();
  const booted = vm === undefined;
  if (vm === undefined) {
    const first: ClusterSpec = scenarios[0].cluster;
    vm = await lab.bootLab({ nodes: first.nodes, secondSubnet: first.secondSubnet, agentArgs: first.agentArgs, say });
  } else {
    say('lab: running the scenarios on the lab already up');
  }
  let exitCode: number | undefined;
  try {
    await vm.client.stream('POST', SCENARIO_RUN_PATH, { files: files.map((f) => resolve(f)) }, (obj) => {
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
