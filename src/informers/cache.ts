// The shared informer cache as the controllers see it. One instance per agent
// process; each resource is listed and watched only if some enabled controller
// asked for it (`SharedCacheOptions.kinds`). Implemented by shared-cache.ts
// over a reflector of our own (reflector.ts); faked in tests by a plain
// in-memory store (fake-cache.ts) behind this same interface.

import type { KindMap, ResourceKind } from './types.js';

export type EventType = 'add' | 'update' | 'delete';

/**
 * One change to one object. `old` is the previous cached copy (set for update
 * and delete), so handlers can tell whether a change is relevant to them.
 */
export interface ResourceEvent<T> {
  type: EventType;
  obj: T;
  old?: T;
}

export type EventHandler<T> = (event: ResourceEvent<T>) => void;

export interface Store<T> {
  /** `namespace/name` or `name` (see objectKey). */
  get(key: string): T | undefined;
  list(): T[];
  /** Objects in one namespace. */
  listNamespace(namespace: string): T[];
  size(): number;
}

export interface SharedCache {
  /** Kinds this cache lists and watches. */
  readonly kinds: readonly ResourceKind[];
  store<K extends ResourceKind>(kind: K): Store<KindMap[K]>;
  /**
   * EndpointSlices of one Service, by the `kubernetes.io/service-name` label
   * (an index kept by the cache).
   */
  endpointSlicesFor(namespace: string, service: string): KindMap['EndpointSlice'][];
  /** Subscribe to events of one kind; returns an unsubscribe function. Handlers must be cheap. */
  on<K extends ResourceKind>(kind: K, handler: EventHandler<KindMap[K]>): () => void;
  /** Start listing and watching every kind; resolves once started (not synced). */
  start(): Promise<void>;
  /** Resolves when the initial list of every kind has been delivered; rejects after timeoutMs. */
  waitForSync(timeoutMs: number): Promise<void>;
  hasSynced(): boolean;
  /**
   * The resourceVersion up to which the cache holds every watched kind: the
   * minimum over kinds of the newest version seen (list, event or bookmark).
   * '' before sync. Reported by /healthz so the lab can wait on it.
   */
  resourceVersion(): string;
  stop(): Promise<void>;
}
