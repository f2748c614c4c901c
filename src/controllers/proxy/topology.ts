// Topology-aware routing, with kube-proxy's rules (pkg/proxy/topology.go
// CategorizeEndpoints / topologyModeFromHints, as read at kubernetes HEAD): the
// EndpointSlice controller writes `hints` on the endpoints of Services that
// ask for it (`trafficDistribution: PreferClose` / `PreferSameZone` /
// `PreferSameNode`, or the `service.kubernetes.io/topology-mode: Auto`
// annotation), and the proxy trusts the hints it finds:
//
// - every READY endpoint has a node hint and one is hinted for this node:
//   only the endpoints hinted for this node (PreferSameNode);
// - else every ready endpoint has a zone hint and one is hinted for this
//   node's `topology.kubernetes.io/zone`: only the endpoints hinted for that
//   zone (PreferSameZone);
// - else (a hint missing, no endpoint for this node/zone, node without a zone
//   label, no ready endpoint): every endpoint, no topology.
//
// Topology applies to Cluster traffic policy only: internalTrafficPolicy /
// externalTrafficPolicy Local choose this node's endpoints and ignore hints.
// The serving+terminating fallback (no ready endpoint at all) ignores
// topology, as in kube-proxy. kube-router v2.11 has no topology support
// (its issue #1005). Pure functions.

import type { EndpointInfo } from './endpoints.js';

export type TopologyMode = '' | 'PreferSameNode' | 'PreferSameZone';

/** Which topology filter applies to these endpoints of one service port and family on this node. */
export function topologyMode(all: readonly EndpointInfo[], nodeName: string, zone: string): TopologyMode {
  let hasReady = false;
  let allNodeHints = true;
  let forNode = false;
  let allZoneHints = true;
  let forZone = false;
  for (const e of all) {
    if (!e.ready) continue;
    hasReady = true;
    if (e.nodeHints.length === 0) allNodeHints = false;
    else if (nodeName !== '' && e.nodeHints.includes(nodeName)) forNode = true;
    if (e.zoneHints.length === 0) allZoneHints = false;
    else if (zone !== '' && e.zoneHints.includes(zone)) forZone = true;
  }
  if (!hasReady) return '';
  if (allNodeHints && forNode) return 'PreferSameNode';
  if (allZoneHints && forZone) return 'PreferSameZone';
  return '';
}

function available(e: EndpointInfo, mode: TopologyMode, nodeName: string, zone: string): boolean {
  if (mode === 'PreferSameNode') return e.nodeHints.includes(nodeName);
  if (mode === 'PreferSameZone') return e.zoneHints.includes(zone);
  return true;
}

/**
 * The endpoints Cluster-policy traffic goes to from this node: the ready
 * ones the topology mode allows; when no endpoint is ready anywhere, the
 * serving+terminating ones (topology ignored). Keeps the input order.
 */
export function clusterEndpoints(all: readonly EndpointInfo[], nodeName: string, zone: string): EndpointInfo[] {
  const mode = topologyMode(all, nodeName, zone);
  const ready = all.filter((e) => e.ready && available(e, mode, nodeName, zone));
  if (ready.length > 0) return ready;
  return all.filter((e) => e.serving && e.terminating);
}
