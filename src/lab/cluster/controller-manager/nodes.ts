// Node registration (what each lab node's kubelet would post) and the
// node-ipam controller: every Node gets one podCIDR per configured cluster
// CIDR family (spec.podCIDRs, spec.podCIDR = the first); existing ones are
// kept. A Node's podCIDRs are set once: the API server refuses to change
// them afterwards ("may not change podCIDR except from \"\" to valid"), so
// a node registered before a family was configured keeps its single family,
// as with kube-controller-manager; it is only logged.
import type { ObjectStore, StoredObject } from '../../apiserver/types.js';
import { errorMessage } from '../../../errors.js';
import { LABEL_ARCH, LABEL_HOSTNAME, LABEL_OS } from './constants.js';
import { canonical } from './endpoints.js';
import type { NodeIpam } from './node-ipam.js';
import { WorkQueue } from './queue.js';
import { recordEvent } from './events.js';
import { asNode, toStored, type CmLogger, type NodeObj } from './types.js';

export interface LabNodeSpec {
  name: string;
  internalIP: string;
  /** A second InternalIP of the other family (dual-stack nodes), as kubelet reports with --node-ip=v4,v6. */
  internalIP6?: string;
  /** Extra labels, e.g. topology.kubernetes.io/zone. */
  labels?: Record<string, string>;
}

const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

