// The operator tools' own flags (`-o json`, `-f FILE`, `--from`, ...), taken
// out of argv before the rest goes through the agent's flag parser, so every
// agent flag (--kubeconfig, --hostname-override, the --run-* and range flags)
// means what it means to the agent.

import { FlagError } from '../../errors.js';

export type ToolName = 'dump' | 'plan' | 'explain';
export const TOOL_NAMES: readonly ToolName[] = ['dump', 'plan', 'explain'];

export interface ToolOptions {
  output: 'text' | 'json';
  /** -f: a manifests file (Nodes, Services, EndpointSlices, Pods, Namespaces, NetworkPolicies) instead of the API server. */
  filename?: string;
  /** explain: `ns/pod` or an IP. */
  from?: string;
  to?: string;
  port?: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** plan: the node's local addresses (default: its Node addresses). */
  localIps?: string[];
  /** plan: the node's connected subnets (default: each node IP with /24, /64 for IPv6). */
  connectedSubnets?: string[];
}

interface ToolFlag {
  long: string;
  short?: string;
  tools: readonly ToolName[];
  set(o: ToolOptions, v: string): void;
}

const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter((x) => x !== '');

const FLAGS: readonly ToolFlag[] = [
  {
    long: 'output',
    short: 'o',
    tools: TOOL_NAMES,
    set(o, v) {
      if (v !== 'text' && v !== 'json') throw new FlagError('--output', v, 'text or json');
      o.output = v;
    },
  },
  { long: 'filename', short: 'f', tools: ['plan', 'explain'], set: (o, v) => void (o.filename = v) },
  { long: 'from', tools: ['explain'], set: (o, v) => void (o.from = v) },
  { long: 'to', tools: ['explain'], set: (o, v) => void (o.to = v) },
  {
    long: 'port',
    tools: ['explain'],
    set(o, v) {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new FlagError('--port', v, 'a port number (1-65535)');
      o.port = n;
    },
  },
  {
    long: 'protocol',
    tools: ['explain'],
    set(o, v) {
      const p = v.toUpperCase();
      if (p !== 'TCP' && p !== 'UDP' && p !== 'SCTP') throw new FlagError('--protocol', v, 'TCP, UDP or SCTP');
      o.protocol = p;
    },
  },
  { long: 'local-ips', tools: ['plan'], set: (o, v) => void (o.localIps = list(v)) },
  { long: 'connected-subnets', tools: ['plan'], set: (o, v) => void (o.connectedSubnets = list(v)) },
];

/** The tool's own options and the argv left for the agent's flag parser. */
export function splitToolArgs(tool: ToolName, argv: readonly string[]): { tool: ToolOptions; agentArgv: string[] } {
  const o: ToolOptions = { output: 'text', protocol: 'TCP' };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^(--?)([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(arg);
    const flag = m ? FLAGS.find((f) => (m[1] === '--' ? f.long === m[2] : f.short !== undefined && f.short === m[2])) : undefined;
    if (!m || !flag) {
      rest.push(arg);
      continue;
    }
    const shown = `${m[1]}${m[2]}`;
    if (!flag.tools.includes(tool)) throw new FlagError(shown, m[3] ?? '', `a flag of ${flag.tools.join('/')} (not of ${tool})`);
    let value = m[3];
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(shown, '', `a value (${shown} VALUE)`);
      value = argv[++i];
    }
    flag.set(o, value);
  }
  return { tool: o, agentArgv: rest };
}

/** The Commands section of --help. */
export function toolsUsage(program = 'kube-router'): string {
  return [
    '',
    'Commands (operator tools; they take the agent flags above too):',
    `  ${program} dump [-o json]                        on a node: per controller, the desired state and the kernel's`,
    '                                                   actual state side by side, differences marked (changes the',
    '                                                   reconciler would make); exit 0 in sync, 3 out of sync',
    `  ${program} plan [-f FILE] [-o json]              the IPVS services, addresses, ipsets, iptables rules and routes`,
    '                                                   the agent would program for --hostname-override, from the API',
    '                                                   server or a manifests file; touches no kernel state',
    '      --local-ips IPS, --connected-subnets CIDRS   what plan assumes of the node (default: its Node addresses, /24)',
    `  ${program} explain --from NS/POD --to NS/POD --port N [--protocol TCP] [-f FILE] [-o json]`,
    '                                                   the NetworkPolicies and rules that allow or deny that flow',
    '',
  ].join('\n');
}
