// An in-memory LabCluster for the runner's unit tests (and anyone testing
// against the interface): objects in a map, pods given IPs from their node's
// podCIDR, services ClusterIPs and nodePorts, and probes answered by a
// programmable reachability function. Every call is logged in `calls`.
// With `dualStack: true` it plays a dual-stack lab: pods and Services get an
// IPv6 address too (status.podIPs, spec.clusterIPs) and nodes an ip6.

import type { StoredObject } from '../apiserver/types.js';
import { KubeRouterError } from '../../errors.js';
import {
  DEFAULT_CLUSTER_SPEC,
  placeName,
  sameClusterSpec,
  type ClusterSpec,
  type ExecResult,
  type HoldResult,
  type LabCluster,
  type NodeInfo,
  type ObjectRef,
  type Place,
  type ProbeRequest,
  type ProbeResult,
  type SettleResult,
} from './cluster.js';
import type { IpFamily } from './family.js';

export interface ReachContext {
  cluster: FakeCluster;
  /** 1 for the first probe batch, 2 for the next... */
  batch: number;
  /** The pod whose IP is the destination, if any. */
  toPod?: StoredObject;
}

export type ReachFunction = (req: ProbeRequest, ctx: ReachContext) => ProbeResult | boolean;

export interface FakeClusterOptions {
  reach?: ReachFunction;
  exec?: (on: Place, cmd: string) => ExecResult;
  settle?: () => SettleResult;
  release?: (name: string) => HoldResult;
  /** Exit status of startAgent(wait: 'exit'). */
  startExitCode?: number;
  /** Pods get no IP when false (a pod not yet started). */
  assignPodIPs?: boolean;
  /** A dual-stack lab: IPv6 pod IPs and ClusterIPs (Services not SingleStack), node ip6; configure() accepts family ipv6. */
  dualStack?: boolean;
}

/** Default reachability: a pod answers on its declared container ports with `ns/name`; nothing else answers. */
export const podPortsReach: ReachFunction = (req, ctx) => {
  const pod = ctx.toPod;
  if (pod === undefined) return false;
  const containers = ((pod.spec ?? {}) as { containers?: { ports?: { containerPort?: number; protocol?: string }[] }[] }).containers ?? [];
  const serves = containers.some((c) => (c.ports ?? []).some((p) => p.containerPort === req.port && (p.protocol ?? 'TCP') === req.protocol));
  return serves ? { connected: true, body: `${pod.metadata.namespace}/${pod.metadata.name}` } : { connected: false, error: 'timeout' };
};