/** The Node object for a lab node: labels, addresses, a Ready condition, its podCIDRs (first = spec.podCIDR). */
export function buildNode(spec: LabNodeSpec, podCIDRs: readonly string[], now: string): NodeObj {
  const resources = { cpu: '2', memory: '2Gi', pods: '110', 'ephemeral-storage': '10Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        'beta.kubernetes.io/arch': ARCH,
        'beta.kubernetes.io/os': 'linux',
        [LABEL_ARCH]: ARCH,
        [LABEL_HOSTNAME]: spec.name,
        [LABEL_OS]: 'linux',
        ...(spec.labels ?? {}),
      },
    },
    spec: { podCIDR: podCIDRs[0], podCIDRs: [...podCIDRs] },
    status: {
      addresses: [
        { type: 'InternalIP', address: spec.internalIP },
        ...(spec.internalIP6 !== undefined ? [{ type: 'InternalIP', address: spec.internalIP6 }] : []),
        { type: 'Hostname', address: spec.name },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      capacity: resources,
      allocatable: resources,
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: ARCH,
        operatingSystem: 'linux',
        osImage: 'kube-router-lab',
        kernelVersion: '',
        kubeletVersion: 'v1.31.0-lab',
        kubeProxyVersion: '',
        containerRuntimeVersion: 'lab://0.1',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}

/** A stored Node's podCIDRs (podCIDRs, else the lone podCIDR of an older writer). */
function storedPodCIDRs(node: NodeObj | undefined): string[] {
  const list = node?.spec?.podCIDRs?.filter((c) => !!c) ?? [];
  if (list.length > 0) return list;
  return node?.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export class NodeController {
  private stopWatch: (() => void) | undefined;
  private readonly queue: WorkQueue;
  /** Nodes already warned about a missing family (the warning is not repeated on every sync). */
  private readonly warnedMissing = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly cidrs: NodeIpam,
    private readonly logger: CmLogger,
  ) {
    this.queue = new WorkQueue('node-ipam', (name) => this.sync(name), logger);
  }

  isIdle(): boolean {
    return this.queue.isIdle();
  }

  /** Records the podCIDRs of every Node already stored (before any new allocation). */
  recordExisting(): string {
    const { items, resourceVersion } = this.store.list('Node');
    for (const o of items) {
      const cidrs = storedPodCIDRs(asNode(o));
      if (cidrs.length > 0) this.record(o.metadata.name, cidrs);
    }
    return resourceVersion;
  }

  /** Creates or refreshes the Node of a lab node, keeping its podCIDRs. */
  register(spec: LabNodeSpec): StoredObject {
    const existing = this.store.get('Node', undefined, spec.name);
    const cur = existing ? asNode(existing) : undefined;
    let podCIDRs = storedPodCIDRs(cur);
    if (podCIDRs.length > 0) this.record(spec.name, podCIDRs);
    else podCIDRs = this.cidrs.allocate(spec.name);
    const podCIDR = podCIDRs[0] as string;
    const want = buildNode(spec, podCIDRs, nowRFC3339());
    if (!cur) {
      const created = this.store.create('Node', toStored(want));
      if (!asNode(created).status?.addresses?.length) {
        return this.store.update('Node', { ...created, status: want.status }, { subresource: 'status' });
      }
      this.logger.info({ node: spec.name, podCIDRs }, 'registered node');
      return created;
    }
    let obj = existing as StoredObject;
    const next = structuredClone(cur);
    next.metadata.labels = { ...(cur.metadata.labels ?? {}), ...(want.metadata.labels ?? {}) };
    next.spec = { ...(cur.spec ?? {}), podCIDR, podCIDRs: cur.spec?.podCIDRs?.length ? cur.spec.podCIDRs : podCIDRs };
    if (canonical(next.metadata.labels) !== canonical(cur.metadata.labels ?? {}) || canonical(next.spec) !== canonical(cur.spec ?? {})) {
      obj = this.store.update('Node', toStored(next));
    }
    const addrs = want.status?.addresses;
    if (canonical(asNode(obj).status?.addresses ?? []) !== canonical(addrs)) {
      const st: Record<string, unknown> = { ...(asNode(obj).status ?? {}), addresses: addrs };
      if (!asNode(obj).status?.conditions) st.conditions = want.status?.conditions;
      obj = this.store.update('Node', { ...obj, status: st }, { subresource: 'status' });
    }
    return obj;
  }

  /** Deletes a lab node's Node object and frees its podCIDRs. */
  remove(name: string): void {
    this.store.delete('Node', undefined, name);
    this.cidrs.release(name);
    this.warnedMissing.delete(name);
  }

  /** Watches Nodes: allocates podCIDRs for nodes created without any, frees them on delete. */
  watch(fromResourceVersion: string): void {
    this.stopWatch = this.store.watch('Node', fromResourceVersion, {}, (ev) => {
      if (ev.type !== 'BOOKMARK') this.queue.add(ev.object.metadata.name);
    });
    // Nodes stored before the watch without a podCIDR.
    for (const o of this.store.list('Node').items) this.queue.add(o.metadata.name);
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.queue.stop();
  }

  private sync(name: string): void {
    const cur = this.store.get('Node', undefined, name);
    if (cur) {
      this.ensureCidr(asNode(cur));
    } else {
      this.cidrs.release(name);
      this.warnedMissing.delete(name);
    }
  }

  /** Records a Node's existing podCIDRs; what cannot be recorded (or is missing) is only logged. */
  private record(name: string, podCIDRs: readonly string[]): void {
    const foreign = this.cidrs.occupy(name, podCIDRs);
    if (foreign.length > 0) {
      this.logger.warn({ node: name, podCIDRs: foreign }, 'podCIDR not recorded: outside the cluster CIDRs, of another family or already taken');
    }
    const missing = this.cidrs.missingFamilies(podCIDRs);
    if (missing.length > 0 && !this.warnedMissing.has(name)) {
      // Node podCIDRs are immutable once set: the node stays without these families.
      this.warnedMissing.add(name);
      this.logger.warn({ node: name, podCIDRs, missing }, 'node has no podCIDR of a configured family (podCIDRs are set once, at registration)');
    }
  }

  private ensureCidr(node: NodeObj): void {
    const have = storedPodCIDRs(node);
    if (have.length > 0) {
      this.record(node.metadata.name, have);
      return;
    }
    try {
      const podCIDRs = this.cidrs.allocate(node.metadata.name);
      this.store.patch('Node', undefined, node.metadata.name, { spec: { podCIDR: podCIDRs[0], podCIDRs } });
      this.logger.info({ node: node.metadata.name, podCIDRs }, 'allocated podCIDRs');
    } catch (err) {
      this.logger.error({ node: node.metadata.name, err: errorMessage(err) }, 'podCIDR allocation failed');
      recordEvent(this.store, this.logger, node, 'Warning', 'CIDRNotAvailable', errorMessage(err), 'cidrAllocator');
    }
  }
}
