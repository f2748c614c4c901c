// The routing controller's Prometheus metrics, with kube-router's names
// (docs/metrics.md): peer states, advertisements, host routes. Registering
// twice on one registry (two controllers in one test process) reuses them.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PeerStatus } from '../../bgp/types.js';

export interface RoutingMetrics {
  peerInfo: Gauge<'address' | 'type' | 'asn' | 'state'>;
  advertisementsReceived: Counter;
  advertisementsSent: Counter<'type'>;
  routesSynced: Gauge;
  routesAdded: Counter;
  routesRemoved: Counter;
  hostRoutesSyncTime: Histogram;
  controllerRoutesSyncTime: Histogram;
}

function get<T>(reg: Registry, name: string, make: () => T): T {
  const existing = reg.getSingleMetric(name);
  return existing ? (existing as unknown as T) : make();
}

export function createRoutingMetrics(reg: Registry): RoutingMetrics {
  const registers = [reg];
  return {
    peerInfo: get(reg, 'kube_router_bgp_peer_info', () =>
      new Gauge({ name: 'kube_router_bgp_peer_info', help: 'BGP peer information (1 = the session is in this state)', labelNames: ['address', 'type', 'asn', 'state'], registers })),
    advertisementsReceived: get(reg, 'kube_router_controller_bgp_advertisements_received', () =>
      new Counter({ name: 'kube_router_controller_bgp_advertisements_received', help: 'BGP best-path updates received from gobgpd', registers })),
    advertisementsSent: get(reg, 'kube_router_controller_bgp_advertisements_sent', () =>
      new Counter({ name: 'kube_router_controller_bgp_advertisements_sent', help: 'Paths added to or withdrawn from gobgpd', labelNames: ['type'], registers })),
    routesSynced: get(reg, 'kube_router_host_routes_synced', () =>
      new Gauge({ name: 'kube_router_host_routes_synced', help: 'Routes to other nodes\' pod CIDRs in the kernel', registers })),
    routesAdded: get(reg, 'kube_router_host_routes_added', () =>
      new Counter({ name: 'kube_router_host_routes_added', help: 'Routes added to the kernel', registers })),
    routesRemoved: get(reg, 'kube_router_host_routes_removed', () =>
      new Counter({ name: 'kube_router_host_routes_removed', help: 'Routes removed from the kernel', registers })),
    hostRoutesSyncTime: get(reg, 'kube_router_host_routes_sync_time', () =>
      new Histogram({ name: 'kube_router_host_routes_sync_time', help: 'Time of a kernel route sync (s)', registers })),
    controllerRoutesSyncTime: get(reg, 'kube_router_controller_routes_sync_time', () =>
      new Histogram({ name: 'kube_router_controller_routes_sync_time', help: 'Time of a routing controller sync (s)', registers })),
  };
}

/** Sets the peer gauge to exactly the given peers (one series per peer, in its current state). */
export function recordPeers(m: RoutingMetrics, peers: readonly PeerStatus[], internalAsn: number): void {
  m.peerInfo.reset();
  for (const p of peers) {
    const asn = p.spec.peerAsn;
    m.peerInfo.set({ address: p.spec.neighborAddress, type: asn === internalAsn ? 'internal' : 'external', asn: String(asn), state: p.sessionState }, 1);
  }
}
