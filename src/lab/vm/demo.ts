// `kube-router-lab demo` (the README's first command, ./scripts/demo): boots
// a 3-node lab with the agent on every node and its default controllers
// (routing, proxy, firewall), deploys a Deployment-like set of web pods (one
// per node), a client pod and two Services (test/lab/demo/deploy.yaml), shows
// the cluster, IPVS, gobgp and the routes on each node, applies a deny-all
// NetworkPolicy (test/lab/demo/policy.yaml), and checks each thing: PASS,
// FAIL, or NOT BUILT YET when it depends on a controller the agent's /healthz
// lists as not running. It always tears down (errors and Ctrl-C too); exit
// status 0 only if nothing failed.
//
// Progress goes to stderr (`lab: ...`, `demo: ...`), the report to stdout.

import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../errors.js';
import { parseScenarioFile } from '../scenario/parse.js';
import { evaluateDemo, healthOf, type DemoObservations, type ScenarioRun } from './demo-checks.js';
import { collectNode, kubectlGet, runScenarioFile } from './demo-collect.js';
import { DEMO_NODES, DEPLOY_FILE, POLICY_FILE } from './demo-plan.js';
import { exitCodeOf, renderReport, summaryLine, tally } from './demo-report.js';
import { attachLab, bootLab, type LabVm } from './lab.js';
import { checkoutRoot } from './paths.js';

const DEMO_LAB_ID = 'demo';

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function print(lines: string | string[]): void {
  process.stdout.write(`${(Array.isArray(lines) ? lines : [lines]).join('\n')}\n`);
}

/** Stops the VM on SIGINT/SIGTERM while the demo runs after boot (bootLab covers the boot itself). */
function stopOnSignal(vm: LabVm, say: (l: string) => void): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`demo: ${sig}; tearing down`);
    void vm.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function collect(vm: LabVm, deploy: ScenarioRun, say: (l: string) => void): Promise<DemoObservations> {
  say('demo: collecting kubectl output and each node\'s /healthz, ipvsadm, gobgp and routes');
  const st = await vm.client.status();
  const k = vm.kubeconfigPath;
  const [nodes, pods, services, slices, ...perNode] = await Promise.all([
    kubectlGet(k, 'nodes', false),
    kubectlGet(k, 'pods', true),
    kubectlGet(k, 'services', true),
    kubectlGet(k, 'endpointslices', true),
    ...DEMO_NODES.map((n) => collectNode(vm.client, n, st.nodes.find((x) => x.name === n)?.ip ?? n)),
  ]);
  return { nodes, pods, services, slices, perNode, deploy };
}

export async function runDemo(argv: string[], say: (l: string) => void): Promise<number> {
  if (argv.length > 0) {
    say(`usage: kube-router-lab demo (no options; got ${argv.join(' ')})`);
    return 2;
  }
  // A malformed scenario file costs no boot.
  for (const f of [DEPLOY_FILE, POLICY_FILE]) parseScenarioFile(resolve(checkoutRoot(), f));
  if (attachLab() !== undefined) {
    say('demo: a lab is already running (kube-router-lab up); stop it first with `kube-router-lab down`');
    return 1;
  }
  const t0 = performance.now();
  const vm = await bootLab({ id: DEMO_LAB_ID, nodes: 3, say, waitAgents: true });
  const bootMs = performance.now() - t0;
  const unhook = stopOnSignal(vm, say);
  const phases: string[] = [`boot to ready ${secs(vm.timings.bootToReadyMs ?? bootMs)}`];
  if (vm.timings.agentsHealthyMs !== undefined) phases.push(`agents healthy ${secs(vm.timings.agentsHealthyMs)} after start`);
  let failedEarly: string | undefined;
  let checksDone = false;
  let code: number = 1;
  let tallyLine = '';
  try {
    print([
      'kube-router-ts demo: a 3-node Kubernetes cluster in a VM (a real Debian kernel under qemu),',
      'the agent on every node with its defaults (routing, service proxy, firewall),',
      `3 web pods (demo/web-1..3, one per node), a client pod, Services demo/web (ClusterIP) and demo/web-np (NodePort)`,
      `(the tables below come from the host's kubectl, --kubeconfig ${vm.kubeconfigPath})`,
    ]);
    let t = performance.now();
    say('demo: deploying web pods, client and Services, then probing');
    const deploy = await runScenarioFile(vm.client, DEPLOY_FILE);
    phases.push(`deploy and probes ${secs(performance.now() - t)}`);
    t = performance.now();
    const obs = await collect(vm, deploy, say);
    phases.push(`collect ${secs(performance.now() - t)}`);
    if (deploy.lines.some((l) => l.kind === 'apply' && l.ok === true)) {
      t = performance.now();
      say('demo: applying NetworkPolicy web-deny-ingress, probing, deleting it, probing');
      obs.policy = await runScenarioFile(vm.client, POLICY_FILE);
      phases.push(`network policy ${secs(performance.now() - t)}`);
    }
    const checks = evaluateDemo(obs);
    const report = renderReport(checks, healthOf(obs));
    print(report.slice(0, -1)); // the summary line comes last, after teardown
    const counts = tally(checks);
    tallyLine = summaryLine(counts);
    code = exitCodeOf(counts);
    checksDone = true;
  } catch (err) {
    failedEarly = errorMessage(err);
  } finally {
    unhook();
    const t = performance.now();
    await vm.stop().catch((e: unknown) => say(`demo: teardown: ${errorMessage(e)}`));
    phases.push(`teardown ${secs(performance.now() - t)}`);
  }
  print(`timings: ${phases.join(', ')}; total ${secs(performance.now() - t0)}`);
  if (!checksDone) {
    print(`FAIL  the demo could not finish: ${failedEarly ?? 'unknown error'}`);
    print('demo: 0 passed, 1 failed, 0 not built yet');
    return 1;
  }
  print(tallyLine);
  return code;
}
