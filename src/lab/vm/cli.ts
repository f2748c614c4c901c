// `kube-router-lab up|down|exec|run|demo`: placeholder until the VM lab lands.
export const VM_COMMANDS = ['up', 'down', 'exec', 'run', 'demo'] as const;
export async function runVmCommand(cmd: string, _argv: string[]): Promise<number> {
  process.stderr.write(`kube-router-lab ${cmd}: not built yet\n`);
  return 1;
}
