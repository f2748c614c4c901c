// The synthetic cluster of the firewall benches (S5, S6 of
// shared/notes/performance-anchors.md) and the pieces both share: a
// FirewallController over a FakeSharedCache and the Linux ipset/iptables
// drivers behind recorders (every restore script and when it returned), and
// the size kube-router's own layout would have for the same input.
//
// Cluster: 500 namespaces (labels team=t<i%10>, tier=<gold|silver>),
// 5,000 pods (10 per namespace: app=app<j%5>, role=<web|db>, container port
// `http` 8080/TCP and `metrics` 9090/TCP), 110 of them on this node, the rest
// spread over 45 other nodes; 1,000 policies (2 per namespace) in a mix of
// kinds: pod selector with ports, namespaceSelector AND podSelector,
// matchExpressions, ipBlock with except (egress), named port, default deny.

import pino from 'pino';
import { Registry } from 'prom-client';
import { defaultOptions } from '../src/cmd/options/parse.js';
import type { AgentOptions } from '../src/cmd/options/types.js';
import { FirewallController } from '../src/controllers/firewall/controller.js';
import { isOwnedChain } from '../src/controllers/firewall/model.js';
import type { FirewallKernel } from '../src/controllers/firewall/reconcile.js';
import { FakeSharedCache } from '../src/informers/fake-cache.js';
import type { Namespace, NetworkPolicy, Node, Pod } from '../src/informers/types.js';
import { NetlinkIpsetDriver } from '../src/kernel/ipset/netlink.js';
import { IpsetReconciler } from '../src/kernel/ipset/reconciler.js';
import type { IpsetDriver } from '../src/kernel/ipset/types.js';
import { LinuxIptablesDriver } from '../src/kernel/iptables/linux.js';
import { IptablesReconciler } from '../src/kernel/iptables/reconciler.js';
import type { IptablesDriver, IptablesTable } from '../src/kernel/iptables/types.js';
import { AsyncMutex } from '../src/kernel/lock.js';

export const LOCAL_NODE = 'node-0';
export const NAMESPACES = 500;
export const PODS_PER_NS = 10;
export const LOCAL_PODS = 110;
export const OTHER_NODES = 45;

export interface ClusterSize {
  namespaces: number;
  pods: number;
  localPods: number;
  policies: number;
}

/** One kernel call: which, how long, when it returned. */
export interface KernelCall {
  op: string;
  ms: number;
  at: number;
}

/** Every restore script written, in order, every kernel call timed, and when the last restore returned. */
export class Recorder {
  readonly ipsetScripts: string[] = [];
  readonly iptablesScripts: string[] = [];
  readonly calls: KernelCall[] = [];
  lastReturnAt = 0;
  restores = 0;
  /** The real iptables drivers, for their netlink/iptables-restore counts. */
  readonly iptablesDrivers: LinuxIptablesDriver[] = [];
  clear(): void {
    this.ipsetScripts.length = 0;
    this.iptablesScripts.length = 0;
    this.calls.length = 0;
    this.restores = 0;
  }
  async time<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      const at = performance.now();
      this.calls.push({ op, ms: at - t, at });
    }
  }
}

class RecordingIpset implements IpsetDriver {
  readonly read?: IpsetDriver['read'];
  constructor(
    private readonly inner: IpsetDriver,
    private readonly rec: Recorder,
  ) {
    const read = inner.read?.bind(inner);
    if (read) this.read = (keep) => this.rec.time('ipset read', () => read(keep));
  }
  save(): Promise<string> {
    return this.rec.time('ipset save', () => this.inner.save());
  }
  async restore(script: string): Promise<void> {
    await this.rec.time('ipset restore', () => this.inner.restore(script));
    this.rec.ipsetScripts.push(script);
    this.rec.restores++;
    this.rec.lastReturnAt = performance.now();
  }
}

class RecordingIptables implements IptablesDriver {
  readonly family;
  constructor(
    private readonly inner: IptablesDriver,
    private readonly rec: Recorder,
  ) {
    this.family = inner.family;
  }
  save(table: IptablesTable): Promise<string> {
    return this.rec.time('iptables-save', () => this.inner.save(table));
  }
  async restore(script: string): Promise<void> {
    await this.rec.time('iptables write', () => this.inner.restore(script));
    this.rec.iptablesScripts.push(script);
    this.rec.restores++;
    this.rec.lastReturnAt = performance.now();
  }
}

/** The firewall's Linux kernel (IPv4) as the agent has it (ipset over netlink), both drivers recorded. */
export function recordedKernel(rec: Recorder): FirewallKernel {
  const lock = new AsyncMutex();
  // As the agent's firewall builds it: over nf_tables netlink unless KUBE_ROUTER_IPTABLES_NETLINK=0.
  const ipv4 = new LinuxIptablesDriver({ family: 'ipv4', netlink: process.env.KUBE_ROUTER_IPTABLES_NETLINK !== '0', ownChains: isOwnedChain });
  rec.iptablesDrivers.push(ipv4);
  return {
    ipset: new IpsetReconciler(new RecordingIpset(new NetlinkIpsetDriver(), rec), lock),
    iptables: { ipv4: new IptablesReconciler(new RecordingIptables(ipv4, rec), lock) },
  };
}

