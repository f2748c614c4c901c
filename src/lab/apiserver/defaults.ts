// Defaulting the way kube-apiserver's scheme defaulters and registry
// strategies do it, for the fields clients rely on. Applied to every object
// written (create and update), in place. Allocation (ClusterIPs, NodePorts)
// is NOT done here: the lab's controller-manager does it through the store.

import net from 'node:net';
import type { StoredObject } from './types.js';
import { asArray, ensureObject, isObject, type JsonObject } from './obj.js';

function defaultPorts(ports: unknown, numberKey: string): void {
  for (const p of asArray(ports) ?? []) {
    if (!isObject(p)) continue;
    if (p.protocol === undefined || p.protocol === '') p.protocol = 'TCP';
    if (numberKey === 'port' && (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '')) p.targetPort = p.port;
  }
}

function familyOf(ip: unknown): 'IPv4' | 'IPv6' | undefined {
  if (typeof ip !== 'string') return undefined;
  const f = net.isIP(ip);
  return f === 4 ? 'IPv4' : f === 6 ? 'IPv6' : undefined;
}

export function defaultService(obj: StoredObject): void {
  const spec = ensureObject(obj, 'spec');
  if (spec.type === undefined || spec.type === '') spec.type = 'ClusterIP';
  const type = spec.type;
  if (spec.sessionAffinity === undefined || spec.sessionAffinity === '') spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = ensureObject(spec, 'sessionAffinityConfig');
    const cip = ensureObject(cfg, 'clientIP');
    if (cip.timeoutSeconds === undefined) cip.timeoutSeconds = 10800;
  }
  defaultPorts(spec.ports, 'port');
  if (type === 'ExternalName') return;
  // clusterIP <-> clusterIPs[0] (the registry keeps the two in step).
  const ips = asArray(spec.clusterIPs);
  if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && (ips === undefined || ips.length === 0)) {
    spec.clusterIPs = [spec.clusterIP];
  } else if ((spec.clusterIP === undefined || spec.clusterIP === '') && ips !== undefined && typeof ips[0] === 'string') {
    spec.clusterIP = ips[0];
  }
  if (spec.internalTrafficPolicy === undefined || spec.internalTrafficPolicy === '') spec.internalTrafficPolicy = 'Cluster';
  if ((type === 'NodePort' || type === 'LoadBalancer') && (spec.externalTrafficPolicy === undefined || spec.externalTrafficPolicy === '')) {
    spec.externalTrafficPolicy = 'Cluster';
  }
  if (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
  // IP families: from the ClusterIPs when given. Otherwise they are left
  // unset here: which families a Service gets depends on the cluster's
  // service CIDRs (primary family, dual-stack or not) and, on update, on the
  // stored object, which only the allocator (the controller-manager's
  // admission hook, as kube-apiserver's registry) knows; it fills
  // ipFamilies and ipFamilyPolicy.
  const families = asArray(spec.ipFamilies);
  if (families === undefined || families.length === 0) {
    const fromIPs = (asArray(spec.clusterIPs) ?? []).map(familyOf).filter((f): f is 'IPv4' | 'IPv6' => f !== undefined);
    if (fromIPs.length > 0) spec.ipFamilies = fromIPs;
  }
  // Two families named without a policy can only mean dual-stack (upstream
  // would reject SingleStack there); one family's policy is the allocator's
  // call (SingleStack, RequireDualStack for headless selectorless, or the
  // old object's on update).
  if ((spec.ipFamilyPolicy === undefined || spec.ipFamilyPolicy === '') && (asArray(spec.ipFamilies) ?? []).length > 1) {
    spec.ipFamilyPolicy = 'RequireDualStack';
  }
  if (!isObject(obj.status)) obj.status = { loadBalancer: {} };
  else if (!isObject(obj.status.loadBalancer)) obj.status.loadBalancer = {};
}

/**
 * Service update: values allocated earlier are kept when the new object
 * leaves them empty (`kubectl replace -f` of a file without clusterIP), as
 * the Service REST storage's patchAllocatedValues does.
 */
