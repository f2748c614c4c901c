// The contract the three controllers (proxy, routing, firewall) implement.
// The agent (src/cmd/agent.ts) creates the enabled ones according to the
// --run-* flags, starts the shared cache with the union of their `kinds`,
// waits for the initial lists, then calls start(). Each controller owns a
// bounded-frequency runner (src/runner/) that calls its sync; the runner hands
// the sync a RunContext whose progress() keeps a long sync alive for /healthz,
// and records the cache resourceVersion each successful sync saw.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SharedCache } from '../informers/cache.js';
import type { ResourceKind } from '../informers/types.js';
import type { AgentOptions } from '../cmd/options/types.js';

export type ControllerName = 'proxy' | 'routing' | 'firewall' | 'lballoc';

export interface ControllerDeps {
  cache: SharedCache;
  options: AgentOptions;
  nodeName: string;
  logger: Logger;
  metrics: Registry;
}

export interface ControllerHealth {
  name: ControllerName;
  /** Wall-clock ms of the last successful sync, or undefined before the first. */
  lastSyncAt?: number;
  /**
   * The cache resourceVersion up to which the applied state is current: the
   * one the last successful sync saw, or the cache's current one while the
   * controller is idle after a success (see BoundedFrequencyRunner.appliedResourceVersion).
   */
  lastSyncResourceVersion?: string;
  /** Period within which a successful sync is expected (its max resync period plus slack). */
  periodMs: number;
  /** Set while a sync runs: when it started and when it last reported progress. */
  syncingSince?: number;
  lastProgressAt?: number;
  /**
   * How long a running sync may go without reporting progress (since it
   * started or its last progress) and still count as alive once lastSyncAt is
   * older than periodMs. Default: periodMs.
   */
  progressTimeoutMs?: number;
  /** Message of the last failed sync; cleared by a success. */
  lastError?: string;
}

export interface Controller {
  readonly name: ControllerName;
  /** Resources this controller needs watched. */
  readonly kinds: readonly ResourceKind[];
  /**
   * Subscribe to events and start the sync runner. Called after the cache has
   * synced. Event handlers must be cheap and call runner.run() synchronously
   * when the change matters (health reporting relies on it).
   */
  start(): Promise<void>;
  /** Run one full sync now (the runner calls this; tests may too). */
  sync(): Promise<void>;
  /** Stop the runner without touching kernel state (traffic keeps flowing). */
  stop(): Promise<void>;
  /** Remove every kernel object this controller owns (--cleanup-config). */
  cleanup(): Promise<void>;
  health(): ControllerHealth;
}

export type ControllerFactory = (deps: ControllerDeps) => Controller;

/** The --run-* flag that enables each controller. */
export const CONTROLLER_FLAGS: Readonly<Record<ControllerName, string>> = {
  routing: '--run-router',
  proxy: '--run-service-proxy',
  firewall: '--run-firewall',
  lballoc: '--run-loadbalancer',
};

/** Start order, as kube-router's: routing, then proxy, then firewall, then the LoadBalancer allocator. */
export const CONTROLLER_ORDER: readonly ControllerName[] = ['routing', 'proxy', 'firewall', 'lballoc'];

/**
 * A controller's health() built from its runner's (see
 * BoundedFrequencyRunner.health()): `health() { return controllerHealth(this.name, this.runner.health()) }`.
 */
export function controllerHealth(name: ControllerName, fields: Omit<ControllerHealth, 'name'>): ControllerHealth {
  return { name, ...fields };
}
