// Per-kind validation: what kube-apiserver rejects with 422 Invalid, kept
// modest (the fields kube-router and the lab read, with the real wording).
// Runs after defaulting; `old` is set on update.

import type { StoredObject } from './types.js';
import type { FieldError } from './status.js';
import { asArray, isObject, type JsonObject } from './obj.js';
import {
  isDns1123Label,
  validateCidr,
  validateEnum,
  validateIP,
  validateLabelSelector,
  validateLabels,
  validatePortNumOrName,
  validatePortNumber,
  validateProtocol,
} from './validators.js';

export type KindValidator = (obj: StoredObject, old: StoredObject | undefined, errs: FieldError[]) => void;

function spec(obj: StoredObject): JsonObject {
  return isObject(obj.spec) ? obj.spec : {};
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

export const validateService: KindValidator = (obj, old, errs) => {
  const s = spec(obj);
  validateEnum(s.type, SERVICE_TYPES, 'spec.type', errs);
  validateEnum(s.sessionAffinity, ['ClientIP', 'None'], 'spec.sessionAffinity', errs);
  const type = s.type;
  const headless = s.clusterIP === 'None';
  const ports = asArray(s.ports) ?? [];
  if (type === 'ExternalName') {
    if (typeof s.externalName !== 'string' || s.externalName === '') errs.push({ type: 'FieldValueRequired', field: 'spec.externalName', detail: '' });
  } else if (!headless && ports.length === 0) {
    errs.push({ type: 'FieldValueRequired', field: 'spec.ports', detail: '' });
  }
  if (s.clusterIP !== undefined && s.clusterIP !== '' && s.clusterIP !== 'None' && type !== 'ExternalName') {
    validateIP(s.clusterIP, 'spec.clusterIPs[0]', errs);
  }
  if (headless && (type === 'NodePort' || type === 'LoadBalancer')) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', value: 'None', detail: `may not be set to 'None' for ${type} services` });
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p: unknown, i) => {
    const f = `spec.ports[${i}]`;
    if (!isObject(p)) {
      errs.push({ type: 'FieldValueInvalid', field: f, value: p, detail: 'must be an object' });
      return;
    }
    if (ports.length > 1 && (p.name === undefined || p.name === '')) errs.push({ type: 'FieldValueRequired', field: `${f}.name`, detail: '' });
    if (typeof p.name === 'string' && p.name !== '') {
      if (!isDns1123Label(p.name)) errs.push({ type: 'FieldValueInvalid', field: `${f}.name`, value: p.name, detail: 'must be a DNS label' });
      if (names.has(p.name)) errs.push({ type: 'FieldValueDuplicate', field: `${f}.name`, value: p.name, detail: '' });
      names.add(p.name);
    }
    validatePortNumber(p.port, `${f}.port`, errs);
    validateProtocol(p.protocol, `${f}.protocol`, errs);
    if (p.targetPort !== undefined) validatePortNumOrName(p.targetPort, `${f}.targetPort`, errs);
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        errs.push({ type: 'FieldValueForbidden', field: `${f}.nodePort`, detail: `may not be used when \`type\` is '${String(type)}'` });
      } else {
        validatePortNumber(p.nodePort, `${f}.nodePort`, errs);
      }
    }
    const key = `${String(p.port)}/${String(p.protocol)}`;
    if (seen.has(key)) errs.push({ type: 'FieldValueDuplicate', field: f, value: { port: p.port, protocol: p.protocol }, detail: '' });
    seen.add(key);
  });
  if (s.externalTrafficPolicy !== undefined && s.externalTrafficPolicy !== '') {
    if (type !== 'NodePort' && type !== 'LoadBalancer') {
      errs.push({ type: 'FieldValueInvalid', field: 'spec.externalTrafficPolicy', value: s.externalTrafficPolicy, detail: "may only be set when `type` is 'NodePort' or 'LoadBalancer'" });
    } else validateEnum(s.externalTrafficPolicy, ['Cluster', 'Local'], 'spec.externalTrafficPolicy', errs);
  }
  validateEnum(s.internalTrafficPolicy, ['Cluster', 'Local'], 'spec.internalTrafficPolicy', errs);
  validateEnum(s.ipFamilyPolicy, ['PreferDualStack', 'RequireDualStack', 'SingleStack'], 'spec.ipFamilyPolicy', errs);
  (asArray(s.externalIPs) ?? []).forEach((ip, i) => validateIP(ip, `spec.externalIPs[${i}]`, errs));
  validateLabels(s.selector, 'spec.selector', errs);
  if (old !== undefined) {
    const os = spec(old);
    const was = typeof os.clusterIP === 'string' ? os.clusterIP : '';
    if (was !== '' && os.type !== 'ExternalName' && type !== 'ExternalName' && s.clusterIP !== was) {
      errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', value: s.clusterIP ?? '', detail: 'may not change once set' });
    }
  }
};

