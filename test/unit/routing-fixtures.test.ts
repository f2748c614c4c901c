// Shared builders for the routing tests (no tests here).
import type { AgentOptions } from '../../src/cmd/options/types.js';
import { defaultOptions } from '../../src/cmd/options/index.js';
import type { RoutingFlags, RoutingInput } from '../../src/controllers/routing/compile.js';
import type { EndpointSlice, Node, Service } from '../../src/informers/types.js';

export function node(name: string, ip: string | undefined, podCIDR?: string, annotations: Record<string, string> = {}): Node {
  const n: Node = { metadata: { name, annotations }, spec: {} };
  if (podCIDR !== undefined) n.spec.podCIDR = podCIDR;
  if (ip !== undefined) n.status = { addresses: [{ type: 'InternalIP', address: ip }] };
  return n;
}

export function flags(over: Partial<AgentOptions> = {}): RoutingFlags {
  return { ...defaultOptions(), ...over };
}

export function input(nodes: Node[], over: Partial<RoutingInput> = {}, flagOver: Partial<AgentOptions> = {}): RoutingInput {
  return { nodeName: 'n1', nodes, services: [], endpointSlices: [], flags: flags(flagOver), ...over };
}

/** Three nodes on 10.0.0.0/24 with pod CIDRs 10.244.{1,2,3}.0/24. */
export function threeNodes(ann: Record<string, Record<string, string>> = {}): Node[] {
  return [1, 2, 3].map((i) => node(`n${i}`, `10.0.0.${i}`, `10.244.${i}.0/24`, ann[`n${i}`] ?? {}));
}

export function service(name: string, spec: Partial<Service['spec']>, annotations: Record<string, string> = {}, status?: Service['status']): Service {
  const s: Service = { metadata: { name, namespace: 'default', annotations }, spec: { type: 'ClusterIP', ...spec } };
  if (status) s.status = status;
  return s;
}

export function slice(svc: string, endpoints: EndpointSlice['endpoints']): EndpointSlice {
  return {
    metadata: { name: `${svc}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints,
  };
}
