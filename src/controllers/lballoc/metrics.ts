// The allocator's metric families (prefix kube_router_lballoc_): whether this
// agent leads, addresses in use per family, allocations and status writes,
// and the Services it currently warns about. Created once per registry.

import { Counter, Gauge, Registry } from 'prom-client';

export interface LbAllocMetrics {
  leader: Gauge<string>;
  addressesInUse: Gauge<'family'>;
  allocations: Counter<string>;
  statusWrites: Counter<'result'>;
  warnings: Gauge<string>;
}

const byRegistry = new WeakMap<Registry, LbAllocMetrics>();

export function lballocMetrics(registry: Registry): LbAllocMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: LbAllocMetrics = {
    leader: new Gauge({ name: 'kube_router_lballoc_leader', help: '1 while this agent holds the load balancer allocator Lease', registers }),
    addressesInUse: new Gauge({ name: 'kube_router_lballoc_addresses_in_use', help: 'Addresses of --loadbalancer-ip-range in use (seen by the leader)', labelNames: ['family'], registers }),
    allocations: new Counter({ name: 'kube_router_lballoc_allocations_total', help: 'Ingress addresses this agent handed out', registers }),
    statusWrites: new Counter({ name: 'kube_router_lballoc_status_writes_total', help: 'Service status writes, by result (ok, conflict, error)', labelNames: ['result'], registers }),
    warnings: new Gauge({ name: 'kube_router_lballoc_warnings', help: 'Allocation warnings in the last sync (exhausted range, requested IP outside the range, ...)', registers }),
  };
  byRegistry.set(registry, m);
  return m;
}