export const validatePod: KindValidator = (obj, _old, errs) => {
  const s = spec(obj);
  const containers = asArray(s.containers);
  if (containers === undefined || containers.length === 0) errs.push({ type: 'FieldValueRequired', field: 'spec.containers', detail: '' });
  const names = new Set<string>();
  for (const key of ['initContainers', 'containers']) {
    (asArray(s[key]) ?? []).forEach((c: unknown, i) => {
      const f = `spec.${key}[${i}]`;
      if (!isObject(c)) {
        errs.push({ type: 'FieldValueInvalid', field: f, value: c, detail: 'must be an object' });
        return;
      }
      if (typeof c.name !== 'string' || c.name === '') errs.push({ type: 'FieldValueRequired', field: `${f}.name`, detail: '' });
      else {
        if (!isDns1123Label(c.name)) errs.push({ type: 'FieldValueInvalid', field: `${f}.name`, value: c.name, detail: 'must be a DNS label' });
        if (names.has(c.name)) errs.push({ type: 'FieldValueDuplicate', field: `${f}.name`, value: c.name, detail: '' });
        names.add(c.name);
      }
      if (typeof c.image !== 'string' || c.image === '') errs.push({ type: 'FieldValueRequired', field: `${f}.image`, detail: '' });
      (asArray(c.ports) ?? []).forEach((p: unknown, j) => {
        if (!isObject(p)) return;
        validatePortNumber(p.containerPort, `${f}.ports[${j}].containerPort`, errs);
        validateProtocol(p.protocol, `${f}.ports[${j}].protocol`, errs);
        if (p.hostPort !== undefined && p.hostPort !== 0) validatePortNumber(p.hostPort, `${f}.ports[${j}].hostPort`, errs);
      });
    });
  }
  validateEnum(s.restartPolicy, ['Always', 'Never', 'OnFailure'], 'spec.restartPolicy', errs);
  if (s.terminationGracePeriodSeconds !== undefined && (typeof s.terminationGracePeriodSeconds !== 'number' || s.terminationGracePeriodSeconds < 0)) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.terminationGracePeriodSeconds', value: s.terminationGracePeriodSeconds, detail: 'must be greater than or equal to 0' });
  }
};

export const validateNode: KindValidator = (obj, old, errs) => {
  const s = spec(obj);
  if (s.podCIDR !== undefined && s.podCIDR !== '') validateCidr(s.podCIDR, 'spec.podCIDRs[0]', errs);
  (asArray(s.podCIDRs) ?? []).forEach((c, i) => validateCidr(c, `spec.podCIDRs[${i}]`, errs));
  if (old !== undefined) {
    const was = asArray(spec(old).podCIDRs) ?? [];
    const now = asArray(s.podCIDRs) ?? [];
    if (was.length > 0 && JSON.stringify(was) !== JSON.stringify(now)) {
      errs.push({ type: 'FieldValueForbidden', field: 'spec.podCIDRs', detail: 'node updates may not change podCIDR except from "" to valid' });
    }
  }
};

function validatePolicyPeers(peers: unknown, field: string, errs: FieldError[]): void {
  (asArray(peers) ?? []).forEach((peer: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(peer)) return;
    const n = [peer.podSelector, peer.namespaceSelector].filter((x) => x !== undefined && x !== null).length;
    const hasBlock = peer.ipBlock !== undefined && peer.ipBlock !== null;
    if (n === 0 && !hasBlock) errs.push({ type: 'FieldValueRequired', field: f, detail: 'must specify a peer' });
    if (n > 0 && hasBlock) errs.push({ type: 'FieldValueForbidden', field: f, detail: 'may not specify more than 1 peer type' });
    validateLabelSelector(peer.podSelector, `${f}.podSelector`, errs);
    validateLabelSelector(peer.namespaceSelector, `${f}.namespaceSelector`, errs);
    if (hasBlock) {
      const b = isObject(peer.ipBlock) ? peer.ipBlock : {};
      if (b.cidr === undefined || b.cidr === '') errs.push({ type: 'FieldValueRequired', field: `${f}.ipBlock.cidr`, detail: '' });
      else validateCidr(b.cidr, `${f}.ipBlock.cidr`, errs);
      (asArray(b.except) ?? []).forEach((e, j) => validateCidr(e, `${f}.ipBlock.except[${j}]`, errs));
    }
  });
}

function validatePolicyPorts(ports: unknown, field: string, errs: FieldError[]): void {
  (asArray(ports) ?? []).forEach((p: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(p)) return;
    validateProtocol(p.protocol, `${f}.protocol`, errs);
    if (p.port !== undefined && p.port !== null) validatePortNumOrName(p.port, `${f}.port`, errs);
    if (p.endPort !== undefined && p.endPort !== null) {
      if (typeof p.port !== 'number') errs.push({ type: 'FieldValueRequired', field: `${f}.port`, detail: 'must be specified when endPort is specified' });
      else if (typeof p.endPort !== 'number' || p.endPort < p.port) {
        errs.push({ type: 'FieldValueInvalid', field: `${f}.endPort`, value: p.endPort, detail: 'must be greater than or equal to `port`' });
      } else validatePortNumber(p.endPort, `${f}.endPort`, errs);
    }
  });
}

