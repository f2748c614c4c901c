// Which Services need recompiling, from informer events (kube-proxy's
// ServiceChangeTracker / EndpointsChangeTracker). Each event costs O(size of
// the one object): the tracker keeps, per object, the FIRST previous state
// seen since the last drain and the LATEST current state, and at drain time
// drops the objects whose proxy-relevant projection did not change (a burst
// of resourceVersion bumps or foreign-annotation edits costs nothing). An
// EndpointSlice marks its Service (`kubernetes.io/service-name` label) dirty,
// both the old and the new one when the label changed.

import { objectKey, type EndpointSlice, type Service } from '../../informers/types.js';
import { LABEL_SERVICE_NAME, PROXY_ANNOTATIONS, PROXY_LABELS } from './annotations.js';

/** Structural equality of JSON-like values; a property set to undefined equals an absent one. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k in ao) if (ao[k] !== undefined && !jsonEqual(ao[k], bo[k])) return false;
  for (const k in bo) if (bo[k] !== undefined && ao[k] === undefined) return false;
  return true;
}

function pick(map: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!map) return out;
  for (const k of keys) if (k in map) out[k] = map[k];
  return out;
}

/** What of a Service the compiler reads. */
function serviceProjection(s: Service | undefined): unknown {
  if (!s) return undefined;
  return {
    spec: s.spec,
    lb: s.status?.loadBalancer,
    ann: pick(s.metadata.annotations, PROXY_ANNOTATIONS),
    labels: pick(s.metadata.labels, PROXY_LABELS),
  };
}

/** What of an EndpointSlice the compiler reads. */
function sliceProjection(s: EndpointSlice | undefined): unknown {
  if (!s) return undefined;
  return { svc: s.metadata.labels?.[LABEL_SERVICE_NAME], addressType: s.addressType, endpoints: s.endpoints, ports: s.ports };
}

/** `namespace/service` of the Service a slice belongs to, or undefined without the label. */
export function sliceServiceKey(s: EndpointSlice): string | undefined {
  const name = s.metadata.labels?.[LABEL_SERVICE_NAME];
  if (!name) return undefined;
  return `${s.metadata.namespace ?? ''}/${name}`;
}

interface Pending<T> {
  first: T | undefined;
  latest: T | undefined;
}

export class ServiceChangeTracker {
  private readonly services = new Map<string, Pending<Service>>();
  private readonly slices = new Map<string, Pending<EndpointSlice>>();
  /** Dirty keys forced by `markDirty` (node or flag changes, resyncs). */
  private readonly forced = new Set<string>();

  /** A Service add (old undefined), update, or delete (cur undefined). */
  onService(old: Service | undefined, cur: Service | undefined): void {
    const obj = cur ?? old;
    if (!obj) return;
    const key = objectKey(obj);
    const p = this.services.get(key);
    if (p) p.latest = cur;
    else this.services.set(key, { first: old, latest: cur });
  }

  /** An EndpointSlice add (old undefined), update, or delete (cur undefined). */
  onEndpointSlice(old: EndpointSlice | undefined, cur: EndpointSlice | undefined): void {
    const obj = cur ?? old;
    if (!obj) return;
    const key = objectKey(obj);
    const p = this.slices.get(key);
    if (p) p.latest = cur;
    else this.slices.set(key, { first: old, latest: cur });
  }

  /** Marks a Service dirty whatever its objects say. */
  markDirty(key: string): void {
    this.forced.add(key);
  }

  /** Objects with an event since the last drain (before no-op filtering). */
  get pending(): number {
    return this.services.size + this.slices.size + this.forced.size;
  }

  /** The Service keys to recompute since the last call, sorted; clears the tracker. */
  drain(): string[] {
    const dirty = new Set(this.forced);
    for (const [key, p] of this.services) {
      if (!jsonEqual(serviceProjection(p.first), serviceProjection(p.latest))) dirty.add(key);
    }
    for (const p of this.slices.values()) {
      if (jsonEqual(sliceProjection(p.first), sliceProjection(p.latest))) continue;
      for (const s of [p.first, p.latest]) {
        const k = s && sliceServiceKey(s);
        if (k) dirty.add(k);
      }
    }
    this.services.clear();
    this.slices.clear();
    this.forced.clear();
    return [...dirty].sort();
  }
}
