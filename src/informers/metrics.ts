// Prometheus metrics of the informers, registered on the registry the agent
// passes in. Registering twice on one registry (two caches in one test
// process) reuses the existing metric objects.

import { Counter, Gauge, type Registry } from 'prom-client';

export interface InformerMetrics {
  lists: Counter<'resource'>;
  relists: Counter<'resource'>;
  watchRestarts: Counter<'resource'>;
  watchErrors: Counter<'resource'>;
  gone: Counter<'resource'>;
  events: Counter<'resource' | 'type'>;
  objects: Gauge<'resource'>;
  badLines: Counter<'resource'>;
  malformedObjects: Counter<'resource'>;
  handlerErrors: Counter<'resource'>;
}

function counter<L extends string>(reg: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = reg.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [reg] });
}

function gauge<L extends string>(reg: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  const existing = reg.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge<L>({ name, help, labelNames, registers: [reg] });
}

export function createInformerMetrics(reg: Registry): InformerMetrics {
  const r: 'resource'[] = ['resource'];
  return {
    lists: counter(reg, 'kube_router_informer_lists_total', 'Complete paged LISTs (initial and relists)', r),
    relists: counter(reg, 'kube_router_informer_relists_total', 'LISTs after the first one (410 Gone, list failures)', r),
    watchRestarts: counter(reg, 'kube_router_informer_watch_restarts_total', 'WATCH requests opened again after the first one', r),
    watchErrors: counter(reg, 'kube_router_informer_watch_errors_total', 'Failed LIST/WATCH requests, broken streams, inactivity timeouts, ERROR events', r),
    gone: counter(reg, 'kube_router_informer_gone_total', '410 Gone answers (HTTP or ERROR event): the watch position was compacted away', r),
    events: counter(reg, 'kube_router_informer_events_total', 'Events delivered to handlers', ['resource', 'type']),
    objects: gauge(reg, 'kube_router_informer_objects', 'Objects in the cache', r),
    badLines: counter(reg, 'kube_router_informer_bad_lines_total', 'Watch stream lines that were not valid JSON watch events', r),
    malformedObjects: counter(reg, 'kube_router_informer_malformed_objects_total', 'Objects skipped at ingest because they were malformed', r),
    handlerErrors: counter(reg, 'kube_router_informer_handler_errors_total', 'Event handlers that threw', r),
  };
}
