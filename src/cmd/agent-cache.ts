// A SharedCache handle the agent gives controllers before the real cache
// exists: the cache can only be created once the controllers have said which
// kinds they need (Controller.kinds), so controllers are constructed with this
// handle and the real cache is bound to it afterwards. Under --cleanup-config
// it is never bound (cleanup must not need the API server); any use throws.

import { KubeRouterError } from '../errors.js';
import type { EventHandler, SharedCache, Store } from '../informers/cache.js';
import type { EndpointSlice, KindMap, ResourceKind } from '../informers/types.js';

export class CacheHandle implements SharedCache {
  private target?: SharedCache;

  bind(cache: SharedCache): void {
    this.target = cache;
  }

  private cache(): SharedCache {
    if (!this.target) {
      throw new KubeRouterError('KR_ERR_INTERNAL', 'the informer cache is not available yet (constructor or --cleanup-config)');
    }
    return this.target;
  }

  get kinds(): readonly ResourceKind[] {
    return this.target?.kinds ?? [];
  }

  store<K extends ResourceKind>(kind: K): Store<KindMap[K]> {
    return this.cache().store(kind);
  }

  endpointSlicesFor(namespace: string, service: string): EndpointSlice[] {
    return this.cache().endpointSlicesFor(namespace, service);
  }

  on<K extends ResourceKind>(kind: K, handler: EventHandler<KindMap[K]>): () => void {
    return this.cache().on(kind, handler);
  }

  start(): Promise<void> {
    return this.cache().start();
  }

  waitForSync(timeoutMs: number): Promise<void> {
    return this.cache().waitForSync(timeoutMs);
  }

  hasSynced(): boolean {
    return this.target?.hasSynced() ?? false;
  }

  resourceVersion(): string {
    return this.target?.resourceVersion() ?? '';
  }

  stop(): Promise<void> {
    return this.target?.stop() ?? Promise.resolve();
  }
}
