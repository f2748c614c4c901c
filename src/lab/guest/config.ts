// What the host tells the guest supervisor: written by the host as
// <run>/shared/config.json (mode 0600), read by the guest through the
// read-write 9p share mounted at the same path.

import { readFileSync } from 'node:fs';
import { LabError } from '../vm/proc.js';

export interface GuestConfig {
  /** Bearer token of the control API. */
  token: string;
  /** The checkout (dist/ is run from there). */
  checkout: string;
  /** Directory for logs, visible on the host (<run>/shared/logs). */
  logsDir: string;
  /** node binary. */
  nodeBinary: string;
  nodes: number;
  secondSubnet: boolean;
  /** IPv6 next to IPv4 on the underlay, pod CIDRs and Service CIDRs. */
  dualStack?: boolean;
  /** Extra flags for every agent. */
  agentArgs: string[];
  /** Start one agent per node once the cluster is up (default true). */
  startAgents: boolean;
  /** Guest ports: control API and lab API server. */
  controlPort: number;
  apiPort: number;
  /** The host port forwarded to apiPort (for the host kubeconfig). */
  hostApiPort: number;
  /** Extra labels per node name (e.g. topology.kubernetes.io/zone), set on the Node objects. */
  nodeLabels?: Record<string, Record<string, string>>;
}

export function readGuestConfig(path: string): GuestConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new LabError('guest-config', `cannot read ${path}: ${(e as Error).message}`, {}, { cause: e });
  }
  const c = raw as Partial<GuestConfig>;
  if (typeof c.token !== 'string' || typeof c.checkout !== 'string' || typeof c.nodes !== 'number') {
    throw new LabError('guest-config', `${path}: token, checkout and nodes are required`);
  }
  return {
    token: c.token,
    checkout: c.checkout,
    logsDir: c.logsDir ?? '/tmp',
    nodeBinary: c.nodeBinary ?? process.execPath,
    nodes: c.nodes,
    secondSubnet: c.secondSubnet ?? false,
    ...(c.dualStack === true ? { dualStack: true } : {}),
    agentArgs: c.agentArgs ?? [],
    startAgents: c.startAgents ?? true,
    controlPort: c.controlPort ?? 7070,
    apiPort: c.apiPort ?? 6443,
    hostApiPort: c.hostApiPort ?? 0,
    ...(c.nodeLabels !== undefined ? { nodeLabels: c.nodeLabels } : {}),
  };
}
