// The shared informer cache: one reflector + store per requested kind, all
// over one Transport (one keep-alive agent). See cache.ts for the contract.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { KubeRouterError } from '../errors.js';
import type { EventHandler, SharedCache, Store } from './cache.js';
import type { ApiConnection } from './credentials.js';
import { KindInformer } from './kind-informer.js';
import { waitForKinds } from './sync-wait.js';
import { createInformerMetrics } from './metrics.js';
import { Reflector, type ReflectorOptions } from './reflector.js';
import { minResourceVersion } from './resource-version.js';
import { endpointSliceServiceKey } from './store.js';
import { createHttpTransport, type Transport } from './transport.js';
import type { EndpointSlice, KindMap, KubeObject, ResourceKind } from './types.js';

/** Reflector tuning shared by every kind (tests shorten timeouts and backoff). */
export type ReflectorTuning = Omit<ReflectorOptions<ResourceKind>, 'kind' | 'transport' | 'sink' | 'logger' | 'metrics'>;

export interface SharedCacheOptions {
  /** Where to connect (loadApiConnection); not needed when `transport` is given. */
  kubeConfig?: ApiConnection;
  /** Kinds to list and watch (only these). */
  kinds: readonly ResourceKind[];
  logger: Logger;
  /** Registry for the kube_router_informer_* metrics. */
  metrics: Registry;
  /** Injected transport (tests); default: node:https from kubeConfig. */
  transport?: Transport;
  reflector?: ReflectorTuning;
}

class Cache implements SharedCache {
  readonly kinds: readonly ResourceKind[];
  private readonly informers = new Map<ResourceKind, KindInformer<KubeObject>>();
  private readonly reflectors: Reflector<ResourceKind>[] = [];
  private readonly transport: Transport;
  private started = false;
  private stopped = false;
  private readonly stopController = new AbortController();

  constructor(private readonly opts: SharedCacheOptions) {
    this.kinds = [...new Set(opts.kinds)];
    const metrics = createInformerMetrics(opts.metrics);
    if (opts.transport) {
      this.transport = opts.transport;
    } else if (opts.kubeConfig) {
      this.transport = createHttpTransport(opts.kubeConfig);
    } else {
      throw new KubeRouterError('KR_ERR_CONFIG', 'createSharedCache needs a kubeConfig or a transport', { field: 'kubeConfig' });
    }
    for (const kind of this.kinds) {
      const logger = opts.logger;
      const informer = new KindInformer<KubeObject>(kind, { logger, metrics }, kind === 'EndpointSlice' ? endpointSliceServiceKey : undefined);
      this.informers.set(kind, informer);
      this.reflectors.push(
        new Reflector<ResourceKind>({
          ...opts.reflector,
          kind,
          transport: this.transport,
          sink: informer as KindInformer<KindMap[ResourceKind]>,
          logger,
          metrics,
        }),
      );
    }
  }

  private informer<K extends ResourceKind>(kind: K): KindInformer<KindMap[K]> {
    const inf = this.informers.get(kind);
    if (!inf) {
      throw new KubeRouterError('KR_ERR_INTERNAL', `the shared cache does not watch ${kind} (kinds: ${this.kinds.join(', ')})`, { object: kind });
    }
    return inf as unknown as KindInformer<KindMap[K]>;
  }

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
    if (this.stopped) throw new KubeRouterError('KR_ERR_INTERNAL', 'the shared cache was stopped; it cannot be restarted');
    if (this.started) return;
    this.started = true;
    for (const r of this.reflectors) r.start();
    this.opts.logger.info({ kinds: this.kinds }, 'informer: cache started');
  }

  waitForSync(timeoutMs: number): Promise<void> {
    return waitForKinds(this.kinds, (k) => this.informer(k), timeoutMs, this.stopController.signal);
  }

  hasSynced(): boolean {
    for (const k of this.kinds) if (!this.informer(k).hasSynced()) return false;
    return true;
  }

  resourceVersion(): string {
    if (!this.hasSynced()) return '';
    return minResourceVersion(this.kinds.map((k) => this.informer(k).resourceVersion()));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort();
    const done = Promise.all(this.reflectors.map((r) => r.stop()));
    this.transport.close();
    await done;
    this.opts.logger.info('informer: cache stopped');
  }
}

export function createSharedCache(opts: SharedCacheOptions): SharedCache {
  return new Cache(opts);
}
