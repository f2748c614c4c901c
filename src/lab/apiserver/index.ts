// The lab API server: an in-memory Kubernetes API server speaking the real
// REST protocol over HTTPS (list/watch/get/create/update/patch/delete,
// discovery, Tables for kubectl), plus the in-process ObjectStore.

export type {
  AdmissionHooks,
  ApiRequestLog,
  LabApiServer,
  LabApiServerOptions,
  LabKind,
  ListOptions,
  ObjectStore,
  ServingCerts,
  StoredObject,
  WatchEvent,
} from './types.js';
export { startLabApiServer, type RunningLabApiServer } from './server.js';
export { LabStore, DEFAULT_NAMESPACES, type ListQuery, type WatchQuery, type DeleteOptions, type UpdateOptions } from './store.js';
export { KINDS, KIND_LIST, type KindInfo } from './kinds.js';
export { StatusError, isStatusError, type K8sStatus } from './status.js';
export { mergePatch, strategicMerge, jsonPatch } from './patch.js';
export { renderKubeconfig } from './kubeconfig.js';
export { makeServingCerts, makeServingCertsSync, checkServingCerts, DEFAULT_CERT_HOSTS, type CertKeyType } from './certs.js';
export { parseSeedYaml } from './seed.js';
