#!/usr/bin/env node
// kube-router-lab: the lab cluster (a real Debian kernel under qemu with
// network namespaces as nodes and pods) and its API server.
//   kube-router-lab apiserver --port P --kubeconfig-out FILE [--seed FILE.yaml]
//   kube-router-lab up | down | exec <node|ns/pod> -- CMD | run [--family ipv6] FILE.yaml... | demo

import { runApiServerCommand } from '../lab/apiserver/cli.js';
import { runVmCommand, VM_COMMANDS } from '../lab/vm/cli.js';

const USAGE = `usage: kube-router-lab <command> [options]

commands:
  apiserver --port P --kubeconfig-out FILE [--seed FILE.yaml]
                      run the lab API server alone on this host (no VM) until SIGTERM
  up [--nodes N] [--second-subnet] [--dual-stack]
                      boot the lab cluster and keep it running; prints a kubeconfig path
  exec <node|ns/pod> -- CMD...
                      run a command on a node or in a pod of the running lab
  run [--keep] [--family ipv4|ipv6] FILE.yaml...
                      run scenario files (one boot for all of them); --family ipv6
                      runs them in IPv6 on a dual-stack lab
  demo                boot a 3-node cluster with the agent on every node and show it working
  down                stop the running lab
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'apiserver') return runApiServerCommand(rest);
  if ((VM_COMMANDS as readonly string[]).includes(cmd)) return runVmCommand(cmd, rest);
  process.stderr.write(`kube-router-lab: unknown command "${cmd}"\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kube-router-lab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
