// The in-memory object store: one global resourceVersion, defaulting and
// validation on every write, event history for watch resumption, namespace
// cascade and graceful pod deletion. Stored objects are immutable (every
// write stores a new object); the public ObjectStore methods hand out
// copies, the *Raw methods (for the REST layer) the stored objects.

import { randomUUID } from 'node:crypto';
import type { AdmissionHooks, LabKind, ListOptions, ObjectStore, StoredObject, WatchEvent } from './types.js';
import { KINDS, isLabKind, type KindInfo } from './kinds.js';
import { History, type EventType, type HistoryEntry } from './history.js';
import { WatchHub, objectFilter, type RawWatchEvent } from './watch-hub.js';
import { continueExpired, cutPage, decodeContinue, snapshotAt, type Page } from './paging.js';
import { prepareCreate, prepareUpdate } from './write-prep.js';
import { mergePatch } from './patch.js';
import { deepClone, isObject, jsonEqual, rfc3339 } from './obj.js';
import {
  StatusError,
  alreadyExists,
  badRequest,
  conflict,
  notFound,
  tooOldResourceVersion,
  STALE_OBJECT,
} from './status.js';

export interface WriteOptions {
  /** Validate and return the result without storing it (`dryRun=All`). */
  dryRun?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  subresource?: 'status';
}

export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListQuery extends ListOptions {
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface WatchQuery extends ListOptions {
  /** Start with ADDED events for the current state whatever the resourceVersion (sendInitialEvents=true). */
  sendInitialEvents?: boolean;
}

export interface StoreOptions {
  historyLimit?: number;
}

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The NamespaceLifecycle admission plugin refuses to delete these. */
const IMMORTAL_NAMESPACES = ['default', 'kube-system', 'kube-public'];

function keyOf(info: KindInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${namespace ?? ''}/${name}` : name;
}

export function kindInfo(kind: string): KindInfo {
  if (!isLabKind(kind)) throw badRequest(`unknown kind "${kind}"`);
  return KINDS[kind];
}

function parseRV(rv: string, what = 'resource version'): number {
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid ${what}: "${rv}"`);
  return Number(rv);
}

export class LabStore implements ObjectStore {
  private rv = 0;
  private readonly objects = new Map<LabKind, Map<string, StoredObject>>();
  private readonly history: History;
  private readonly hub = new WatchHub();
  private admission: AdmissionHooks | undefined;

  constructor(opts: StoreOptions = {}) {
    this.history = new History(opts.historyLimit ?? 10_000);
    for (const k of Object.keys(KINDS) as LabKind[]) this.objects.set(k, new Map());
  }

  private table(kind: LabKind): Map<string, StoredObject> {
    return this.objects.get(kind) as Map<string, StoredObject>;
  }

  resourceVersion(): string {
    return String(this.rv);
  }

  /** Oldest resourceVersion a watch can still resume from. */
  compactedResourceVersion(): string {
    return String(this.history.compactedRV);
  }

  /** Forgets the event history: watches and continues from older versions get 410. */
  compact(): void {
    this.history.compact(this.rv);
  }

  /** Installs (or, with undefined, removes) the admission hooks called inside every write. */
  setAdmission(hooks: AdmissionHooks | undefined): void {
    this.admission = hooks;
  }

  watcherCount(): number {
    return this.hub.count();
  }

  // ---- reads ----

  getRaw(kind: LabKind, namespace: string | undefined, name: string): StoredObject | undefined {
    const info = kindInfo(kind);
    return this.table(kind).get(keyOf(info, namespace, name));
  }

  get(kind: LabKind, namespace: string | undefined, name: string): StoredObject | undefined {
    const o = this.getRaw(kind, namespace, name);
    return o === undefined ? undefined : deepClone(o);
  }