function nodeName(i: number): string {
  return i === 0 ? LOCAL_NODE : `node-${i}`;
}

export function mkNode(i: number): Node {
  const cidr = `10.${200 + (i >> 8)}.${i & 255}.0/24`;
  return { metadata: { name: nodeName(i) }, spec: { podCIDR: cidr, podCIDRs: [cidr] } };
}

export function mkNamespace(i: number): Namespace {
  const name = `ns-${i}`;
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, team: `t${i % 10}`, tier: i % 3 === 0 ? 'gold' : 'silver' } } };
}

/** Pod number `n` (0-based, cluster-wide); every 45th of the first 4,950 is local (110 in all). */
export function podNode(n: number): number {
  return n % 45 === 0 && n / 45 < LOCAL_PODS ? 0 : 1 + (n % OTHER_NODES);
}

const hostByNode = new Map<number, number>();

export function mkPod(ns: number, j: number, labels?: Record<string, string>, node?: number): Pod {
  const n = ns * PODS_PER_NS + j;
  const k = node ?? podNode(n);
  const host = (hostByNode.get(k) ?? 1) + 0;
  hostByNode.set(k, host + 1);
  const ip = `10.${200 + (k >> 8)}.${k & 255}.${host}`;
  return {
    metadata: { namespace: `ns-${ns}`, name: `pod-${j}`, labels: labels ?? { app: `app${j % 5}`, role: j % 2 === 0 ? 'web' : 'db' } },
    spec: {
      nodeName: nodeName(k),
      containers: [
        {
          name: 'main',
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
          ],
        },
      ],
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: `192.168.${k >> 8}.${(k & 255) + 1}` },
  };
}

/** Policy number p (0-based) of namespace ns: five kinds in turn. */
export function mkPolicy(ns: number, p: number): NetworkPolicy {
  const namespace = `ns-${ns}`;
  const kind = (ns * 2 + p) % 5;
  const name = `pol-${p}`;
  const app = `app${(ns + p) % 5}`;
  switch (kind) {
    case 0:
      return { metadata: { namespace, name }, spec: { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] } };
    case 1:
      return {
        metadata: { namespace, name },
        spec: {
          podSelector: { matchLabels: { app } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${ns % 10}` } }, podSelector: { matchLabels: { role: 'web' } } }], ports: [{ protocol: 'TCP', port: 8080, endPort: 8090 }] }],
        },
      };
    case 2:
      return {
        metadata: { namespace, name },
        spec: {
          podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [app, `app${(ns + p + 1) % 5}`] }] },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] } }] }],
        },
      };
    case 3:
      return {
        metadata: { namespace, name },
        spec: {
          podSelector: { matchLabels: { role: 'db' } },
          policyTypes: ['Egress'],
          egress: [
            { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [`10.${200 + (ns % 2)}.0.0/16`] } }], ports: [{ protocol: 'TCP', port: 443 }] },
            { to: [{ podSelector: {} }] },
          ],
        },
      };
    default:
      return { metadata: { namespace, name }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'http' }] }] } };
  }
}

/** A started fake cache holding the cluster. */
export async function syntheticCluster(): Promise<{ cache: FakeSharedCache; size: ClusterSize }> {
  hostByNode.clear();
  const cache = new FakeSharedCache({ kinds: ['Pod', 'Namespace', 'NetworkPolicy', 'Node'] });
  for (let i = 0; i <= OTHER_NODES; i++) cache.add('Node', mkNode(i));
  let local = 0;
  for (let ns = 0; ns < NAMESPACES; ns++) {
    cache.add('Namespace', mkNamespace(ns));
    for (let j = 0; j < PODS_PER_NS; j++) {
      const pod = mkPod(ns, j);
      if (pod.spec?.nodeName === LOCAL_NODE) local++;
      cache.add('Pod', pod);
    }
    cache.add('NetworkPolicy', mkPolicy(ns, 0));
    cache.add('NetworkPolicy', mkPolicy(ns, 1));
  }
  await cache.start();
  return { cache, size: { namespaces: NAMESPACES, pods: NAMESPACES * PODS_PER_NS, localPods: local, policies: NAMESPACES * 2 } };
}

export function benchOptions(over: Partial<AgentOptions> = {}): AgentOptions {
  return { ...defaultOptions(), serviceClusterIpRange: ['10.96.0.0/12'], ...over };
}

/** The real controller over the given kernel (not started: call sync(), or start() for the event path). */
export function benchController(cache: FakeSharedCache, kernel: FirewallKernel, over: Partial<AgentOptions> = {}): FirewallController {
  return new FirewallController({ cache, options: benchOptions(over), nodeName: LOCAL_NODE, logger: pino({ level: 'warn' }), metrics: new Registry(), kernel });
}
