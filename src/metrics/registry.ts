// The agent's Prometheus registry: one per agent (tests create fresh ones),
// holding the default process_*/nodejs_* metrics (collected at scrape time)
// and kube_router_build_info. Controllers, runners and the informers register
// their own metrics on it.

import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface AgentRegistryOptions {
  /** Reported in kube_router_build_info{version} (the agent passes package.json's); default 'unknown'. */
  version?: string;
  /** Skip collectDefaultMetrics (it installs GC/event-loop observers). */
  defaultMetrics?: boolean;
}

export const BUILD_INFO_METRIC = 'kube_router_build_info';

export function createAgentRegistry(opts: AgentRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: BUILD_INFO_METRIC,
    help: 'A metric with a constant 1 value labeled by the version of kube-router-ts and of Node.js it runs on',
    labelNames: ['version', 'nodeversion'] as const,
    registers: [registry],
  });
  buildInfo.set({ version: opts.version ?? 'unknown', nodeversion: process.version }, 1);
  return registry;
}
