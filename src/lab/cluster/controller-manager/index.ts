// The lab's controller-manager: registers the lab nodes and allocates their
// podCIDRs (node-ipam, one per configured family), allocates Service
// ClusterIPs (one per family the Service has) / NodePorts (what
// kube-apiserver's service registry does), maintains EndpointSlices
// (endpointslice controller), and creates the namespaces and the
// `kubernetes` Service every cluster has. Works on the lab API server's
// in-process store.
import type { LabKind, ObjectStore, StoredObject } from '../../apiserver/types.js';
import { ensureKubernetesService, ensureNamespaces, type ApiServerEndpoint } from './bootstrap.js';
import { AllocationError } from './errors.js';
import { NodeIpam } from './node-ipam.js';
import { NodeController, type LabNodeSpec } from './nodes.js';
import { ServiceAllocator } from './service-alloc.js';
import { ServiceAllocController } from './services.js';
import { EndpointSliceController } from './slices.js';
import { silentLogger, type CmLogger } from './types.js';

export type { LabNodeSpec } from './nodes.js';
export type { ApiServerEndpoint } from './bootstrap.js';
export type { CmLogger } from './types.js';
export { AllocationError } from './errors.js';
export { reconcileService, type ReconcileInput, type ReconcilePlan } from './reconciler.js';
export { ServiceAllocator } from './service-alloc.js';
export { NodeIpam, PodCidrAllocator } from './node-ipam.js';
export { initIPFamilyFields, type IPFamilyPolicy } from './ip-families.js';

export interface ControllerManagerOptions {
  store: ObjectStore;
  nodes: LabNodeSpec[];
  /**
   * Pod network, default 10.244.0.0/16. A list of two (one IPv4, one IPv6;
   * the first is the primary family, spec.podCIDR) makes every Node
   * dual-stack, as kube-controller-manager's --cluster-cidr=v4,v6.
   */
  clusterCidr?: string | readonly string[];
  /** Per-node IPv4 subnet size, default 24 (--node-cidr-mask-size-ipv4). */
  nodeCidrMaskSize?: number;
  /** Per-node IPv6 subnet size, default 64 (--node-cidr-mask-size-ipv6). */
  nodeCidrMaskSizeIPv6?: number;
  /**
   * Service ClusterIP range(s), default 10.96.0.0/12. A list of two (one per
   * family, primary first) enables dual-stack Services, as kube-apiserver's
   * --service-cluster-ip-range=v4,v6.
   */
  serviceCidr?: string | readonly string[];
  /** Inclusive, default [30000, 32767]. */
  nodePortRange?: [number, number];
  /** Where the `kubernetes` Service's EndpointSlice points. */
  apiServerEndpoint: ApiServerEndpoint;
  /** Default 100. */
  maxEndpointsPerSlice?: number;
  logger?: CmLogger;
  /** Random source of the ClusterIP / NodePort scans (tests). */
  random?: () => number;
}

/**
 * Allocation inside the API server's create/update, as kube-apiserver's
 * Service registry does it. Call after defaulting and validation, before
 * storing; an AllocationError carries `httpCode` 422 (Invalid) or 500.
 */
export interface AdmissionHooks {
  /** Returns the object to store (a copy with ClusterIP / NodePorts filled in), or throws AllocationError. */
  admitCreate(kind: LabKind, obj: StoredObject): StoredObject;
  /** Same for an update replacing `old`; omitted allocated values are kept from `old`. */
  admitUpdate(kind: LabKind, obj: StoredObject, old: StoredObject): StoredObject;
  /** After an object was deleted (releases a Service's values at once). */
  afterDelete(kind: LabKind, obj: StoredObject): void;
}

/**
 * A store that can call admission hooks inside create/update/delete. When
 * the store passed in has `setAdmission`, the controller-manager installs
 * its hooks there at start (and removes them on stop), so Services are
 * stored with their ClusterIP and NodePorts already set.
 */
export interface AdmissionCapableStore {
  setAdmission(hooks: AdmissionHooks | undefined): void;
}

