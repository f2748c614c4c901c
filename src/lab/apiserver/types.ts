// In-process interface of the lab API server: what the lab's own components
// (controller-manager, kubelet, guest supervisor, scenario runner) and the
// tests use directly, next to the real HTTPS REST protocol that kubectl and
// the agent speak. Objects are full Kubernetes JSON (not slimmed).

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generateName?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/**
 * Kinds served: the six the agent watches plus Event and Lease, and the kinds
 * of the agent's own manifests (daemonset/*.yaml, checked with `kubectl create
 * --dry-run=server`): ServiceAccount, ConfigMap, DaemonSet, ClusterRole and
 * ClusterRoleBinding, stored only (nothing acts on them).
 */
export type LabKind =
  | 'Service'
  | 'EndpointSlice'
  | 'Node'
  | 'Pod'
  | 'Namespace'
  | 'NetworkPolicy'
  | 'Event'
  | 'Lease'
  | 'ServiceAccount'
  | 'ConfigMap'
  | 'DaemonSet'
  | 'ClusterRole'
  | 'ClusterRoleBinding';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: StoredObject;
}

export interface ObjectStore {
  /** Current global resourceVersion (one counter for every kind, as etcd's revision). */
  resourceVersion(): string;
  get(kind: LabKind, namespace: string | undefined, name: string): StoredObject | undefined;
  list(kind: LabKind, opts?: ListOptions): { items: StoredObject[]; resourceVersion: string };
  /**
   * Applies defaulting and validation as the REST path does; throws StatusError (4xx) on bad input.
   * A namespaced object's namespace (default "default") must exist (404 otherwise); the
   * namespaces default, kube-system, kube-public and kube-node-lease always do. As in
   * kube-apiserver, a created Pod's status is reset to {phase: Pending} and a Service's to
   * {loadBalancer: {}}: write status afterwards with `subresource: 'status'`.
   */
  create(kind: LabKind, obj: StoredObject): StoredObject;
  /**
   * Replaces an object. A metadata.resourceVersion in `obj` that is not the
   * current one throws a 409 StatusError. `subresource: 'status'` replaces only `.status`.
   */
  update(kind: LabKind, obj: StoredObject, opts?: { subresource?: 'status' }): StoredObject;
  /** JSON merge patch (RFC 7386) of one object. */
  patch(kind: LabKind, namespace: string | undefined, name: string, mergePatch: unknown, opts?: { subresource?: 'status' }): StoredObject;
  /**
   * Deletes an object. A Pod bound to a node (spec.nodeName) that is not
   * already terminating is only marked (metadata.deletionTimestamp set, a
   * MODIFIED event) unless gracePeriodSeconds is 0; its kubelet removes it.
   * An object with metadata.finalizers is only marked too, and goes when an
   * update removes the last finalizer. Deleting a namespace deletes its objects.
   * Returns undefined when the object does not exist.
   */
  delete(kind: LabKind, namespace: string | undefined, name: string, opts?: { gracePeriodSeconds?: number }): StoredObject | undefined;
  /**
   * Events after `fromResourceVersion` (exclusive), then live ones, for one
   * kind. '' or '0' starts with an ADDED event per current object, as
   * kube-apiserver does. Throws a 410 StatusError if that version was
   * compacted away. Events reach every watcher in resourceVersion order,
   * also when a callback writes to the store (such writes are queued).
   * Returns a function that stops the watch.
   */
  watch(kind: LabKind, fromResourceVersion: string, opts: ListOptions, onEvent: (ev: WatchEvent) => void): () => void;
}

/**
 * Admission hooks the store calls inside its writes (the lab's
 * controller-manager installs its Service allocation here, as
 * kube-apiserver's Service registry allocates inside create/update).
 * A hook may throw a StatusError (422 Invalid, 500): the write fails with it,
 * and REST clients get it as that Status. Objects handed to the hooks are
 * the store's own: return a new object rather than changing them.
 */
export interface AdmissionHooks {
  /** On create (REST and in-process, also an update that creates), after defaulting and validation, before storing: returns the object to store. */
  admitCreate(kind: LabKind, obj: StoredObject): StoredObject;
  /** On an update or patch of the main resource (not the status subresource), after validation: returns the object to store. */
  admitUpdate(kind: LabKind, next: StoredObject, cur: StoredObject): StoredObject;
  /** After an object is gone from the store (delete, last finalizer removed, namespace cascade, end of a graceful pod deletion). */
  afterDelete(kind: LabKind, obj: StoredObject): void;
}

export interface LabApiServer {
  readonly store: ObjectStore;
  /** https://host:port */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly caPem: string;
  /** A kubeconfig (YAML text) for kubectl and the agent, pointing at `server` (default: url). */
  kubeconfig(server?: string): string;
  /** Ends every open watch stream (clients must reconnect). */
  dropWatches(): void;
  /** Forgets the event history: watches from any older resourceVersion get 410 Gone. */
  compact(): void;
  /** Stops listening (open watches end) but keeps the store; start() serves again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** PEM: the CA (what clients trust), the serving certificate it signed and that certificate's private key. */
export interface ServingCerts {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface LabApiServerOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Listen address, default 127.0.0.1. */
  host?: string;
  /** Extra DNS names / IPs for the serving certificate (127.0.0.1 and localhost always included). */
  certHosts?: string[];
  /**
   * Ready-made certificates (e.g. made by the host before a VM boots) instead
   * of generating them; checked at start (key, CA signature, validity, and
   * that the certificate covers `host` and `certHosts`): KR_ERR_LAB otherwise.
   */
  certs?: ServingCerts;
  /** Objects to preload. */
  seed?: StoredObject[];
  /** How often watches that asked for bookmarks get one (ms, default 1000). */
  bookmarkIntervalMs?: number;
  /** Events kept for watch resumption before older versions answer 410 (default 10000). */
  historyLimit?: number;
  /** Called once per HTTP request (at its end; watches when they start). */
  onRequest?: (log: ApiRequestLog) => void;
}

export interface ApiRequestLog {
  method: string;
  url: string;
  code: number;
  ms: number;
  userAgent?: string;
  watch?: boolean;
}