  listRaw(kind: LabKind, q: ListQuery = {}): Page {
    const info = kindInfo(kind);
    const filter = objectFilter(info, q);
    const current = this.table(kind);
    let rv = this.rv;
    let start: string | undefined;
    if (q.continue !== undefined && q.continue !== '') {
      const t = decodeContinue(q.continue);
      rv = t.rv;
      start = t.start;
      if (rv > this.rv) throw badRequest(`continue key is not valid: resource version ${rv} is in the future`);
      const state = snapshotAt(current, kind, rv, this.rv, this.history, continueExpired);
      return cutPage(state, rv, filter, q.limit, start, !q.labelSelector && !q.fieldSelector);
    }
    const asked = q.resourceVersion ?? '';
    if (q.resourceVersionMatch !== undefined && q.resourceVersionMatch !== '') {
      if (q.resourceVersionMatch !== 'Exact' && q.resourceVersionMatch !== 'NotOlderThan') {
        throw badRequest(`resourceVersionMatch: Unsupported value: "${q.resourceVersionMatch}"`);
      }
      if (asked === '') throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    }
    if (asked !== '' && asked !== '0') {
      const want = parseRV(asked);
      if (want > this.rv) {
        throw new StatusError(504, 'Timeout', `Too large resource version: ${want}, current: ${this.rv}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      if (q.resourceVersionMatch === 'Exact') rv = want;
    }
    const state = snapshotAt(current, kind, rv, this.rv, this.history, () => tooOldResourceVersion(rv, this.history.compactedRV));
    return cutPage(state, rv, filter, q.limit, undefined, !q.labelSelector && !q.fieldSelector);
  }

  list(kind: LabKind, opts: ListOptions = {}): { items: StoredObject[]; resourceVersion: string } {
    const page = this.listRaw(kind, { namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    return { items: page.items.map((o) => deepClone(o)), resourceVersion: page.resourceVersion };
  }

  // ---- writes ----

  private commit(info: KindInfo, type: EventType, obj: StoredObject, prev: StoredObject | undefined): StoredObject {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    const key = keyOf(info, obj.metadata.namespace, obj.metadata.name);
    if (type === 'DELETED') this.table(info.kind).delete(key);
    else this.table(info.kind).set(key, obj);
    const e: HistoryEntry = { rv: this.rv, kind: info.kind, key, type, object: obj };
    if (prev !== undefined) e.prev = prev;
    this.history.append(e);
    this.hub.publish(e);
    if (type === 'DELETED') this.admission?.afterDelete(info.kind, obj);
    return obj;
  }

  createRaw(kind: LabKind, input: StoredObject, opts: WriteOptions = {}): StoredObject {
    const info = kindInfo(kind);
    const prepared = prepareCreate(info, input, (ns) => this.namespaceState(ns));
    const key = keyOf(info, prepared.metadata.namespace, prepared.metadata.name);
    if (this.table(kind).has(key)) throw alreadyExists(info, prepared.metadata.name);
    const obj = this.admission === undefined ? prepared : this.admitted(info, prepared, this.admission.admitCreate(kind, prepared));
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = rfc3339();
    obj.metadata.generation = 1;
    if (opts.dryRun === true) return obj;
    return this.commit(info, 'ADDED', obj, undefined);
  }

  create(kind: LabKind, obj: StoredObject): StoredObject {
    return deepClone(this.createRaw(kind, obj));
  }

  /** What an admission hook returned, checked to still be the same object. */
  private admitted(info: KindInfo, prepared: StoredObject, out: StoredObject): StoredObject {
    if (!isObject(out) || !isObject(out.metadata) || out.metadata.name !== prepared.metadata.name || out.metadata.namespace !== prepared.metadata.namespace) {
      throw new StatusError(500, 'InternalError', `Internal error occurred: admission of ${info.kind} "${prepared.metadata.name}" returned another object`);
    }
    return out;
  }

  private namespaceState(ns: string): 'missing' | 'active' | 'terminating' {
    const o = this.table('Namespace').get(ns);
    if (o === undefined) return 'missing';
    return o.metadata.deletionTimestamp !== undefined ? 'terminating' : 'active';
  }

  private mustGet(info: KindInfo, namespace: string | undefined, name: string): StoredObject {
    const cur = this.table(info.kind).get(keyOf(info, namespace, name));
    if (cur === undefined) throw notFound(info, name);
    return cur;
  }

  /** Stores `next` (a fresh copy the caller built from `cur`) unless nothing changed. */
  private replace(info: KindInfo, cur: StoredObject, input: StoredObject, opts: UpdateOptions): StoredObject {
    const want = input.metadata.resourceVersion;
    if (want !== undefined && want !== '' && want !== cur.metadata.resourceVersion) throw conflict(info, cur.metadata.name, STALE_OBJECT);
    if (input.metadata.uid !== undefined && input.metadata.uid !== '' && input.metadata.uid !== cur.metadata.uid) {
      throw conflict(info, cur.metadata.name, `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
    }
    const prepared = prepareUpdate(info, cur, input, opts.subresource);
    const next = this.admission === undefined || opts.subresource !== undefined ? prepared : this.admitted(info, prepared, this.admission.admitUpdate(info.kind, prepared, cur));
    const unchanged = jsonEqual({ ...next, metadata: { ...next.metadata, resourceVersion: undefined } }, { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined } });
    if (unchanged || opts.dryRun === true) return unchanged ? cur : next;
    const stored = this.commit(info, 'MODIFIED', next, cur);
    const md = stored.metadata;
    const finalizers = Array.isArray(md.finalizers) ? md.finalizers : [];
    if (md.deletionTimestamp !== undefined && finalizers.length === 0 && Array.isArray(cur.metadata.finalizers) && cur.metadata.finalizers.length > 0) {
      // The last finalizer went away from an object being deleted: it is gone now.
      this.commit(info, 'DELETED', deepClone(stored), stored);
    }
    return stored;
  }

  updateRaw(kind: LabKind, input: StoredObject, opts: UpdateOptions = {}): StoredObject {
    const info = kindInfo(kind);
    if (!isObject(input) || !isObject(input.metadata)) throw badRequest('object has no metadata');
    const ns = info.namespaced ? (input.metadata.namespace ?? 'default') : undefined;
    const cur = this.table(kind).get(keyOf(info, ns, input.metadata.name));
    if (cur === undefined) {
      if (info.allowCreateOnUpdate && opts.subresource === undefined) {
        const fresh = { ...input, metadata: { ...input.metadata, resourceVersion: undefined } };
        return this.createRaw(kind, fresh, opts);
      }
      throw notFound(info, input.metadata.name);
    }
    return this.replace(info, cur, input, opts);
  }

  update(kind: LabKind, obj: StoredObject, opts: { subresource?: 'status' } = {}): StoredObject {
    return deepClone(this.updateRaw(kind, obj, opts));
  }

  /**
   * Read-modify-write of one object: `fn` gets a copy of the current object
   * and returns the new one (a patch). A metadata.resourceVersion that the
   * result carries and that is not the current one is a 409.
   */
  mutateRaw(kind: LabKind, namespace: string | undefined, name: string, fn: (cur: StoredObject) => StoredObject, opts: UpdateOptions = {}): StoredObject {
    const info = kindInfo(kind);
    const cur = this.mustGet(info, namespace, name);
    const next = fn(deepClone(cur));
    if (!isObject(next) || !isObject(next.metadata)) throw badRequest('the patch removed the object metadata');
    if (next.metadata.name !== name) throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`);
    if (info.namespaced && next.metadata.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    return this.replace(info, cur, next, opts);
  }

  patch(kind: LabKind, namespace: string | undefined, name: string, patchDoc: unknown, opts: { subresource?: 'status' } = {}): StoredObject {
    return deepClone(this.mutateRaw(kind, namespace, name, (cur) => mergePatch(cur, patchDoc) as StoredObject, opts));
  }

  /** DELETE; `deleted` tells whether the object is gone (false: marked for graceful deletion). */
  deleteRaw(kind: LabKind, namespace: string | undefined, name: string, opts: DeleteOptions = {}): { object: StoredObject; deleted: boolean } {
    const info = kindInfo(kind);
    const cur = this.mustGet(info, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid !== undefined && pre.uid !== cur.metadata.uid) {
      throw conflict(info, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(info, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`);
    }
    if (kind === 'Namespace' && IMMORTAL_NAMESPACES.includes(name)) {
      throw new StatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (kind === 'Pod') {
      const marked = this.gracefulPodDelete(info, cur, opts);
      if (marked !== undefined) return { object: marked, deleted: false };
    }
    const finalizers = cur.metadata.finalizers;
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      // Finalizers hold the object: it is only marked, and goes when the last one is removed.
      if (cur.metadata.deletionTimestamp !== undefined || opts.dryRun === true) return { object: cur, deleted: false };
      const next = deepClone(cur);
      next.metadata.deletionTimestamp = rfc3339();
      next.metadata.deletionGracePeriodSeconds = 0;
      return { object: this.commit(info, 'MODIFIED', next, cur), deleted: false };
    }
    if (opts.dryRun === true) return { object: cur, deleted: true };
    if (kind === 'Namespace') return { object: this.deleteNamespace(info, cur), deleted: true };
    return { object: this.commit(info, 'DELETED', deepClone(cur), cur), deleted: true };
  }

  delete(kind: LabKind, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number } = {}): StoredObject | undefined {
    try {
      return deepClone(this.deleteRaw(kind, namespace, name, opts).object);
    } catch (err) {
      if (err instanceof StatusError && err.httpCode === 404) return undefined;
      throw err;
    }
  }

  /** Marks a running pod bound to a node (the object to return), or undefined to delete it now. */
  private gracefulPodDelete(info: KindInfo, cur: StoredObject, opts: DeleteOptions): StoredObject | undefined {
    const spec = isObject(cur.spec) ? cur.spec : {};
    const phase = isObject(cur.status) ? cur.status.phase : undefined;
    if (typeof spec.nodeName !== 'string' || spec.nodeName === '' || phase === 'Succeeded' || phase === 'Failed') return undefined;
    const specGrace = typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
    const grace = opts.gracePeriodSeconds ?? specGrace;
    if (grace <= 0) return undefined;
    const md = cur.metadata;
    if (md.deletionTimestamp !== undefined && (md.deletionGracePeriodSeconds ?? 0) <= grace) return cur;
    const next = deepClone(cur);
    next.metadata.deletionTimestamp = rfc3339(new Date(Date.now() + grace * 1000));
    next.metadata.deletionGracePeriodSeconds = grace;
    if (opts.dryRun === true) return next;
    return this.commit(info, 'MODIFIED', next, cur);
  }

  /** Namespace deletion: marked Terminating, its objects deleted, then the namespace itself. */
  private deleteNamespace(info: KindInfo, cur: StoredObject): StoredObject {
    const ns = cur.metadata.name;
    const terminating = deepClone(cur);
    terminating.metadata.deletionTimestamp = rfc3339();
    terminating.metadata.deletionGracePeriodSeconds = 0;
    terminating.status = { ...(isObject(cur.status) ? cur.status : {}), phase: 'Terminating' };
    const marked = this.commit(info, 'MODIFIED', terminating, cur);
    for (const k of Object.values(KINDS)) {
      if (!k.namespaced) continue;
      const table = this.table(k.kind);
      for (const o of [...table.values()]) {
        if (o.metadata.namespace === ns) this.commit(k, 'DELETED', deepClone(o), o);
      }
    }
    const result = deepClone(marked);
    this.commit(info, 'DELETED', deepClone(marked), marked);
    return result;
  }

  // ---- watch ----

  /**
   * Watch with stored objects. fromRV '' or '0': ADDED for the current state
   * first (as kube-apiserver does), then live events. Throws 410 when the
   * version was compacted away.
   */
  watchRaw(kind: LabKind, fromRV: string, q: WatchQuery, onEvent: (ev: RawWatchEvent) => void, onError?: (err: unknown) => void): () => void {
    const info = kindInfo(kind);
    const filter = objectFilter(info, q);
    const initial = fromRV === '' || fromRV === '0' || q.sendInitialEvents === true;
    const from = initial ? this.rv : parseRV(fromRV);
    if (!initial) this.history.check(from);
    const w = { kind, filter, lastRV: from, onEvent, onError };
    if (initial) {
      for (const key of [...this.table(kind).keys()].sort()) {
        const o = this.table(kind).get(key) as StoredObject;
        if (filter(o)) onEvent({ type: 'ADDED', object: o, rv: Number(o.metadata.resourceVersion) });
      }
    } else {
      for (const e of this.history.since(from)) {
        if (e.kind === kind) this.hub.deliver(w, e);
      }
      w.lastRV = Math.max(w.lastRV, this.rv);
    }
    return this.hub.add(w);
  }

  watch(kind: LabKind, fromResourceVersion: string, opts: ListOptions, onEvent: (ev: WatchEvent) => void): () => void {
    return this.watchRaw(kind, fromResourceVersion, opts, (ev) => onEvent({ type: ev.type, object: deepClone(ev.object) }));
  }

  /** Preloads objects (namespaces first); creates the default namespaces. */
  seed(objects: StoredObject[]): void {
    for (const ns of DEFAULT_NAMESPACES) {
      if (this.getRaw('Namespace', undefined, ns) === undefined) this.createRaw('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
    const ordered = [...objects].sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
    for (const o of ordered) {
      const kind = kindInfo(o.kind).kind;
      const info = KINDS[kind];
      if (info.namespaced && o.metadata.namespace !== undefined && this.namespaceState(o.metadata.namespace) === 'missing') {
        this.createRaw('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.metadata.namespace } });
      }
      if (this.getRaw(kind, info.namespaced ? (o.metadata.namespace ?? 'default') : undefined, o.metadata.name) !== undefined) continue;
      const created = this.createRaw(kind, o);
      // Seeds may carry status (node addresses, pod IPs): keep it as given.
      if (info.statusSubresource && isObject(o.status)) this.updateRaw(kind, { ...created, status: o.status }, { subresource: 'status' });
    }
  }
}
