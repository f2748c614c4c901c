// What the guest LabCluster (lab-cluster.ts) needs of the supervisor's
// GuestContext, as structural types, so that unit tests can hand it fakes and
// so that this side does not break when the context grows. The real
// GuestContext satisfies LabClusterHost (the `kubelets` array and the agent
// manager may be missing when those components failed to load).

import { existsSync } from 'node:fs';
import type { LabKind, ObjectStore } from '../apiserver/types.js';
import type { Kubelet } from '../cluster/kubelet/index.js';
import type { ExecTarget, LabNode, LabPeer, LabRouter } from '../topology/types.js';
import type { AgentStatus } from './agents.js';
import { KubeRouterError } from '../../errors.js';

export interface HostApi {
  readonly store: ObjectStore;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface HostTopology {
  readonly nodes: readonly Pick<LabNode, 'name' | 'ip' | 'ip6'>[];
  readonly router?: Pick<LabRouter, 'name' | 'ips' | 'ips6'>;
  /** The external BGP peer namespace while one is up. */
  readonly peer?: Pick<LabPeer, 'name' | 'ip' | 'ip6' | 'asn'>;
  argvFor(target: ExecTarget, argv: readonly string[]): string[];
  /** Adds / removes the peer namespace (a topology without them has no external peer). */
  addPeer?(): Promise<Pick<LabPeer, 'name' | 'ip' | 'ip6' | 'asn'>>;
  removePeer?(): Promise<void>;
}

export interface HostAgents {
  available(): boolean;
  start(node: string, extra?: string[], wait?: 'running' | 'exit'): Promise<number | null>;
  stop(node: string, signal?: 'TERM' | 'KILL', timeoutMs?: number): Promise<{ code: number | null; signal: string | null } | undefined>;
  restart(node: string, signal?: 'TERM' | 'KILL'): Promise<void>;
  statusOf(node: string): AgentStatus;
  setBaseArgs(args: string[]): void;
}

export type HostKubelet = Pick<Kubelet, 'nodeName' | 'owns' | 'probeFrom' | 'hold' | 'idle' | 'locate'>;

export interface LabClusterHost {
  config: { nodes: number; secondSubnet: boolean; agentArgs: string[]; startAgents?: boolean };
  api?: HostApi;
  topology?: HostTopology;
  agents?: HostAgents;
  kubelets?: HostKubelet[];
  /** The controller-manager: idle() resolves when its queues are empty (EndpointSlices written). */
  cm?: { idle(): Promise<void> };
  log?(msg: string): void;
}

/** The six kinds the agent watches (Event and Lease are the lab's own). */
export const AGENT_KINDS: readonly LabKind[] = ['Service', 'EndpointSlice', 'Node', 'Pod', 'Namespace', 'NetworkPolicy'];

export function labError(message: string, context: Record<string, unknown> = {}, cause?: unknown): KubeRouterError {
  return new KubeRouterError('KR_ERR_LAB', message, context, cause === undefined ? undefined : { cause });
}

export function needApi(host: LabClusterHost, what: string): HostApi {
  if (host.api === undefined) throw labError(`${what}: the lab API server is not running in the guest`);
  return host.api;
}

export function needTopology(host: LabClusterHost, what: string): HostTopology {
  if (host.topology === undefined) throw labError(`${what}: the node topology is not up`);
  return host.topology;
}

export function needAgents(host: LabClusterHost, what: string): HostAgents {
  if (host.agents === undefined) throw labError(`${what}: the agent manager is not set up (no API server?)`);
  return host.agents;
}

export function kubeletsOf(host: LabClusterHost): HostKubelet[] {
  return host.kubelets ?? [];
}

export function defaultNetnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