function key(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export class FakeCluster implements LabCluster {
  readonly objects = new Map<string, StoredObject>();
  readonly calls: string[] = [];
  readonly batches: ProbeRequest[][] = [];
  spec: ClusterSpec | undefined;
  /** The family of the last configure(). */
  family: IpFamily = 'ipv4';
  /** How many times configure() "restarted" the agents (the spec changed). */
  agentRestarts = 0;
  private created = new Set<string>();
  private readonly holds = new Map<string, { from: Place; toIP: string; port: number }>();
  private nextPodHost = new Map<string, number>();
  private nextClusterIP = 10;
  private nextNodePort = 30000;
  private rv = 0;

  constructor(private readonly opts: FakeClusterOptions = {}) {}

  async configure(spec: ClusterSpec, family: IpFamily = 'ipv4'): Promise<void> {
    if (family === 'ipv6' && this.opts.dualStack !== true) {
      throw new KubeRouterError('KR_ERR_LAB', '--family ipv6 needs a dual-stack lab; this VM was booted IPv4-only', { field: 'family', value: family });
    }
    this.calls.push(family === 'ipv4' ? `configure ${JSON.stringify(spec)}` : `configure ${family} ${JSON.stringify(spec)}`);
    this.family = family;
    if (this.spec === undefined || !sameClusterSpec(this.spec, spec)) this.agentRestarts++;
    this.spec = { ...spec, agentArgs: [...spec.agentArgs] };
  }

  async reset(): Promise<void> {
    this.calls.push('reset');
    for (const k of this.created) this.objects.delete(k);
    this.created = new Set();
  }

  async apply(objects: StoredObject[]): Promise<void> {
    for (const o of objects) {
      const obj = structuredClone(o);
      if (obj.kind === 'Bad') throw new KubeRouterError('KR_ERR_API', `Bad ${obj.metadata.name}: rejected`);
      const namespaced = obj.kind !== 'Namespace' && obj.kind !== 'Node';
      if (namespaced) obj.metadata.namespace ??= 'default';
      const k = key(obj.kind, obj.metadata.namespace, obj.metadata.name);
      const old = this.objects.get(k);
      if (obj.kind === 'Pod') this.defaultPod(obj, old);
      if (obj.kind === 'Service') this.defaultService(obj, old);
      obj.metadata.resourceVersion = String(++this.rv);
      this.objects.set(k, obj);
      this.created.add(k);
      this.calls.push(`apply ${obj.kind} ${obj.metadata.namespace === undefined ? '' : `${obj.metadata.namespace}/`}${obj.metadata.name}`);
    }
  }

  private nodeNames(): string[] {
    const n = (this.spec ?? DEFAULT_CLUSTER_SPEC).nodes;
    return Array.from({ length: n }, (_, i) => `node${i + 1}`);
  }

  private defaultPod(pod: StoredObject, old: StoredObject | undefined): void {
    const spec = (pod.spec ??= {}) as { nodeName?: string };
    const nodes = this.nodeNames();
    spec.nodeName ??= nodes[[...this.objects.values()].filter((o) => o.kind === 'Pod').length % nodes.length];
    const oldStatus = (old?.status ?? {}) as { podIP?: string };
    const oldNode = ((old?.spec ?? {}) as { nodeName?: string }).nodeName;
    let podIP = oldNode === spec.nodeName ? oldStatus.podIP : undefined;
    if (podIP === undefined && this.opts.assignPodIPs !== false) {
      const idx = Math.max(0, nodes.indexOf(spec.nodeName));
      const host = (this.nextPodHost.get(spec.nodeName) ?? 2);
      this.nextPodHost.set(spec.nodeName, host + 1);
      podIP = `10.244.${idx}.${host}`;
    }
    pod.status = podIP === undefined ? { phase: 'Pending' } : { phase: 'Running', podIP, podIPs: this.podIPs(podIP).map((ip) => ({ ip })) };
  }

  /** 10.244.N.H, and in a dual-stack lab fd00:10:244:N::H (H in hex) too. */
  private podIPs(v4: string): string[] {
    if (this.opts.dualStack !== true) return [v4];
    const [, , n, h] = v4.split('.').map(Number);
    return [v4, `fd00:10:244:${n}::${h.toString(16)}`];
  }

  private defaultService(svc: StoredObject, old: StoredObject | undefined): void {
    const spec = (svc.spec ??= {}) as { clusterIP?: string; clusterIPs?: string[]; ipFamilyPolicy?: string; type?: string; ports?: { port: number; nodePort?: number }[] };
    const oldSpec = (old?.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
    spec.clusterIP ??= oldSpec.clusterIP ?? `10.96.0.${this.nextClusterIP++}`;
    if (this.opts.dualStack === true && spec.clusterIP !== 'None' && spec.ipFamilyPolicy !== 'SingleStack') {
      const host = Number(spec.clusterIP.split('.')[3]);
      spec.clusterIPs ??= oldSpec.clusterIPs ?? [spec.clusterIP, `fd00:10:96::${host.toString(16)}`];
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      for (const p of spec.ports ?? []) p.nodePort ??= this.nextNodePort++;
    }
  }

  async delete(refs: ObjectRef[]): Promise<void> {
    for (const r of refs) {
      const ns = r.kind === 'Namespace' || r.kind === 'Node' ? undefined : (r.namespace ?? 'default');
      this.objects.delete(key(r.kind, ns, r.name));
      this.calls.push(`delete ${r.kind} ${ns === undefined ? '' : `${ns}/`}${r.name}`);
    }
  }

  async get(kind: string, namespace: string | undefined, name: string): Promise<StoredObject | undefined> {
    const o = this.objects.get(key(kind, namespace, name));
    return o === undefined ? undefined : structuredClone(o);
  }

  async list(kind: string, namespace?: string): Promise<StoredObject[]> {
    return [...this.objects.values()].filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
  }

  async settle(timeoutMs: number): Promise<SettleResult> {
    this.calls.push(`settle ${timeoutMs}`);
    return this.opts.settle?.() ?? { settled: true, pending: [] };
  }

  podByIP(ip: string): StoredObject | undefined {
    for (const o of this.objects.values()) {
      const st = (o.status ?? {}) as { podIP?: string; podIPs?: { ip?: string }[] };
      if (o.kind === 'Pod' && (st.podIP === ip || (st.podIPs ?? []).some((p) => p.ip === ip))) return o;
    }
    return undefined;
  }

  async probe(batch: ProbeRequest[]): Promise<ProbeResult[]> {
    this.batches.push(batch);
    this.calls.push(`probe ${batch.length}`);
    const reach = this.opts.reach ?? podPortsReach;
    return batch.map((req) => {
      const r = reach(req, { cluster: this, batch: this.batches.length, toPod: this.podByIP(req.toIP) });
      const result = typeof r === 'boolean' ? { connected: r } : r;
      return { ms: 1, ...result };
    });
  }

  async exec(on: Place, cmd: string, _timeoutMs: number): Promise<ExecResult> {
    this.calls.push(`exec ${placeName(on)} ${cmd}`);
    return this.opts.exec?.(on, cmd) ?? { exitCode: 0, output: '' };
  }

  async hold(name: string, from: Place, toIP: string, port: number): Promise<void> {
    this.calls.push(`hold ${name} ${placeName(from)} ${toIP}:${port}`);
    this.holds.set(name, { from, toIP, port });
  }

  async release(name: string): Promise<HoldResult> {
    this.calls.push(`release ${name}`);
    if (!this.holds.delete(name)) throw new Error(`no hold ${name}`);
    return this.opts.release?.(name) ?? { broken: false, maxGapMs: 100 };
  }

  async restartAgent(node: string, signal: 'TERM' | 'KILL'): Promise<void> {
    this.calls.push(`restartAgent ${node} ${signal}`);
  }

  async stopAgent(node: string): Promise<void> {
    this.calls.push(`stopAgent ${node}`);
  }

  async startAgent(node: string, args: string[], wait: 'exit' | 'running'): Promise<number | null> {
    this.calls.push(['startAgent', node, ...args, wait].join(' '));
    return wait === 'exit' ? (this.opts.startExitCode ?? 0) : null;
  }

  async restartApiServer(downForMs: number): Promise<void> {
    this.calls.push(`restartApiServer ${downForMs}`);
  }

  async nodes(): Promise<NodeInfo[]> {
    const v6 = this.opts.dualStack === true;
    const names = this.nodeNames();
    const second = this.spec?.secondSubnet === true;
    // As the topology: with secondSubnet the last node is 192.168.57.1N (fd00:57::1N) behind the router.
    const nodes: NodeInfo[] = names.map((name, i) => {
      const net = second && i === names.length - 1 ? '57' : '56';
      return { name, ips: [`192.168.${net}.${11 + i}`], role: 'node', ...(v6 ? { ip6: `fd00:${net}::${11 + i}` } : {}) };
    });
    if (second) nodes.push({ name: 'router', ips: ['192.168.56.254', '192.168.57.1'], role: 'router', ...(v6 ? { ip6: 'fd00:56::254' } : {}) });
    if (this.spec?.externalPeer) nodes.push({ name: 'peer', ips: ['192.168.56.254'], role: 'peer' });
    return nodes;
  }
}
