// Pure helpers of the EndpointSlice controller: which pods count, what
// endpoint and ports a pod gives, which address types a Service has, what
// labels its slices carry (staging/src/k8s.io/endpointslice/utils.go).
import { canonicalIP, ipFamily } from './cidr.js';
import {
  CLUSTER_IP_NONE,
  CONTROLLER_NAME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
} from './constants.js';
import type { AddressType, Endpoint, EndpointPort, PodObj, ServiceObj, ServicePort } from './types.js';

/** The Service's selector, or undefined when it has none (selectorless: slices are not managed). */
export function serviceSelector(svc: ServiceObj): Record<string, string> | undefined {
  const sel = svc.spec?.selector;
  return sel && Object.keys(sel).length > 0 ? sel : undefined;
}

/** Equality-based selector match (a Service selector is a plain map). */
export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** Whether the controller manages slices for this Service at all. */
export function managesSlices(svc: ServiceObj): boolean {
  return (svc.spec?.type ?? 'ClusterIP') !== 'ExternalName' && serviceSelector(svc) !== undefined;
}

export function isServiceIPSet(svc: ServiceObj): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== CLUSTER_IP_NONE;
}

/** Pod Ready: the Ready condition when the kubelet reports conditions, else phase Running. */
export function isPodReady(pod: PodObj): boolean {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready) return ready.status === 'True';
  return pod.status?.phase === 'Running';
}

function podIPs(pod: PodObj): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip) => !!ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

/** ShouldPodBeInEndpoints(pod, includeTerminating=true): not terminal, has an IP. */
export function shouldPodBeInEndpoints(pod: PodObj): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return podIPs(pod).length > 0;
}

export function getAddressTypes(svc: ServiceObj): Set<AddressType> {
  const out = new Set<AddressType>();
  for (const f of svc.spec?.ipFamilies ?? []) if (f === 'IPv4' || f === 'IPv6') out.add(f);
  if (out.size > 0) return out;
  if (isServiceIPSet(svc)) {
    out.add(ipFamily(svc.spec.clusterIP ?? '') === 'IPv6' ? 'IPv6' : 'IPv4');
    return out;
  }
  out.add('IPv4');
  out.add('IPv6');
  return out;
}

export function podToEndpoint(pod: PodObj, zone: string | undefined, svc: ServiceObj, addressType: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = !!svc.spec.publishNotReadyAddresses || (serving && !terminating);
  const ep: Endpoint = {
    addresses: podIPs(pod)
      .filter((ip) => ipFamily(ip) === addressType)
      .map(canonicalIP),
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name },
  };
  if (pod.metadata.uid && ep.targetRef) ep.targetRef.uid = pod.metadata.uid;
  if (pod.spec.nodeName) ep.nodeName = pod.spec.nodeName;
  if (zone) ep.zone = zone;
  if (pod.spec.hostname && pod.spec.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace) {
    ep.hostname = pod.spec.hostname;
  }
  return ep;
}

/** FindPort: a numeric targetPort as is; a named one through the pod's container ports of the same protocol. */
export function findPort(pod: PodObj, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const proto = sp.protocol ?? 'TCP';
  const containers = [
    ...(pod.spec.containers ?? []),
    ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
  ];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

export function getEndpointPorts(svc: ServiceObj, pod: PodObj): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

const RESERVED = new Set([LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS]);

/** The labels a managed slice of `svc` carries: the Service's own (minus reserved ones) plus the reserved ones. */
export function sliceLabels(svc: ServiceObj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) if (!RESERVED.has(k)) out[k] = v;
  if (!isServiceIPSet(svc)) out[LABEL_HEADLESS] = '';
  out[LABEL_SERVICE_NAME] = svc.metadata.name;
  out[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  return out;
}

/** JSON with sorted keys and undefined dropped: a canonical form for comparisons and hash keys. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      const o = val as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return val;
  });
}

/** An endpoint's identity: addresses, hostname and target (upstream hashEndpoint). */
export function endpointHash(ep: Endpoint): string {
  return canonical([[...ep.addresses].sort(), ep.hostname ?? '', ep.targetRef?.namespace ?? '', ep.targetRef?.name ?? '']);
}

/** Ports grouping key, independent of port order (upstream PortMapKey). */
export function portMapKey(ports: EndpointPort[] | null | undefined): string {
  return canonical((ports ?? []).map((p) => canonical(p)).sort());
}

/** Go's RFC3339Nano rendering of a UTC time: fraction without trailing zeros. */
export function formatTriggerTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}
