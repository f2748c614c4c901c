// The EndpointSlice reconciler as a pure function: desired endpoints of one
// Service (from its pods) against its existing slices, to the minimal
// creates, updates and deletes. Follows staging/src/k8s.io/endpointslice/
// reconciler.go: group by address type and port mapping, keep endpoints in
// the slice they are in, fill slices being updated anyway, then the fullest
// unchanged one that fits, create new ones for the rest, turn create+delete
// pairs into updates, keep a placeholder slice when there are no endpoints.
import { ANNOTATION_TRIGGER_TIME } from './constants.js';
import {
  canonical,
  endpointHash,
  getAddressTypes,
  getEndpointPorts,
  podToEndpoint,
  portMapKey,
  shouldPodBeInEndpoints,
  sliceLabels,
} from './endpoints.js';
import type { AddressType, Endpoint, EndpointPort, EndpointSliceObj, PodObj, ServiceObj } from './types.js';

export interface ReconcileInput {
  service: ServiceObj;
  /** Pods of the Service's namespace matching its selector. */
  pods: PodObj[];
  /** Known nodes by name, with their topology.kubernetes.io/zone label. */
  nodes: ReadonlyMap<string, { zone?: string }>;
  /** Slices labelled as this Service's and managed by this controller. */
  existing: EndpointSliceObj[];
  maxEndpointsPerSlice: number;
  /** RFC3339Nano stamp for the trigger-time annotation on written slices; undefined clears it. */
  triggerTime?: string;
}

export interface ReconcilePlan {
  /** New slices: metadata.generateName set, metadata.name unset. */
  create: EndpointSliceObj[];
  update: EndpointSliceObj[];
  delete: EndpointSliceObj[];
  /** Pods left out because their node is unknown (`ns/name`). */
  skippedPods: string[];
}

interface Meta {
  addressType: AddressType;
  ports: EndpointPort[];
}

export function ownedBy(slice: EndpointSliceObj, svc: ServiceObj): boolean {
  return (slice.metadata.ownerReferences ?? []).some(
    (o) => o.kind === 'Service' && o.apiVersion === 'v1' && (svc.metadata.uid ? o.uid === svc.metadata.uid : o.name === svc.metadata.name),
  );
}

export function newEndpointSlice(svc: ServiceObj, meta: Meta): EndpointSliceObj {
  const slice: EndpointSliceObj = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: '',
      namespace: svc.metadata.namespace,
      generateName: `${svc.metadata.name}-`,
      labels: sliceLabels(svc),
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: svc.metadata.name,
          uid: svc.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: meta.addressType,
    endpoints: [],
  };
  if (meta.ports.length > 0) slice.ports = meta.ports;
  return slice;
}

export function reconcileService(input: ReconcileInput): ReconcilePlan {
  const { service } = input;
  const plan: ReconcilePlan = { create: [], update: [], delete: [], skippedPods: [] };
  const types = getAddressTypes(service);
  const byType = new Map<AddressType, EndpointSliceObj[]>();
  for (const s of input.existing) {
    if (s.addressType === 'FQDN' || !types.has(s.addressType)) {
      plan.delete.push(s);
      continue;
    }
    const list = byType.get(s.addressType) ?? [];
    list.push(s);
    byType.set(s.addressType, list);
  }
  const skipped = new Set<string>();
  for (const t of [...types].sort()) {
    const p = reconcileByAddressType(input, byType.get(t) ?? [], t, skipped);
    plan.create.push(...p.create);
    plan.update.push(...p.update);
    plan.delete.push(...p.delete);
  }
  plan.skippedPods = [...skipped];
  return plan;
}

