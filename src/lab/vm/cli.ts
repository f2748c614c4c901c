// `kube-router-lab up|down|exec|run|demo` on the host.
//   up [--nodes N] [--second-subnet] [--dual-stack] [--agent-arg FLAG]... [--node-label NODE:KEY=VALUE]... [--no-agents] [--no-wait] [--memory MiB]
//   exec <node|ns/pod|root> -- CMD...
//   down
//   run [--keep] [--family ipv4|ipv6] FILE.yaml...   (scenario runner: src/lab/scenario/cli.ts; argv passed as is)
//   demo                 (src/lab/vm/demo.ts)

import { runScenarioCommand } from '../scenario/cli.js';
import { runDemo } from './demo.js';
import { attachLab, bootLab, stopLab } from './lab.js';
import { LabError } from './proc.js';
import { KubeRouterError } from '../../errors.js';

export const VM_COMMANDS = ['up', 'down', 'exec', 'run', 'demo'] as const;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface UpArgs {
  nodes: number;
  secondSubnet: boolean;
  dualStack: boolean;
  agentArgs: string[];
  startAgents: boolean;
  waitAgents: boolean;
  memoryMiB?: number;
  nodeLabels?: Record<string, Record<string, string>>;
}

/** NODE:KEY=VALUE, e.g. node1:topology.kubernetes.io/zone=a. */
function addNodeLabel(out: UpArgs, v: string): void {
  const m = /^([^:=]+):([^=]+)=(.*)$/.exec(v);
  if (m === null) throw new LabError('up', `--node-label wants NODE:KEY=VALUE (e.g. node1:topology.kubernetes.io/zone=a), got "${v}"`);
  out.nodeLabels ??= {};
  out.nodeLabels[m[1]] = { ...out.nodeLabels[m[1]], [m[2]]: m[3] };
}

function parseUp(argv: string[]): UpArgs {
  const out: UpArgs = { nodes: 3, secondSubnet: false, dualStack: false, agentArgs: [], startAgents: true, waitAgents: true, memoryMiB: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new LabError('up', `${flag} needs a value`);
      return v;
    };
    if (flag === '--nodes') {
      out.nodes = Number.parseInt(value(), 10);
      if (!Number.isInteger(out.nodes) || out.nodes < 1) throw new LabError('up', `--nodes must be a positive integer`);
    } else if (flag === '--second-subnet') out.secondSubnet = inline === undefined ? true : inline !== 'false';
    else if (flag === '--dual-stack') out.dualStack = inline === undefined ? true : inline !== 'false';
    else if (flag === '--agent-arg') out.agentArgs.push(value());
    else if (flag === '--node-label') addNodeLabel(out, value());
    else if (flag === '--no-agents') out.startAgents = false;
    else if (flag === '--no-wait') out.waitAgents = false;
    else if (flag === '--memory') out.memoryMiB = Number.parseInt(value(), 10);
    else throw new LabError('up', `unknown flag ${a}`);
  }
  return out;
}

async function up(argv: string[]): Promise<number> {
  const o = parseUp(argv);
  const vm = await bootLab({ ...o, say });
  const st = await vm.client.status();
  say(`lab: nodes ${st.nodes.map((n) => `${n.name}=${n.ip}`).join(' ')}`);
  for (const [k, v] of Object.entries(st.components)) say(`lab: ${k}: ${v}`);
  say(`lab: timings ${JSON.stringify(vm.timings)}`);
  say(`lab: logs in ${vm.logsDir}; console in ${vm.consoleLog}`);
  say(`lab: running in the background (qemu pid ${vm.state.pid}); stop it with: kube-router-lab down`);
  say(`lab: kubectl --kubeconfig ${vm.kubeconfigPath} get nodes`);
  process.stdout.write(`${vm.kubeconfigPath}\n`);
  return 0;
}

async function exec(argv: string[]): Promise<number> {
  const dd = argv.indexOf('--');
  const target = argv[0];
  const cmd = dd >= 0 ? argv.slice(dd + 1) : argv.slice(1);
  if (target === undefined || target === '--' || cmd.length === 0) {
    say('usage: kube-router-lab exec <node|ns/pod|root> -- CMD...');
    return 2;
  }
  const vm = attachLab();
  if (vm === undefined) {
    say('kube-router-lab exec: no lab is running (kube-router-lab up)');
    return 1;
  }
  return vm.client.execStream(target, cmd, (ev) => {
    if (ev.type === 'stdout') process.stdout.write(ev.data);
    else if (ev.type === 'stderr') process.stderr.write(ev.data);
  });
}

async function down(): Promise<number> {
  const found = await stopLab('default', say);
  say(found ? 'lab: stopped' : 'lab: nothing running');
  return 0;
}

/** `kube-router-lab run [--keep] [--family F] FILE.yaml...`: the scenario runner (src/lab/scenario/cli.ts) parses its flags, boots or reuses the lab. */
function runScenarios(argv: string[]): Promise<number> {
  return runScenarioCommand(argv);
}

export async function runVmCommand(cmd: string, argv: string[]): Promise<number> {
  try {
    return await dispatch(cmd, argv);
  } catch (e) {
    // A lab failure is reported by its message (phase, command, output tail), not a stack.
    if (e instanceof LabError || (e instanceof KubeRouterError && e.code === 'KR_ERR_LAB')) {
      say(`kube-router-lab ${cmd}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

async function dispatch(cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'up':
      return up(argv);
    case 'down':
      return down();
    case 'exec':
      return exec(argv);
    case 'run':
      return runScenarios(argv);
    case 'demo':
      return runDemo(argv, say);
    default:
      say(`kube-router-lab: unknown command ${cmd}`);
      return 2;
  }
}
