// What the guest supervisor holds, handed to the components that plug into
// it (routes of the scenario runner, the kubelets, the controller-manager).

import type { LabApiServer } from '../apiserver/types.js';
import type { Kubelet } from '../cluster/kubelet/index.js';
import type { ControllerManager } from '../cluster/controller-manager/index.js';
import type { Topology } from '../topology/topology.js';
import type { AgentManager } from './agents.js';
import type { GuestConfig } from './config.js';
import type { ControlServer } from './control.js';

export type Phase = 'starting' | 'apiserver' | 'topology' | 'controller-manager' | 'kubelets' | 'agents' | 'ready' | 'failed' | 'stopping';

/** Runs one start-up phase, timing it into timings[`${phase}Ms`]. */
export type PhaseRunner = <T>(name: Phase, fn: () => Promise<T>) => Promise<T>;

/** Something the supervisor stops on shutdown. */
export interface Stoppable {
  stop(): Promise<void>;
}

export interface SupervisorEvent {
  at: string;
  type: 'phase' | 'agent-exit' | 'log';
  [k: string]: unknown;
}

export interface GuestContext {
  config: GuestConfig;
  control: ControlServer;
  api: LabApiServer;
  topology: Topology;
  agents: AgentManager;
  /** Set once the controller-manager phase ran (undefined if it could not load). */
  cm?: ControllerManager;
  /** One per node (set once the kubelets phase ran). */
  kubelets: Kubelet[];
  /** Started components, by name ('controller-manager', 'kubelet/node1', ...). */
  components: Map<string, Stoppable>;
  /** Milliseconds per phase and other measurements, reported by /v1/status. */
  timings: Record<string, number>;
  log(msg: string): void;
  /** Publishes an event to /v1/events subscribers. */
  emit(ev: Omit<SupervisorEvent, 'at'>): void;
}
