// waitForSync for both caches: resolves when every kind has listed, rejects
// with KR_ERR_CACHE_SYNC naming the kinds that did not after timeoutMs, or at
// once when the cache is stopped (so no timer outlives a stopped cache).

import { KubeRouterError } from '../errors.js';
import type { ResourceKind } from './types.js';

export interface SyncSource {
  hasSynced(): boolean;
  whenSynced(): Promise<void>;
}

export function waitForKinds(
  kinds: readonly ResourceKind[],
  informer: (kind: ResourceKind) => SyncSource,
  timeoutMs: number,
  stopped: AbortSignal,
): Promise<void> {
  if (kinds.every((k) => informer(k).hasSynced())) return Promise.resolve();
  const missing = (): ResourceKind[] => kinds.filter((k) => !informer(k).hasSynced());
  return new Promise<void>((resolve, reject) => {
    const done = (err?: KubeRouterError): void => {
      clearTimeout(timer);
      stopped.removeEventListener('abort', onStop);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      const m = missing();
      done(new KubeRouterError('KR_ERR_CACHE_SYNC', `informer caches not synced after ${timeoutMs} ms: ${m.join(', ')} not listed`, { missing: m, timeoutMs }));
    }, timeoutMs);
    const onStop = (): void => {
      const m = missing();
      done(new KubeRouterError('KR_ERR_CACHE_SYNC', `informer cache stopped before ${m.join(', ')} listed`, { missing: m, timeoutMs }));
    };
    if (stopped.aborted) {
      onStop();
      return;
    }
    stopped.addEventListener('abort', onStop, { once: true });
    Promise.all(kinds.map((k) => informer(k).whenSynced())).then(() => done(), () => undefined);
  });
}