function reconcileByAddressType(
  input: ReconcileInput,
  existing: EndpointSliceObj[],
  addressType: AddressType,
  skipped: Set<string>,
): { create: EndpointSliceObj[]; update: EndpointSliceObj[]; delete: EndpointSliceObj[] } {
  const { service } = input;
  let create: EndpointSliceObj[] = [];
  let update: EndpointSliceObj[] = [];
  let del: EndpointSliceObj[] = [];

  const existingByPortMap = new Map<string, EndpointSliceObj[]>();
  for (const s of existing) {
    if (!ownedBy(s, service)) {
      del.push(s);
      continue;
    }
    const k = portMapKey(s.ports);
    existingByPortMap.set(k, [...(existingByPortMap.get(k) ?? []), s]);
  }

  const desiredMeta = new Map<string, Meta>();
  const desiredEps = new Map<string, Map<string, Endpoint>>();
  const pods = [...input.pods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod)) continue;
    const ports = getEndpointPorts(service, pod);
    const k = portMapKey(ports);
    if (!desiredEps.has(k)) desiredEps.set(k, new Map());
    if (!desiredMeta.has(k)) desiredMeta.set(k, { addressType, ports });
    const nodeName = pod.spec.nodeName;
    const node = nodeName ? input.nodes.get(nodeName) : undefined;
    if (nodeName && !node && !service.spec.publishNotReadyAddresses) {
      skipped.add(`${pod.metadata.namespace}/${pod.metadata.name}`);
      continue;
    }
    const ep = podToEndpoint(pod, node?.zone, service, addressType);
    if (ep.addresses.length > 0) desiredEps.get(k)?.set(endpointHash(ep), ep);
  }

  for (const [k, eps] of desiredEps) {
    const meta = desiredMeta.get(k) as Meta;
    const r = reconcileByPortMapping(service, existingByPortMap.get(k) ?? [], eps, meta, input.maxEndpointsPerSlice);
    create.push(...r.create);
    update.push(...r.update);
    del.push(...r.delete);
  }
  for (const [k, slices] of existingByPortMap) if (!desiredEps.has(k)) del.push(...slices);

  if (existing.length === del.length && create.length < 1) {
    const placeholder = newEndpointSlice(service, { addressType, ports: [] });
    const only = del.length === 1 ? del[0] : undefined;
    if (only && placeholderEqual(only, placeholder)) del = [];
    else create.push(placeholder);
  }

  ({ create, update, del } = recycle(service, create, update, del));
  for (const s of [...create, ...update]) setTriggerTime(s, input.triggerTime);
  return { create, update, delete: del };
}

function reconcileByPortMapping(
  service: ServiceObj,
  existing: EndpointSliceObj[],
  desired: Map<string, Endpoint>,
  meta: Meta,
  max: number,
): { create: EndpointSliceObj[]; update: EndpointSliceObj[]; delete: EndpointSliceObj[] } {
  const byName = new Map<string, EndpointSliceObj>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();
  const labels = sliceLabels(service);

  // 1. Keep desired endpoints where they are; drop the others.
  for (const s of existing) {
    byName.set(s.metadata.name, s);
    const kept: Endpoint[] = [];
    let changed = false;
    for (const ep of s.endpoints ?? []) {
      const h = endpointHash(ep);
      const want = desired.get(h);
      if (!want) continue;
      kept.push(want);
      if (canonical(want) !== canonical(ep)) changed = true;
      desired.delete(h);
    }
    const labelsChanged = canonical(s.metadata.labels ?? {}) !== canonical(labels);
    if (changed || kept.length !== (s.endpoints ?? []).length) {
      if (kept.length === 0) {
        toDelete.add(s.metadata.name);
      } else {
        byName.set(s.metadata.name, withEndpoints(s, kept, labels));
        toUpdate.add(s.metadata.name);
      }
    } else if (labelsChanged) {
      byName.set(s.metadata.name, withEndpoints(s, s.endpoints ?? [], labels));
      toUpdate.add(s.metadata.name);
    } else {
      unchanged.add(s.metadata.name);
    }
  }

  const pop = (): Endpoint => {
    const [h, ep] = desired.entries().next().value as [string, Endpoint];
    desired.delete(h);
    return ep;
  };

  // 2. Fill the slices being written anyway, fullest first.
  if (desired.size > 0 && toUpdate.size > 0) {
    const slices = [...toUpdate].map((n) => byName.get(n) as EndpointSliceObj);
    slices.sort((a, b) => (b.endpoints ?? []).length - (a.endpoints ?? []).length);
    for (const s of slices) {
      const eps = (s.endpoints ??= []);
      while (desired.size > 0 && eps.length < max) eps.push(pop());
    }
  }

  // 3. Put the rest in the unchanged slice they fit best, else in new slices.
  const create: EndpointSliceObj[] = [];
  while (desired.size > 0) {
    let fill: EndpointSliceObj | undefined;
    if (desired.size < max && unchanged.size > 0) {
      const cand = getSliceToFill([...unchanged].map((n) => byName.get(n) as EndpointSliceObj), desired.size, max);
      if (cand) {
        fill = withEndpoints(cand, [...(cand.endpoints ?? [])], labels);
        byName.set(fill.metadata.name, fill);
      }
    }
    fill ??= newEndpointSlice(service, meta);
    const eps = (fill.endpoints ??= []);
    while (desired.size > 0 && eps.length < max) eps.push(pop());
    if (fill.metadata.name) {
      toUpdate.add(fill.metadata.name);
      unchanged.delete(fill.metadata.name);
    } else {
      create.push(fill);
    }
  }

  return {
    create,
    update: [...toUpdate].map((n) => byName.get(n) as EndpointSliceObj),
    delete: [...toDelete].map((n) => byName.get(n) as EndpointSliceObj),
  };
}

