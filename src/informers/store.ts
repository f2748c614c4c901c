// The per-kind object store with its indexes: by key (objectKey), by
// namespace, and optionally one secondary index (EndpointSlices by owning
// Service). Plain maps, no events: the informer layer (kind-informer.ts) and
// the fake cache both build on this.

import type { Store } from './cache.js';
import { objectKey, type KubeObject } from './types.js';

/** Returns the secondary index key of an object, or undefined when it has none. */
export type IndexFn<T> = (obj: T) => string | undefined;

export class IndexedStore<T extends KubeObject> implements Store<T> {
  private readonly items = new Map<string, T>();
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly byIndex = new Map<string, Map<string, T>>();

  constructor(private readonly indexFn?: IndexFn<T>) {}

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return Array.from(this.items.values());
  }

  listNamespace(namespace: string): T[] {
    const m = this.byNamespace.get(namespace);
    return m ? Array.from(m.values()) : [];
  }

  size(): number {
    return this.items.size;
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  /** Objects whose secondary index key is `indexKey`. */
  byIndexKey(indexKey: string): T[] {
    const m = this.byIndex.get(indexKey);
    return m ? Array.from(m.values()) : [];
  }

  /** Inserts or replaces; returns the previous object. */
  put(obj: T, key = objectKey(obj)): T | undefined {
    const old = this.items.get(key);
    this.items.set(key, obj);
    if (old !== undefined) this.unindex(key, old);
    this.index(key, obj);
    return old;
  }

  /** Removes; returns the removed object. */
  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.items.delete(key);
    this.unindex(key, old);
    return old;
  }

  clear(): void {
    this.items.clear();
    this.byNamespace.clear();
    this.byIndex.clear();
  }

  private index(key: string, obj: T): void {
    addTo(this.byNamespace, obj.metadata.namespace ?? '', key, obj);
    if (this.indexFn) {
      const ik = this.indexFn(obj);
      if (ik !== undefined) addTo(this.byIndex, ik, key, obj);
    }
  }

  private unindex(key: string, obj: T): void {
    removeFrom(this.byNamespace, obj.metadata.namespace ?? '', key);
    if (this.indexFn) {
      const ik = this.indexFn(obj);
      if (ik !== undefined) removeFrom(this.byIndex, ik, key);
    }
  }
}

function addTo<T>(m: Map<string, Map<string, T>>, bucket: string, key: string, obj: T): void {
  let b = m.get(bucket);
  if (b === undefined) {
    b = new Map();
    m.set(bucket, b);
  }
  b.set(key, obj);
}

function removeFrom<T>(m: Map<string, Map<string, T>>, bucket: string, key: string): void {
  const b = m.get(bucket);
  if (b === undefined) return;
  b.delete(key);
  if (b.size === 0) m.delete(bucket);
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Index key `namespace/service` of an EndpointSlice, from its kubernetes.io/service-name label. */
export function endpointSliceServiceKey(obj: KubeObject): string | undefined {
  const svc = obj.metadata.labels?.[SERVICE_NAME_LABEL];
  if (svc === undefined || svc === '') return undefined;
  return `${obj.metadata.namespace ?? ''}/${svc}`;
}
