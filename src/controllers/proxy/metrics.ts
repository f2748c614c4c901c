// The proxy controller's Prometheus metrics, with kube-router's names
// (docs/metrics.md): sync time, service count, the per-service IPVS stats
// (kube_router_service_*, read from the kernel at scrape time, labelled
// svc_namespace, service_name, service_vip, protocol, port) and the time
// that export took; plus our kernel mutation and error counters.
// Registering twice on one registry reuses them.

import { Counter, Gauge, Histogram, Summary, type Registry } from 'prom-client';
import type { IpvsStats } from '../../kernel/ipvs/types.js';

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

/** One virtual service's stats with the Service it belongs to. */
export interface ServiceStatsSample {
  namespace: string;
  name: string;
  vip: string;
  /** Lower case, as kube-router labels it (`tcp`, `udp`, `sctp`). */
  protocol: string;
  port: number;
  stats: IpvsStats;
}

const SERVICE_LABELS = ['svc_namespace', 'service_name', 'service_vip', 'protocol', 'port'] as const;
type ServiceLabel = (typeof SERVICE_LABELS)[number];

/** kube-router's per-service gauges: metric name suffix, help, the stat it shows. */
const SERVICE_GAUGES: readonly (readonly [string, string, keyof IpvsStats])[] = [
  ['service_total_connections', 'Total incoming connections made', 'conns'],
  ['service_packets_in', 'Total incoming packets', 'inPkts'],
  ['service_packets_out', 'Total outgoing packets', 'outPkts'],
  ['service_bytes_in', 'Total incoming bytes', 'inBytes'],
  ['service_bytes_out', 'Total outgoing bytes', 'outBytes'],
  ['service_pps_in', 'Incoming packets per second', 'inPps'],
  ['service_pps_out', 'Outgoing packets per second', 'outPps'],
  ['service_cps', 'Service connections per second', 'cps'],
  ['service_bps_in', 'Service ingress bits per second', 'inBps'],
  ['service_bps_out', 'Service egress bits per second', 'outBps'],
];

/** How long one kernel read serves the gauges of one scrape. */
const SCRAPE_REUSE_MS = 500;

/**
 * Registers the kube_router_service_* gauges; each scrape reads the stats
 * once through `source` (the first gauge collected reads, the others reuse
 * it) and replaces every series, so a deleted service's series disappear.
 */
export function registerServiceStats(reg: Registry, source: () => Promise<ServiceStatsSample[]>): void {
  const registers = [reg];
  let exportTime: Summary | undefined;
  let last: { at: number; samples: Promise<ServiceStatsSample[]> } | undefined;
  const read = (): Promise<ServiceStatsSample[]> => {
    const now = Date.now();
    if (last && now - last.at < SCRAPE_REUSE_MS) return last.samples;
    const samples = source()
      .catch(() => [] as ServiceStatsSample[])
      .then((s) => {
        exportTime?.observe((Date.now() - now) / 1000);
        return s;
      });
    last = { at: now, samples };
    return samples;
  };
  for (const [suffix, help, stat] of SERVICE_GAUGES) {
    const name = `kube_router_${suffix}`;
    if (reg.getSingleMetric(name)) continue;
    new Gauge<ServiceLabel>({
      name,
      help,
      labelNames: SERVICE_LABELS,
      registers,
      async collect() {
        const samples = await read();
        this.reset();
        for (const s of samples) {
          this.set({ svc_namespace: s.namespace, service_name: s.name, service_vip: s.vip, protocol: s.protocol, port: String(s.port) }, s.stats[stat]);
        }
      },
    });
  }
  exportTime = get(reg, 'kube_router_controller_ipvs_metrics_export_time', () =>
    new Summary({
      name: 'kube_router_controller_ipvs_metrics_export_time',
      help: 'Time it took to export metrics (s)',
      registers,
      // A registry collects its metrics concurrently: wait for this scrape's read.
      async collect() {
        await read();
      },
    }));
}
