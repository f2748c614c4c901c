// Per-controller sync metrics, shared by every runner registered on the same
// prom-client Registry (one metric family, one `controller` label value per
// runner). Names follow kube-proxy's sync_proxy_rules_* family.

import { Counter, Gauge, Histogram, Registry, exponentialBuckets } from 'prom-client';

export type SyncResult = 'success' | 'error';

export interface RunnerMetrics {
  duration: Histogram<'controller'>;
  errors: Counter<'controller'>;
  total: Counter<'controller' | 'result'>;
  pending: Gauge<'controller'>;
  lastQueued: Gauge<'controller'>;
  lastSuccess: Gauge<'controller'>;
}

export const SYNC_DURATION_METRIC = 'kube_router_controller_sync_duration_seconds';

/** 1 ms doubling 15 times (up to ~16 s), as kube-proxy's sync histograms. */
export const SYNC_DURATION_BUCKETS: readonly number[] = exponentialBuckets(0.001, 2, 15);

const byRegistry = new WeakMap<Registry, RunnerMetrics>();

/** The runner metric families of one registry, created on first use. */
export function runnerMetrics(registry: Registry): RunnerMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: RunnerMetrics = {
    duration: new Histogram({
      name: SYNC_DURATION_METRIC,
      help: 'Duration of one controller sync (successful or not), in seconds',
      labelNames: ['controller'] as const,
      buckets: [...SYNC_DURATION_BUCKETS],
      registers,
    }),
    errors: new Counter({
      name: 'kube_router_controller_sync_errors_total',
      help: 'Controller syncs that failed',
      labelNames: ['controller'] as const,
      registers,
    }),
    total: new Counter({
      name: 'kube_router_controller_sync_total',
      help: 'Controller syncs run, by result',
      labelNames: ['controller', 'result'] as const,
      registers,
    }),
    pending: new Gauge({
      name: 'kube_router_controller_sync_pending',
      help: '1 while a sync has been requested and has not started yet',
      labelNames: ['controller'] as const,
      registers,
    }),
    lastQueued: new Gauge({
      name: 'kube_router_controller_sync_last_queued_timestamp_seconds',
      help: 'When a sync was last requested (Unix time, seconds)',
      labelNames: ['controller'] as const,
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'kube_router_controller_sync_last_success_timestamp_seconds',
      help: 'When the last successful sync ended (Unix time, seconds)',
      labelNames: ['controller'] as const,
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
