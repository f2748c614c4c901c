// Node registration (what each lab node's kubelet would post) and the
// node-ipam controller: every Node gets a podCIDR from the cluster CIDR,
// existing ones are kept.
import type { ObjectStore, StoredObject } from '../../apiserver/types.js';
import { errorMessage } from '../../../errors.js';
import { LABEL_ARCH, LABEL_HOSTNAME, LABEL_OS } from './constants.js';
import { canonical } from './endpoints.js';
import type { PodCidrAllocator } from './node-ipam.js';
import { WorkQueue } from './queue.js';
import { recordEvent } from './events.js';
import { asNode, toStored, type CmLogger, type NodeObj } from './types.js';

export interface LabNodeSpec {
  name: string;
  internalIP: string;
  /** Extra labels, e.g. topology.kubernetes.io/zone. */
  labels?: Record<string, string>;
}

const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

/** The Node object for a lab node: labels, addresses, a Ready condition, its podCIDR. */
export function buildNode(spec: LabNodeSpec, podCIDR: string, now: string): NodeObj {
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
    spec: { podCIDR, podCIDRs: [podCIDR] },
    status: {
      addresses: [
        { type: 'InternalIP', address: spec.internalIP },
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

function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export class NodeController {
  private stopWatch: (() => void) | undefined;
  private readonly queue: WorkQueue;

  constructor(
    private readonly store: ObjectStore,
    private readonly cidrs: PodCidrAllocator,
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
    for (const o of items) this.record(asNode(o));
    return resourceVersion;
  }

  /** Creates or refreshes the Node of a lab node, keeping its podCIDR. */
  register(spec: LabNodeSpec): StoredObject {
    const existing = this.store.get('Node', undefined, spec.name);
    const cur = existing ? asNode(existing) : undefined;
    let podCIDR = cur?.spec?.podCIDR;
    if (podCIDR && !this.cidrs.occupy(spec.name, podCIDR)) {
      this.logger.warn({ node: spec.name, podCIDR }, 'node keeps a podCIDR outside the allocator (foreign or taken)');
    }
    if (!podCIDR) podCIDR = this.cidrs.allocate(spec.name);
    const want = buildNode(spec, podCIDR, nowRFC3339());
    if (!cur) {
      const created = this.store.create('Node', toStored(want));
      if (!asNode(created).status?.addresses?.length) {
        return this.store.update('Node', { ...created, status: want.status }, { subresource: 'status' });
      }
      this.logger.info({ node: spec.name, podCIDR }, 'registered node');
      return created;
    }
    let obj = existing as StoredObject;
    const next = structuredClone(cur);
    next.metadata.labels = { ...(cur.metadata.labels ?? {}), ...(want.metadata.labels ?? {}) };
    next.spec = { ...(cur.spec ?? {}), podCIDR, podCIDRs: cur.spec?.podCIDRs?.length ? cur.spec.podCIDRs : [podCIDR] };
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

  /** Deletes a lab node's Node object and frees its podCIDR. */
  remove(name: string): void {
    this.store.delete('Node', undefined, name);
    this.cidrs.release(name);
  }

  /** Watches Nodes: allocates a podCIDR for nodes created without one, frees it on delete. */
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
    if (cur) this.ensureCidr(asNode(cur));
    else this.cidrs.release(name);
  }

  private record(node: NodeObj): void {
    const cidr = node.spec?.podCIDR;
    if (cidr && !this.cidrs.occupy(node.metadata.name, cidr)) {
      this.logger.warn({ node: node.metadata.name, podCIDR: cidr }, 'podCIDR not recorded: outside the cluster CIDR or already taken');
    }
  }

  private ensureCidr(node: NodeObj): void {
    if (node.spec?.podCIDR) {
      this.record(node);
      return;
    }
    try {
      const podCIDR = this.cidrs.allocate(node.metadata.name);
      this.store.patch('Node', undefined, node.metadata.name, { spec: { podCIDR, podCIDRs: [podCIDR] } });
      this.logger.info({ node: node.metadata.name, podCIDR }, 'allocated podCIDR');
    } catch (err) {
      this.logger.error({ node: node.metadata.name, err: errorMessage(err) }, 'podCIDR allocation failed');
      recordEvent(this.store, this.logger, node, 'Warning', 'CIDRNotAvailable', errorMessage(err), 'cidrAllocator');
    }
  }
}
