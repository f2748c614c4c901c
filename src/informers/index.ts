// Public surface of the informers package.
export type { EventHandler, EventType, ResourceEvent, SharedCache, Store } from './cache.js';
export { createSharedCache, type SharedCacheOptions, type ReflectorTuning } from './shared-cache.js';
export { FakeSharedCache, type FakeSharedCacheOptions } from './fake-cache.js';
export { loadApiConnection, inClusterServer, SERVICE_ACCOUNT_DIR, type LoadApiConnectionOptions, type LoadKubeConfigOptions } from './kubeconfig.js';
export { nativeConnection, TOKEN_FILE_MAX_AGE_MS, type ApiConnection, type BasicAuth, type ConnectionSettings } from './credentials.js';
export { connectionAgent, createHttpTransport, type Transport, type TransportResponse } from './transport.js';
export { slim } from './slim.js';
export { compareResourceVersions, minResourceVersion } from './resource-version.js';
export * from './types.js';
