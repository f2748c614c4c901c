// The EndpointSlice controller wired to the store: Service, Pod, Node and
// EndpointSlice watch events become per-Service sync keys; a sync reads the
// current objects, runs the pure reconciler and makes its writes.
import { randomInt } from 'node:crypto';
import type { LabKind, ObjectStore, StoredObject, WatchEvent } from '../../apiserver/types.js';
import { errorMessage } from '../../../errors.js';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, LABEL_ZONE } from './constants.js';
import { formatTriggerTime, managesSlices, selectorMatches, serviceSelector } from './endpoints.js';
import { WorkQueue } from './queue.js';
import { reconcileService } from './reconciler.js';
import { asNode, asPod, asService, asSlice, objKey, toStored, type CmLogger, type EndpointSliceObj } from './types.js';

// k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable characters.
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[randomInt(ALPHANUMS.length)];
  return s;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function isStatus(err: unknown, code: number): boolean {
  const e = err as { httpCode?: unknown; context?: { httpCode?: unknown } } | null;
  return !!e && (e.httpCode === code || e.context?.httpCode === code);
}

export class EndpointSliceController {
  private readonly queue: WorkQueue;
  private readonly stops: (() => void)[] = [];
  private readonly podLabels = new Map<string, Record<string, string>>();
  private readonly nodeZones = new Map<string, string | undefined>();
  /** Earliest unsynced change per Service key (ms), for the trigger-time annotation. */
  private readonly triggers = new Map<string, number>();

  constructor(
    private readonly store: ObjectStore,
    private readonly maxEndpointsPerSlice: number,
    private readonly logger: CmLogger,
  ) {
    this.queue = new WorkQueue('endpointslice', (k) => this.sync(k), logger);
  }

  start(): void {
    const watchKind = (kind: LabKind, seed: (items: StoredObject[]) => void, on: (ev: WatchEvent) => void): void => {
      const { items, resourceVersion } = this.store.list(kind);
      seed(items);
      this.stops.push(this.store.watch(kind, resourceVersion, {}, (ev) => {
        if (ev.type !== 'BOOKMARK') on(ev);
      }));
    };
    watchKind('Node', (items) => {
      for (const n of items) this.nodeZones.set(n.metadata.name, asNode(n).metadata.labels?.[LABEL_ZONE]);
    }, (ev) => this.onNode(ev));
    watchKind('Pod', (items) => {
      for (const p of items) this.podLabels.set(objKey(p.metadata), { ...(p.metadata.labels ?? {}) });
    }, (ev) => this.onPod(ev));
    watchKind('Service', (items) => {
      for (const s of items) this.queue.add(objKey(s.metadata));
    }, (ev) => this.enqueue(objKey(ev.object.metadata), true));
    watchKind('EndpointSlice', (items) => {
      for (const s of items) this.onSlice(s); // orphans of deleted Services get cleaned up
    }, (ev) => this.onSlice(ev.object));
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.queue.stop();
  }

  isIdle(): boolean {
    return this.queue.isIdle();
  }

  private enqueue(key: string, trigger: boolean): void {
    if (trigger && !this.triggers.has(key)) this.triggers.set(key, Date.now());
    this.queue.add(key);
  }

  private onSlice(obj: StoredObject): void {
    const labels = obj.metadata.labels ?? {};
    const svc = labels[LABEL_SERVICE_NAME];
    if (labels[LABEL_MANAGED_BY] === CONTROLLER_NAME && svc && obj.metadata.namespace) {
      this.enqueue(`${obj.metadata.namespace}/${svc}`, false);
    }
  }

  private onPod(ev: WatchEvent): void {
    const key = objKey(ev.object.metadata);
    const before = this.podLabels.get(key);
    const now = ev.object.metadata.labels ?? {};
    if (ev.type === 'DELETED') this.podLabels.delete(key);
    else this.podLabels.set(key, { ...now });
    const ns = ev.object.metadata.namespace;
    for (const s of this.store.list('Service', { namespace: ns }).items) {
      const svc = asService(s);
      const sel = serviceSelector(svc);
      if (!sel || svc.metadata.namespace !== ns) continue;
      if (selectorMatches(sel, now) || (before && selectorMatches(sel, before))) this.enqueue(objKey(svc.metadata), true);
    }
  }

