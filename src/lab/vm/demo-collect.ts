// What the demo gathers from a booted lab: scenario files run through the
// guest's runner (POST /v1/scenario/run, JSON lines), kubectl on the host
// (tables to show, JSON to check) and one shell script per node (its
// /healthz body, ipvsadm, gobgp, ip route). Nothing here judges: see
// demo-checks.ts.

import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { errorMessage } from '../../errors.js';
import { SCENARIO_RUN_PATH } from '../scenario/guest.js';
import type { GuestClient } from './client.js';
import type { KubectlObs, NodeObs, ScenarioRun } from './demo-checks.js';
import { parseSections } from './demo-parse.js';
import { DEMO_NAMESPACE, nodeScript } from './demo-plan.js';
import { checkoutRoot } from './paths.js';

/** Runs one scenario file in the guest; never throws (a failed run is `error`). */
export async function runScenarioFile(client: GuestClient, file: string): Promise<ScenarioRun> {
  const lines: Record<string, unknown>[] = [];
  let error: string | undefined;
  try {
    await client.stream('POST', SCENARIO_RUN_PATH, { files: [resolve(checkoutRoot(), file)] }, (obj) => {
      if (typeof obj !== 'object' || obj === null) return;
      const o = obj as Record<string, unknown>;
      if (typeof o.kind === 'string') lines.push(o);
      else if (typeof o.error === 'string') error = o.error;
    });
  } catch (err) {
    error = errorMessage(err);
  }
  return { lines, error };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string; error?: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      done({ stdout, stderr, error: err === null ? undefined : `${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}` });
    });
  });
}

/** `kubectl get WHAT` twice: as a table to show and as JSON to check. */
export async function kubectlGet(kubeconfig: string, what: string, namespaced: boolean): Promise<KubectlObs> {
  const base = ['--kubeconfig', kubeconfig, 'get', what, ...(namespaced ? ['-n', DEMO_NAMESPACE] : [])];
  const [table, json] = await Promise.all([run('kubectl', [...base, '-o', 'wide'], 30_000), run('kubectl', [...base, '-o', 'json'], 30_000)]);
  let parsed: unknown;
  let parseError: string | undefined;
  if (json.error === undefined) {
    try {
      parsed = JSON.parse(json.stdout) as unknown;
    } catch (e) {
      parseError = `kubectl -o json: ${errorMessage(e)}`;
    }
  }
  const error = json.error ?? parseError;
  return { json: parsed, table: table.error === undefined ? table.stdout : `${table.stdout}${table.error}`, error };
}

/** The per-node script (sections health, ipvs, gobgp, routes) in that node's namespace. */
export async function collectNode(client: GuestClient, node: string, ip: string): Promise<NodeObs> {
  try {
    const r = await client.exec(node, ['sh', '-c', nodeScript(ip)], { timeoutMs: 90_000 });
    return { node, sections: parseSections(`${r.stdout}${r.stderr}`) };
  } catch (err) {
    return { node, sections: {}, error: errorMessage(err) };
  }
}
