// Service allocation wired to the store. Two paths, one allocator:
// - admission (`admitCreate` / `admitUpdate`), called by the API server
//   inside create/update so the object is stored with its ClusterIP and
//   NodePorts, and a taken value is rejected with 422, as kube-apiserver does;
// - a watch (level-triggered, per `ns/name`) that records what is stored,
//   fills in what a Service created without the hook lacks, releases what
//   deleted Services held, and reports conflicts as Warning Events.
import type { LabKind, ObjectStore, StoredObject, WatchEvent } from '../../apiserver/types.js';
import { errorMessage } from '../../../errors.js';
import { canonical } from './endpoints.js';
import { AllocationError } from './errors.js';
import { recordEvent } from './events.js';
import { WorkQueue } from './queue.js';
import type { ServiceAllocator } from './service-alloc.js';
import { asService, objKey, toStored, type CmLogger, type ServiceObj } from './types.js';

const COMPONENT = 'service-ipallocator-controller';

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function eventReason(err: AllocationError): string {
  const port = /nodePort|healthCheckNodePort/.test(err.field);
  if (/already allocated/.test(err.detail)) return port ? 'PortAlreadyAllocated' : 'ClusterIPAlreadyAllocated';
  if (/not in the valid range/.test(err.detail)) return port ? 'PortOutOfRange' : 'ClusterIPOutOfRange';
  return port ? 'PortNotAllocated' : 'ClusterIPNotAllocated';
}

export class ServiceAllocController {
  private readonly queue: WorkQueue;
  private stopWatch: (() => void) | undefined;
  /** Last conflict reported per key, so a resync does not repeat the Event. */
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly store: ObjectStore,
    readonly allocator: ServiceAllocator,
    private readonly logger: CmLogger,
  ) {
    this.queue = new WorkQueue('service-alloc', (k) => this.sync(k), logger);
  }

  /**
   * Startup: first records the values every stored Service already has, so
   * that no new allocation can take one of them, then fills in the rest.
   */
  start(): void {
    const { items, resourceVersion } = this.store.list('Service');
    for (const o of items) {
      try {
        this.allocator.allocate(asService(o), { autoAllocate: false });
      } catch (err) {
        this.logger.warn({ service: objKey(o.metadata), err: errorMessage(err) }, 'stored service conflicts with another');
      }
    }
    this.stopWatch = this.store.watch('Service', resourceVersion, {}, (ev) => this.onEvent(ev));
    for (const o of items) this.queue.add(objKey(o.metadata));
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.queue.stop();
  }

  isIdle(): boolean {
    return this.queue.isIdle();
  }

  /** Admission for create: returns the object with its allocations; throws AllocationError (422/500). */
  admitCreate(kind: LabKind, obj: StoredObject): StoredObject {
    if (kind !== 'Service') return obj;
    const svc = asService(obj);
    const key = objKey(svc.metadata);
    // The store answers 409 for an existing name; its allocations are not ours to touch.
    if (this.store.get('Service', svc.metadata.namespace, svc.metadata.name)) return obj;
    const out = this.allocator.allocate(svc);
    // If the create fails after this, the next sync finds no object and releases.
    this.queue.add(key);
    return toStored(out);
  }

  /** Admission for update: keeps the old object's values where the new one omits them. */
  admitUpdate(kind: LabKind, obj: StoredObject, old: StoredObject): StoredObject {
    if (kind !== 'Service') return obj;
    const out = this.allocator.allocate(asService(obj), { old: asService(old) });
    this.queue.add(objKey(obj.metadata));
    return toStored(out);
  }

  /** After a delete: the Service's values are free at once (a re-create may request them). */
  afterDelete(kind: LabKind, obj: StoredObject): void {
    if (kind !== 'Service') return;
    const key = objKey(obj.metadata);
    if (!this.store.get('Service', obj.metadata.namespace, obj.metadata.name)) this.allocator.release(key);
    this.queue.add(key);
  }

  private onEvent(ev: WatchEvent): void {
    if (ev.type === 'BOOKMARK') return;
    this.queue.add(objKey(ev.object.metadata));
  }

  private sync(key: string): void {
    const [ns, name] = splitKey(key);
    const cur = this.store.get('Service', ns, name);
    if (!cur) {
      this.allocator.release(key);
      this.reported.delete(key);
      return;
    }
    const svc = asService(cur);
    let out: ServiceObj;
    try {
      out = this.allocator.allocate(svc);
    } catch (err) {
      if (!(err instanceof AllocationError)) throw err;
      if (this.reported.get(key) !== err.message) {
        this.reported.set(key, err.message);
        this.logger.warn({ service: key, err: err.message }, 'allocation failed');
        recordEvent(this.store, this.logger, svc, 'Warning', eventReason(err), err.message, COMPONENT);
      }
      return;
    }
    this.reported.delete(key);
    if (canonical(out.spec) === canonical(svc.spec)) return;
    // A 409 (the object moved on) throws and the queue retries with the new version.
    this.store.update('Service', toStored(out));
    this.logger.info({ service: key, clusterIPs: out.spec.clusterIPs }, 'allocated service values');
  }
}
