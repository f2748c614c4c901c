// An in-memory SharedCache for controller unit tests. add/update/delete/apply
// go through the same KindInformer as the real cache, so stores, indexes,
// event order, `old` copies and handler isolation behave identically.
// Every write stamps a fresh resourceVersion (a global counter, like the API
// server) on a shallow copy of the object, which is returned.

import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { KubeRouterError } from '../errors.js';
import type { EventHandler, SharedCache, Store } from './cache.js';
import { KindInformer } from './kind-informer.js';
import { waitForKinds } from './sync-wait.js';
import { createInformerMetrics } from './metrics.js';
import { endpointSliceServiceKey } from './store.js';
import { ALL_KINDS, objectKey, type EndpointSlice, type KindMap, type KubeObject, type ResourceKind } from './types.js';

export interface FakeSharedCacheOptions {
  kinds?: readonly ResourceKind[];
  /** Kinds that report synced once start() is called (default: all). Others wait for markSynced(). */
  syncOnStart?: readonly ResourceKind[];
  logger?: Logger;
}

export class FakeSharedCache implements SharedCache {
  readonly kinds: readonly ResourceKind[];
  private readonly informers = new Map<ResourceKind, KindInformer<KubeObject>>();
  private readonly syncOnStart: ReadonlySet<ResourceKind>;
  private rv = 0;
  started = false;
  stopped = false;
  private readonly stopController = new AbortController();

  constructor(opts: FakeSharedCacheOptions = {}) {
    this.kinds = [...(opts.kinds ?? ALL_KINDS)];
    this.syncOnStart = new Set(opts.syncOnStart ?? this.kinds);
    const logger = opts.logger ?? pino({ level: 'silent' });
    const metrics = createInformerMetrics(new Registry());
    for (const kind of this.kinds) {
      this.informers.set(kind, new KindInformer<KubeObject>(kind, { logger, metrics }, kind === 'EndpointSlice' ? endpointSliceServiceKey : undefined));
    }
  }

  private informer<K extends ResourceKind>(kind: K): KindInformer<KindMap[K]> {
    const inf = this.informers.get(kind);
    if (!inf) throw new KubeRouterError('KR_ERR_INTERNAL', `the fake cache does not hold ${kind}`, { object: kind });
    return inf as unknown as KindInformer<KindMap[K]>;
  }

  private stamp<T extends KubeObject>(obj: T): T {
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
  }

  // ---- test controls ----

  /** Adds a new object (throws if the key exists); emits 'add'. */
  add<K extends ResourceKind>(kind: K, obj: KindMap[K]): KindMap[K] {
    if (this.informer(kind).store.get(objectKey(obj))) throw new Error(`fake cache: ${kind} ${objectKey(obj)} already exists`);
    return this.apply(kind, obj);
  }

  /** Replaces an existing object (throws if missing); emits 'update' with the old copy. */
  update<K extends ResourceKind>(kind: K, obj: KindMap[K]): KindMap[K] {
    if (!this.informer(kind).store.get(objectKey(obj))) throw new Error(`fake cache: ${kind} ${objectKey(obj)} not found`);
    return this.apply(kind, obj);
  }

  /** Adds or replaces. */
  apply<K extends ResourceKind>(kind: K, obj: KindMap[K]): KindMap[K] {
    const stamped = this.stamp(obj);
    this.informer(kind).watchEvent('MODIFIED', stamped);
    return stamped;
  }

  /** Deletes by object or key (throws if missing); emits 'delete'. */
  delete<K extends ResourceKind>(kind: K, objOrKey: KindMap[K] | string): void {
    const key = typeof objOrKey === 'string' ? objOrKey : objectKey(objOrKey);
    const cached = this.informer(kind).store.get(key);
    if (!cached) throw new Error(`fake cache: ${kind} ${key} not found`);
    this.informer(kind).watchEvent('DELETED', this.stamp(cached));
  }

  /** Marks a kind synced (for kinds left out of syncOnStart). */
  markSynced(kind: ResourceKind): void {
    const inf = this.informer(kind);
    if (!inf.hasSynced()) inf.listDone(new Set(inf.store.keys()), String(this.rv));
  }

  // ---- SharedCache ----

  store<K extends ResourceKind>(kind: K): Store<KindMap[K]> {
    return this.informer(kind).store;
  }

  endpointSlicesFor(namespace: string, service: string): EndpointSlice[] {
    return this.informer('EndpointSlice').store.byIndexKey(`${namespace}/${service}`);
  }

  on<K extends ResourceKind>(kind: K, handler: EventHandler<KindMap[K]>): () => void {
    return this.informer(kind).on(handler);
  }

  async start(): Promise<void> {
    this.started = true;
    for (const k of this.syncOnStart) if (this.informers.has(k)) this.markSynced(k);
  }

  waitForSync(timeoutMs: number): Promise<void> {
    return waitForKinds(this.kinds, (k) => this.informer(k), timeoutMs, this.stopController.signal);
  }

  hasSynced(): boolean {
    return this.kinds.every((k) => this.informer(k).hasSynced());
  }

  resourceVersion(): string {
    return this.hasSynced() ? String(this.rv) : '';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
  }
}

// Compile-time conformance check (no runtime cost): the fake is a SharedCache.
const _conformance: (fake: FakeSharedCache) => SharedCache = (fake) => fake;
void _conformance;
