// The proxy controller's Prometheus metrics, with kube-router's names
// (docs/metrics.md): sync time and service count, plus our kernel mutation
// counters. Registering twice on one registry reuses them.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ProxyMetrics {
  syncTime: Histogram;
  services: Gauge;
  mutations: Counter<'kind'>;
  errors: Counter;
}

function get<T>(reg: Registry, name: string, make: () => T): T {
  const existing = reg.getSingleMetric(name);
  return existing ? (existing as unknown as T) : make();
}

export function createProxyMetrics(reg: Registry): ProxyMetrics {
  const registers = [reg];
  return {
    syncTime: get(reg, 'kube_router_controller_ipvs_services_sync_time', () =>
      new Histogram({ name: 'kube_router_controller_ipvs_services_sync_time', help: 'Time it took for controller to sync ipvs services (s)', registers })),
    services: get(reg, 'kube_router_controller_ipvs_services', () =>
      new Gauge({ name: 'kube_router_controller_ipvs_services', help: 'Number of ipvs services in the instance', registers })),
    mutations: get(reg, 'kube_router_controller_proxy_kernel_mutations_total', () =>
      new Counter({ name: 'kube_router_controller_proxy_kernel_mutations_total', help: 'Kernel mutations made by the service proxy, by kind', labelNames: ['kind'], registers })),
    errors: get(reg, 'kube_router_controller_proxy_sync_errors_total', () =>
      new Counter({ name: 'kube_router_controller_proxy_sync_errors_total', help: 'Failed kernel operations of the service proxy', registers })),
  };
}
