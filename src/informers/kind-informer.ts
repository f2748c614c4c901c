// One kind's store + subscribers. It is the reflector's sink: list items,
// watch events and bookmarks come in, the store is updated first, then the
// event is handed synchronously, in order, to every handler (so a handler
// reading the store sees the new state). Handlers are isolated: one that
// throws is logged and counted, the others still run.
//
// Event rules (no lost and no duplicate events across reconnects/relists):
//   list item, not cached               → add
//   list item, resourceVersion changed  → update (old = cached copy)
//   list item, same resourceVersion     → nothing (cached copy kept)
//   end of list, cached but not listed  → delete (obj = old = last cached copy)
//   ADDED/MODIFIED                      → add if not cached, else update unless same resourceVersion
//   DELETED                             → delete (obj = final state, old = cached) if cached, else nothing

import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { EventHandler, EventType, ResourceEvent } from './cache.js';
import type { InformerMetrics } from './metrics.js';
import { newerResourceVersion } from './resource-version.js';
import { IndexedStore, type IndexFn } from './store.js';
import { RESOURCES, objectKey, type KubeObject, type ResourceKind } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What a reflector feeds. */
export interface ReflectorSink<T> {
  /** One item of a (re)list, in list order. */
  listItem(obj: T): void;
  /** The list is complete: `seen` holds the keys of every listed item. */
  listDone(seen: ReadonlySet<string>, resourceVersion: string): void;
  watchEvent(type: WatchEventType, obj: T): void;
  /** A deletion whose final object could not be decoded: delete the cached copy, if any. */
  removeKey(key: string): void;
  bookmark(resourceVersion: string): void;
}

export interface KindInformerDeps {
  logger: Logger;
  metrics: InformerMetrics;
}

export class KindInformer<T extends KubeObject> implements ReflectorSink<T> {
  readonly store: IndexedStore<T>;
  private handlers: EventHandler<T>[] = [];
  private synced = false;
  private rv = '';
  private readonly resource: string;
  private readonly eventCounters: Record<EventType, Counter.Internal>;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    readonly kind: ResourceKind,
    private readonly deps: KindInformerDeps,
    indexFn?: IndexFn<T>,
  ) {
    this.store = new IndexedStore<T>(indexFn);
    this.resource = RESOURCES[kind].plural;
    const ev = deps.metrics.events;
    this.eventCounters = {
      add: ev.labels(this.resource, 'add'),
      update: ev.labels(this.resource, 'update'),
      delete: ev.labels(this.resource, 'delete'),
    };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves on the first completed list. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Newest resourceVersion seen (list, event or bookmark); '' before the first list. */
  resourceVersion(): string {
    return this.synced ? this.rv : '';
  }

  on(handler: EventHandler<T>): () => void {
    this.handlers = [...this.handlers, handler];
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  listItem(obj: T): void {
    this.upsert(obj);
  }

  listDone(seen: ReadonlySet<string>, resourceVersion: string): void {
    const gone: string[] = [];
    for (const key of this.store.keys()) if (!seen.has(key)) gone.push(key);
    for (const key of gone) {
      const old = this.store.remove(key);
      if (old !== undefined) this.emit({ type: 'delete', obj: old, old });
    }
    this.rv = newerResourceVersion(this.rv, resourceVersion);
    this.deps.metrics.objects.labels(this.resource).set(this.store.size());
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  watchEvent(type: WatchEventType, obj: T): void {
    if (type === 'DELETED') {
      const key = objectKey(obj);
      const old = this.store.remove(key);
      if (old === undefined) {
        this.deps.logger.debug({ kind: this.kind, key }, 'informer: DELETED for an object not in the cache (already deleted)');
      } else {
        this.emit({ type: 'delete', obj, old });
      }
    } else {
      this.upsert(obj);
    }
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined) this.rv = newerResourceVersion(this.rv, rv);
    this.deps.metrics.objects.labels(this.resource).set(this.store.size());
  }

  removeKey(key: string): void {
    const old = this.store.remove(key);
    if (old !== undefined) this.emit({ type: 'delete', obj: old, old });
    this.deps.metrics.objects.labels(this.resource).set(this.store.size());
  }

  bookmark(resourceVersion: string): void {
    this.rv = newerResourceVersion(this.rv, resourceVersion);
  }

  private upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (old !== undefined && old.metadata.resourceVersion !== undefined && old.metadata.resourceVersion === obj.metadata.resourceVersion) {
      return; // unchanged: no event, keep the cached copy
    }
    this.store.put(obj, key);
    if (old === undefined) this.emit({ type: 'add', obj });
    else this.emit({ type: 'update', obj, old });
  }

  private emit(event: ResourceEvent<T>): void {
    this.eventCounters[event.type].inc();
    const hs = this.handlers; // a snapshot: (un)subscribing inside a handler takes effect next event
    for (let i = 0; i < hs.length; i++) {
      try {
        hs[i](event);
      } catch (err) {
        this.deps.metrics.handlerErrors.labels(this.resource).inc();
        const m = event.obj.metadata;
        this.deps.logger.error(
          { err, kind: this.kind, object: m.namespace ? `${m.namespace}/${m.name}` : m.name, event: event.type },
          'informer: event handler threw',
        );
      }
    }
  }
}