  private onNode(ev: WatchEvent): void {
    const name = ev.object.metadata.name;
    const zone = ev.object.metadata.labels?.[LABEL_ZONE];
    const known = this.nodeZones.has(name);
    if (ev.type === 'DELETED') this.nodeZones.delete(name);
    else if (known && this.nodeZones.get(name) === zone) return;
    else this.nodeZones.set(name, zone);
    // A node appeared, went away or changed zone: every managed Service may change.
    for (const s of this.store.list('Service').items) {
      if (managesSlices(asService(s))) this.enqueue(objKey(s.metadata), true);
    }
  }

  /** The managed slices of `ns/name`, from the store (not pending deletion). */
  private managedSlices(ns: string, name: string): EndpointSliceObj[] {
    const sel = `${LABEL_SERVICE_NAME}=${name},${LABEL_MANAGED_BY}=${CONTROLLER_NAME}`;
    return this.store
      .list('EndpointSlice', { namespace: ns, labelSelector: sel })
      .items.map(asSlice)
      .filter((s) => {
        const l = s.metadata.labels ?? {};
        return s.metadata.namespace === ns && l[LABEL_SERVICE_NAME] === name && l[LABEL_MANAGED_BY] === CONTROLLER_NAME && !s.metadata.deletionTimestamp;
      });
  }

  private sync(key: string): void {
    const [ns, name] = splitKey(key);
    const stored = this.store.get('Service', ns, name);
    const existing = this.managedSlices(ns, name);
    if (!stored || !managesSlices(asService(stored))) {
      // Deleted (garbage collection of owned slices), ExternalName or selector removed.
      for (const s of existing) this.deleteSlice(s);
      this.triggers.delete(key);
      return;
    }
    const service = asService(stored);
    const sel = serviceSelector(service) ?? {};
    const pods = this.store
      .list('Pod', { namespace: ns })
      .items.map(asPod)
      .filter((p) => p.metadata.namespace === ns && selectorMatches(sel, p.metadata.labels));
    const nodes = new Map<string, { zone?: string }>();
    for (const n of this.store.list('Node').items) nodes.set(n.metadata.name, { zone: n.metadata.labels?.[LABEL_ZONE] });
    const trig = this.triggers.get(key);
    const plan = reconcileService({
      service,
      pods,
      nodes,
      existing,
      maxEndpointsPerSlice: this.maxEndpointsPerSlice,
      triggerTime: trig === undefined ? undefined : formatTriggerTime(trig),
    });
    for (const s of plan.create) this.createSlice(s);
    for (const s of plan.update) this.store.update('EndpointSlice', toStored(s));
    for (const s of plan.delete) this.deleteSlice(s);
    this.triggers.delete(key);
    if (plan.skippedPods.length > 0) {
      this.logger.info({ service: key, pods: plan.skippedPods }, 'pods skipped: node not found');
    }
    if (plan.create.length + plan.update.length + plan.delete.length > 0) {
      this.logger.debug(
        { service: key, created: plan.create.length, updated: plan.update.length, deleted: plan.delete.length },
        'endpointslices synced',
      );
    }
  }

  /** Creates with a generated name (`<generateName><5 chars>`), retrying a name collision. */
  private createSlice(s: EndpointSliceObj): void {
    const prefix = s.metadata.generateName ?? `${s.metadata.labels?.[LABEL_SERVICE_NAME] ?? 'slice'}-`;
    for (let attempt = 0; ; attempt++) {
      const obj = structuredClone(s);
      obj.metadata.name = `${prefix}${randomSuffix()}`;
      try {
        this.store.create('EndpointSlice', toStored(obj));
        return;
      } catch (err) {
        if (attempt < 5 && isStatus(err, 409)) continue;
        throw err;
      }
    }
  }

  private deleteSlice(s: EndpointSliceObj): void {
    try {
      this.store.delete('EndpointSlice', s.metadata.namespace, s.metadata.name);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      this.logger.debug({ slice: objKey(s.metadata), err: errorMessage(err) }, 'slice already gone');
    }
  }
}