export const validateNetworkPolicy: KindValidator = (obj, _old, errs) => {
  const s = spec(obj);
  validateLabelSelector(s.podSelector, 'spec.podSelector', errs);
  (asArray(s.ingress) ?? []).forEach((r: unknown, i) => {
    if (!isObject(r)) return;
    validatePolicyPorts(r.ports, `spec.ingress[${i}].ports`, errs);
    validatePolicyPeers(r.from, `spec.ingress[${i}].from`, errs);
  });
  (asArray(s.egress) ?? []).forEach((r: unknown, i) => {
    if (!isObject(r)) return;
    validatePolicyPorts(r.ports, `spec.egress[${i}].ports`, errs);
    validatePolicyPeers(r.to, `spec.egress[${i}].to`, errs);
  });
  (asArray(s.policyTypes) ?? []).forEach((t, i) => validateEnum(t, ['Egress', 'Ingress'], `spec.policyTypes[${i}]`, errs));
};

export const validateEndpointSlice: KindValidator = (obj, _old, errs) => {
  const at = obj.addressType;
  if (at === undefined || at === '') errs.push({ type: 'FieldValueRequired', field: 'addressType', detail: '' });
  else validateEnum(at, ['FQDN', 'IPv4', 'IPv6'], 'addressType', errs);
  (asArray(obj.endpoints) ?? []).forEach((e: unknown, i) => {
    const f = `endpoints[${i}]`;
    if (!isObject(e)) return;
    const addrs = asArray(e.addresses) ?? [];
    if (addrs.length === 0) errs.push({ type: 'FieldValueRequired', field: `${f}.addresses`, detail: 'must contain at least 1 address' });
    if (addrs.length > 100) errs.push({ type: 'FieldValueTooLong', field: `${f}.addresses`, detail: 'must have at most 100 items' });
    if (at === 'IPv4' || at === 'IPv6') {
      addrs.forEach((a, j) => {
        const fam = typeof a === 'string' ? (a.includes(':') ? 'IPv6' : 'IPv4') : '';
        const errsBefore = errs.length;
        validateIP(a, `${f}.addresses[${j}]`, errs);
        if (errs.length === errsBefore && fam !== at) {
          errs.push({ type: 'FieldValueInvalid', field: `${f}.addresses[${j}]`, value: a, detail: `must be an ${at} address` });
        }
      });
    }
  });
  (asArray(obj.ports) ?? []).forEach((p: unknown, i) => {
    if (!isObject(p)) return;
    validateProtocol(p.protocol, `ports[${i}].protocol`, errs);
    if (p.port !== undefined && p.port !== null && p.port !== 0) validatePortNumber(p.port, `ports[${i}].port`, errs);
  });
};

/**
 * DaemonSet: a selector that matches the pod template's labels, and at least
 * one container with a name and an image (kube-apiserver's checks of the
 * fields an agent manifest gets wrong most).
 */
export const validateDaemonSet: KindValidator = (obj, _old, errs) => {
  const s = spec(obj);
  const selector = isObject(s.selector) ? s.selector : undefined;
  const template = isObject(s.template) ? s.template : {};
  const meta = isObject(template.metadata) ? template.metadata : {};
  const labels = isObject(meta.labels) ? meta.labels : {};
  if (!selector) {
    errs.push({ type: 'FieldValueRequired', field: 'spec.selector', detail: '' });
  } else {
    validateLabelSelector(selector, 'spec.selector', errs);
    const match = isObject(selector.matchLabels) ? selector.matchLabels : {};
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) {
      errs.push({ type: 'FieldValueInvalid', field: 'spec.template.metadata.labels', value: labels, detail: '`selector` does not match template `labels`' });
    }
  }
  const podSpec = isObject(template.spec) ? template.spec : {};
  const containers = asArray(podSpec.containers) ?? [];
  if (containers.length === 0) errs.push({ type: 'FieldValueRequired', field: 'spec.template.spec.containers', detail: '' });
  containers.forEach((c: unknown, i) => {
    const f = `spec.template.spec.containers[${i}]`;
    if (!isObject(c) || typeof c.name !== 'string' || c.name === '') errs.push({ type: 'FieldValueRequired', field: `${f}.name`, detail: '' });
    if (!isObject(c) || typeof c.image !== 'string' || c.image === '') errs.push({ type: 'FieldValueRequired', field: `${f}.image`, detail: '' });
  });
};

export const validateNothing: KindValidator = () => {};
