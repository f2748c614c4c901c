// A minimal in-memory ObjectStore for the kubelet's tests until the lab API
// server's store (src/lab/apiserver, startLabApiServer().store) is used in
// their place. Same interface; no validation, no defaulting beyond uid,
// resourceVersion and creationTimestamp; Pod graceful deletion as specified.

import { randomUUID } from 'node:crypto';
import { KubeRouterError } from '../../../errors.js';
import type { LabKind, ListOptions, ObjectStore, StoredObject, WatchEvent } from '../../apiserver/types.js';

type Listener = { kind: LabKind; ns?: string; fn: (ev: WatchEvent) => void };

function key(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class MemoryObjectStore implements ObjectStore {
  private rv = 0;
  private readonly objects = new Map<LabKind, Map<string, StoredObject>>();
  private readonly listeners = new Set<Listener>();

  resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(kind: LabKind): Map<string, StoredObject> {
    let b = this.objects.get(kind);
    if (!b) this.objects.set(kind, (b = new Map()));
    return b;
  }

  private emit(kind: LabKind, type: WatchEvent['type'], obj: StoredObject): void {
    for (const l of [...this.listeners]) {
      if (l.kind === kind && (!l.ns || l.ns === obj.metadata.namespace)) l.fn({ type, object: structuredClone(obj) });
    }
  }

  private notFound(kind: LabKind, ns: string | undefined, name: string): KubeRouterError {
    return new KubeRouterError('KR_ERR_API', `${kind} ${key(ns, name)} not found`, { object: `${kind} ${key(ns, name)}`, httpCode: 404 });
  }

  get(kind: LabKind, namespace: string | undefined, name: string): StoredObject | undefined {
    const o = this.bucket(kind).get(key(namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  list(kind: LabKind, opts: ListOptions = {}): { items: StoredObject[]; resourceVersion: string } {
    const items = [...this.bucket(kind).values()].filter((o) => !opts.namespace || o.metadata.namespace === opts.namespace);
    return { items: items.map((o) => structuredClone(o)), resourceVersion: this.resourceVersion() };
  }

  create(kind: LabKind, obj: StoredObject): StoredObject {
    const k = key(obj.metadata.namespace, obj.metadata.name);
    if (this.bucket(kind).has(k)) throw new KubeRouterError('KR_ERR_API', `${kind} ${k} already exists`, { httpCode: 409 });
    const o = structuredClone(obj);
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp ??= new Date().toISOString();
    o.metadata.resourceVersion = String(++this.rv);
    this.bucket(kind).set(k, o);
    this.emit(kind, 'ADDED', o);
    return structuredClone(o);
  }

  update(kind: LabKind, obj: StoredObject, opts: { subresource?: 'status' } = {}): StoredObject {
    const k = key(obj.metadata.namespace, obj.metadata.name);
    const old = this.bucket(kind).get(k);
    if (!old) throw this.notFound(kind, obj.metadata.namespace, obj.metadata.name);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw new KubeRouterError('KR_ERR_API', `${kind} ${k}: conflict`, { httpCode: 409 });
    }
    const o = opts.subresource === 'status' ? { ...structuredClone(old), status: structuredClone(obj.status) } : structuredClone(obj);
    o.metadata = { ...o.metadata, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, resourceVersion: String(++this.rv) };
    this.bucket(kind).set(k, o);
    this.emit(kind, 'MODIFIED', o);
    return structuredClone(o);
  }

  patch(kind: LabKind, namespace: string | undefined, name: string, patch: unknown, opts: { subresource?: 'status' } = {}): StoredObject {
    const old = this.bucket(kind).get(key(namespace, name));
    if (!old) throw this.notFound(kind, namespace, name);
    const p = opts.subresource === 'status' ? { status: (patch as { status?: unknown }).status } : patch;
    const merged = mergePatch(old, p) as StoredObject;
    merged.metadata.resourceVersion = undefined;
    return this.update(kind, merged);
  }

  delete(kind: LabKind, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number } = {}): StoredObject | undefined {
    const k = key(namespace, name);
    const old = this.bucket(kind).get(k);
    if (!old) return undefined;
    const bound = kind === 'Pod' && !!(old.spec as { nodeName?: string } | undefined)?.nodeName;
    if (bound && opts.gracePeriodSeconds !== 0) {
      if (old.metadata.deletionTimestamp) return structuredClone(old);
      const o = structuredClone(old);
      o.metadata.deletionTimestamp = new Date().toISOString();
      o.metadata.deletionGracePeriodSeconds = opts.gracePeriodSeconds ?? 30;
      o.metadata.resourceVersion = String(++this.rv);
      this.bucket(kind).set(k, o);
      this.emit(kind, 'MODIFIED', o);
      return structuredClone(o);
    }
    this.bucket(kind).delete(k);
    const o = structuredClone(old);
    o.metadata.resourceVersion = String(++this.rv);
    this.emit(kind, 'DELETED', o);
    return o;
  }

  watch(kind: LabKind, _fromResourceVersion: string, opts: ListOptions, onEvent: (ev: WatchEvent) => void): () => void {
    // No history: callers list and watch in the same tick, as the kubelet does.
    const l: Listener = { kind, ...(opts.namespace ? { ns: opts.namespace } : {}), fn: onEvent };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
