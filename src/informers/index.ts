// Public surface of the informers package.
export type { EventHandler, EventType, ResourceEvent, SharedCache, Store } from './cache.js';
export { createSharedCache, type SharedCacheOptions, type ReflectorTuning } from './shared-cache.js';
export { FakeSharedCache, type FakeSharedCacheOptions } from './fake-cache.js';
export { loadKubeConfig, type LoadKubeConfigOptions } from './kubeconfig.js';
export { createHttpTransport, type Transport, type TransportResponse } from './transport.js';
export { slim } from './slim.js';
export { compareResourceVersions, minResourceVersion } from './resource-version.js';
export * from './types.js';