export function keepAllocatedServiceValues(next: StoredObject, prev: StoredObject): void {
  const ns = ensureObject(next, 'spec');
  const os = isObject(prev.spec) ? prev.spec : {};
  const nType = ns.type ?? 'ClusterIP';
  if (nType === 'ExternalName' || os.type === 'ExternalName') return;
  const omitted = (v: unknown): boolean => v === undefined || v === '';
  if (omitted(ns.clusterIP) && typeof os.clusterIP === 'string' && os.clusterIP !== '') {
    ns.clusterIP = os.clusterIP;
    if (os.clusterIPs !== undefined) ns.clusterIPs = structuredClone(os.clusterIPs);
    if (ns.ipFamilies === undefined && os.ipFamilies !== undefined) ns.ipFamilies = structuredClone(os.ipFamilies);
  }
  // clusterIPs given as just clusterIP: keep the stored list (a dual-stack
  // Service's secondary), as patchAllocatedValues copies it when empty.
  const ips = asArray(ns.clusterIPs);
  if ((ips === undefined || ips.length === 0) && ns.clusterIP === os.clusterIP && os.clusterIPs !== undefined) {
    ns.clusterIPs = structuredClone(os.clusterIPs);
  }
  // An update without a policy keeps the stored one (upstream adopts it), so
  // it is never read as a switch between single- and dual-stack.
  if (omitted(ns.ipFamilyPolicy) && os.ipFamilyPolicy !== undefined) ns.ipFamilyPolicy = os.ipFamilyPolicy;
  if (nType === 'NodePort' || nType === 'LoadBalancer') {
    const oldPorts = (asArray(os.ports) ?? []).filter(isObject);
    for (const p of asArray(ns.ports) ?? []) {
      if (!isObject(p) || (p.nodePort !== undefined && p.nodePort !== 0)) continue;
      const match = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (match?.nodePort !== undefined) p.nodePort = match.nodePort;
    }
    if (ns.externalTrafficPolicy === 'Local' && (ns.healthCheckNodePort === undefined || ns.healthCheckNodePort === 0) && os.healthCheckNodePort !== undefined) {
      ns.healthCheckNodePort = os.healthCheckNodePort;
    }
  }
}

export function defaultPod(obj: StoredObject): void {
  const spec = ensureObject(obj, 'spec');
  if (spec.restartPolicy === undefined) spec.restartPolicy = 'Always';
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  if (spec.dnsPolicy === undefined) spec.dnsPolicy = 'ClusterFirst';
  if (spec.schedulerName === undefined) spec.schedulerName = 'default-scheduler';
  if (spec.securityContext === undefined) spec.securityContext = {};
  for (const key of ['containers', 'initContainers']) {
    for (const c of asArray(spec[key]) ?? []) {
      if (!isObject(c)) continue;
      for (const p of asArray(c.ports) ?? []) {
        if (isObject(p) && (p.protocol === undefined || p.protocol === '')) p.protocol = 'TCP';
      }
      if (c.terminationMessagePath === undefined) c.terminationMessagePath = '/dev/termination-log';
      if (c.terminationMessagePolicy === undefined) c.terminationMessagePolicy = 'File';
      if (c.imagePullPolicy === undefined) {
        const image = typeof c.image === 'string' ? c.image : '';
        c.imagePullPolicy = image.endsWith(':latest') || !/:[^/]+$/.test(image) ? 'Always' : 'IfNotPresent';
      }
    }
  }
  const status = ensureObject(obj, 'status');
  if (status.phase === undefined || status.phase === '') status.phase = 'Pending';
}

export function defaultNamespace(obj: StoredObject): void {
  // The NamespaceDefaultLabelName feature: kubernetes.io/metadata.name is always the name.
  const md = obj.metadata;
  md.labels = { ...(md.labels ?? {}), 'kubernetes.io/metadata.name': md.name };
  const spec = ensureObject(obj, 'spec');
  if (spec.finalizers === undefined) spec.finalizers = ['kubernetes'];
  const status = ensureObject(obj, 'status');
  if (status.phase === undefined || status.phase === '') status.phase = 'Active';
}

export function defaultNetworkPolicy(obj: StoredObject): void {
  const spec = ensureObject(obj, 'spec');
  if (spec.podSelector === undefined || spec.podSelector === null) spec.podSelector = {};
  const rules = (key: string): JsonObject[] => (asArray(spec[key]) ?? []).filter(isObject);
  for (const r of [...rules('ingress'), ...rules('egress')]) {
    for (const p of asArray(r.ports) ?? []) {
      if (isObject(p) && (p.protocol === undefined || p.protocol === '')) p.protocol = 'TCP';
    }
  }
  const types = asArray(spec.policyTypes);
  if (types === undefined || types.length === 0) {
    spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

export function defaultEndpointSlice(obj: StoredObject): void {
  for (const p of asArray(obj.ports) ?? []) {
    if (isObject(p) && (p.protocol === undefined || p.protocol === '')) p.protocol = 'TCP';
  }
  if (obj.endpoints === undefined || obj.endpoints === null) obj.endpoints = [];
}

export function defaultNode(obj: StoredObject): void {
  const spec = ensureObject(obj, 'spec');
  const cidrs = asArray(spec.podCIDRs);
  if (typeof spec.podCIDR === 'string' && spec.podCIDR !== '' && (cidrs === undefined || cidrs.length === 0)) spec.podCIDRs = [spec.podCIDR];
  else if ((spec.podCIDR === undefined || spec.podCIDR === '') && cidrs !== undefined && typeof cidrs[0] === 'string') spec.podCIDR = cidrs[0];
}

export function defaultEvent(obj: StoredObject): void {
  if (obj.type === undefined) obj.type = 'Normal';
  if (obj.count === undefined) obj.count = 1;
}