/** The slice closest to full once `n` endpoints are added, if one has room. */
function getSliceToFill(slices: EndpointSliceObj[], n: number, max: number): EndpointSliceObj | undefined {
  let best: EndpointSliceObj | undefined;
  let bestDiff = max;
  for (const s of slices) {
    const diff = max - (n + (s.endpoints ?? []).length);
    if (diff >= 0 && diff < bestDiff) {
      bestDiff = diff;
      best = s;
      if (diff === 0) break;
    }
  }
  return best;
}

function withEndpoints(s: EndpointSliceObj, endpoints: Endpoint[], labels: Record<string, string>): EndpointSliceObj {
  const copy = structuredClone(s);
  copy.endpoints = endpoints;
  copy.metadata.labels = { ...labels };
  return copy;
}

/** Creates that can reuse a slice about to be deleted become updates of it (finalize). */
function recycle(
  service: ServiceObj,
  create: EndpointSliceObj[],
  update: EndpointSliceObj[],
  del: EndpointSliceObj[],
): { create: EndpointSliceObj[]; update: EndpointSliceObj[]; del: EndpointSliceObj[] } {
  const remaining: EndpointSliceObj[] = [];
  for (const old of del) {
    const fresh = create[create.length - 1];
    if (fresh && old.addressType === fresh.addressType && ownedBy(old, service)) {
      create.pop();
      fresh.metadata.name = old.metadata.name;
      delete fresh.metadata.generateName;
      if (old.metadata.uid) fresh.metadata.uid = old.metadata.uid;
      if (old.metadata.resourceVersion) fresh.metadata.resourceVersion = old.metadata.resourceVersion;
      if (old.metadata.creationTimestamp) fresh.metadata.creationTimestamp = old.metadata.creationTimestamp;
      if (old.metadata.annotations) fresh.metadata.annotations = { ...old.metadata.annotations };
      update.push(fresh);
    } else {
      remaining.push(old);
    }
  }
  return { create, update, del: remaining };
}

function placeholderEqual(a: EndpointSliceObj, b: EndpointSliceObj): boolean {
  return (
    a.metadata.namespace === b.metadata.namespace &&
    canonical(a.metadata.labels ?? {}) === canonical(b.metadata.labels ?? {}) &&
    canonical(a.metadata.ownerReferences ?? []) === canonical(b.metadata.ownerReferences ?? []) &&
    a.addressType === b.addressType &&
    (a.endpoints ?? []).length === 0 &&
    (a.ports ?? []).length === 0
  );
}

function setTriggerTime(s: EndpointSliceObj, time: string | undefined): void {
  const ann = { ...(s.metadata.annotations ?? {}) };
  if (time) ann[ANNOTATION_TRIGGER_TIME] = time;
  else delete ann[ANNOTATION_TRIGGER_TIME];
  s.metadata.annotations = ann;
}

