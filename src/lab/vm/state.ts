// The state file of a booted lab (<run>/state.json): what `exec` and `down`
// need to find it again.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export interface LabState {
  id: string;
  pid: number;
  runDir: string;
  shared: string;
  token: string;
  ports: { api: number; control: number };
  kernel: string;
  nodes: number;
  secondSubnet: boolean;
  dualStack?: boolean;
  kubeconfig: string;
  startedAt: string;
}

export function readState(path: string): LabState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function writeState(path: string, s: LabState): void {
  writeFileSync(path, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
}