function admissionCapable(store: ObjectStore): store is ObjectStore & AdmissionCapableStore {
  return typeof (store as Partial<AdmissionCapableStore>).setAdmission === 'function';
}

export interface ControllerManager extends AdmissionHooks {
  /** Whether the hooks are installed in the store (else allocation runs from the watch). */
  readonly admissionInstalled: boolean;
  /** Alias of admitCreate: the synchronous allocation hook. */
  allocateOnCreate(kind: LabKind, obj: StoredObject): StoredObject;
  /** Registers (or refreshes) a node, allocating its podCIDR; returns the stored Node. */
  addNode(node: LabNodeSpec): StoredObject;
  /** Deletes a node's Node object and frees its podCIDR. */
  removeNode(name: string): void;
  /** The (primary) podCIDR the allocator gave a node. */
  podCIDROf(name: string): string | undefined;
  /** Every podCIDR the allocator gave a node, in the configured family order. */
  podCIDRsOf(name: string): string[] | undefined;
  /** Resolves once no sync is queued or running in any controller. */
  idle(): Promise<void>;
  /** Ends the watches and the queues (and uninstalls the admission hooks). Resolves at once. */
  stop(): Promise<void>;
}

export async function startControllerManager(opts: ControllerManagerOptions): Promise<ControllerManager> {
  const logger = opts.logger ?? silentLogger;
  const store = opts.store;
  const cidrs = new NodeIpam({
    clusterCidrs: opts.clusterCidr ?? '10.244.0.0/16',
    maskSizeIPv4: opts.nodeCidrMaskSize ?? 24,
    maskSizeIPv6: opts.nodeCidrMaskSizeIPv6 ?? 64,
  });
  const allocator = new ServiceAllocator({
    serviceCidr: opts.serviceCidr ?? '10.96.0.0/12',
    nodePortRange: opts.nodePortRange ?? [30000, 32767],
    random: opts.random,
  });
  const services = new ServiceAllocController(store, allocator, logger);
  const nodes = new NodeController(store, cidrs, logger);
  const slices = new EndpointSliceController(store, opts.maxEndpointsPerSlice ?? 100, logger);

  ensureNamespaces(store);
  // Record stored values first, then the `kubernetes` Service takes the first address.
  services.start();
  ensureKubernetesService(store, allocator, opts.apiServerEndpoint);
  const nodeRV = nodes.recordExisting();
  for (const n of opts.nodes) nodes.register(n);
  nodes.watch(nodeRV);
  slices.start();

  const hooked = admissionCapable(store);
  let stopped = false;
  const allIdle = (): boolean => services.isIdle() && slices.isIdle() && nodes.isIdle();
  const cm: ControllerManager = {
    admissionInstalled: hooked,
    admitCreate: (kind, obj) => services.admitCreate(kind, obj),
    admitUpdate: (kind, obj, old) => services.admitUpdate(kind, obj, old),
    afterDelete: (kind, obj) => services.afterDelete(kind, obj),
    allocateOnCreate: (kind, obj) => services.admitCreate(kind, obj),
    addNode: (n) => nodes.register(n),
    removeNode: (name) => nodes.remove(name),
    podCIDROf: (name) => cidrs.allocators[0]?.cidrOf(name),
    podCIDRsOf: (name) => cidrs.cidrsOf(name),
    async idle() {
      // Watch events may arrive on a later turn: idle twice in a row, a tick apart.
      let quiet = 0;
      while (!stopped && quiet < 2) {
        await new Promise<void>((r) => setTimeout(r, 1));
        quiet = allIdle() ? quiet + 1 : 0;
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (admissionCapable(store)) store.setAdmission(undefined);
      slices.stop();
      nodes.stop();
      services.stop();
    },
  };
  if (admissionCapable(store)) store.setAdmission(cm);
  logger.info({ nodes: opts.nodes.map((n) => n.name), admission: hooked }, 'controller-manager started');
  return cm;
}

/** True for the allocation errors admission throws (to map to a Status: `httpCode`, `field`, `detail`). */
export function isAllocationError(err: unknown): err is AllocationError {
  return err instanceof AllocationError;
}
