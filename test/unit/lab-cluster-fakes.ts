// Fakes of the guest context pieces for the LabCluster tests: a real
// in-process LabStore, a topology that only builds argv, kubelets that
// "run" pods by writing their status, and an agent manager in memory.

import type { StoredObject, WatchEvent } from '../../src/lab/apiserver/types.js';
import { LabStore } from '../../src/lab/apiserver/store.js';
import type { HoldHandle, ProbeResult, ProbeSpec } from '../../src/lab/cluster/kubelet/index.js';
import { podNetnsName } from '../../src/lab/cluster/kubelet/naming.js';
import type { AgentStatus } from '../../src/lab/guest/agents.js';
import type { HostAgents, HostKubelet, HostTopology, LabClusterHost } from '../../src/lab/guest/lab-cluster-host.js';
import type { AgentHealthBody } from '../../src/lab/guest/lab-cluster-settle.js';
import type { ExecTarget } from '../../src/lab/topology/types.js';

export function newStore(): LabStore {
  const s = new LabStore();
  s.seed([]);
  for (let i = 1; i <= 3; i++) s.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: `node${i}` } });
  return s;
}

export function fakeTopology(nodes = 3, router = false, dualStack = false): HostTopology {
  return {
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `node${i + 1}`, ip: `192.168.56.${11 + i}`, ...(dualStack ? { ip6: `fd00:56::${11 + i}` } : {}) })),
    ...(router ? { router: { name: 'router', ips: ['192.168.56.254', '192.168.57.1'] as [string, string] } } : {}),
    argvFor(target: ExecTarget, argv: readonly string[]): string[] {
      if (target.kind === 'root') return [...argv];
      if (target.kind === 'node') {
        if (!this.nodes.some((n) => n.name === target.name) && target.name !== 'router') throw new Error(`no node "${target.name}"`);
        return ['enter', target.name, ...argv];
      }
      if (target.namespace === 'missing') throw new Error(`no pod ${target.namespace}/${target.name} known to the kubelet`);
      return ['enter-pod', `${target.namespace}/${target.name}`, ...argv];
    },
  };
}

/** A kubelet that sets pods bound to its node Running (synchronously on the watch event) and tears them down on delete. */
export class FakeKubelet implements HostKubelet {
  readonly records = new Map<string, { netns: string }>();
  readonly probes: { source: string; specs: ProbeSpec[] }[] = [];
  private nextHost = 2;
  /** Teardown is held until release() when set. */
  holdTeardown = false;
  private pendingTeardown: (() => void)[] = [];
  constructor(
    readonly nodeName: string,
    private readonly store: LabStore,
    private readonly netns: Set<string>,
    private readonly index: number,
  ) {
    store.watch('Pod', store.resourceVersion(), {}, (ev) => this.onEvent(ev));
  }

  private onEvent(ev: WatchEvent): void {
    const pod = ev.object;
    const ns = pod.metadata.namespace ?? 'default';
    const key = `${ns}/${pod.metadata.name}`;
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (ev.type === 'DELETED' || pod.metadata.deletionTimestamp !== undefined) {
      if (!this.records.has(key)) return;
      const done = (): void => {
        const rec = this.records.get(key);
        this.records.delete(key);
        if (rec) this.netns.delete(rec.netns);
        if (ev.type !== 'DELETED') this.store.delete('Pod', ns, pod.metadata.name, { gracePeriodSeconds: 0 });
      };
      if (this.holdTeardown) this.pendingTeardown.push(done);
      else setImmediate(done);
      return;
    }
    if (spec.nodeName !== this.nodeName || this.records.has(key)) return;
    const netns = podNetnsName(this.nodeName, ns, pod.metadata.name);
    this.records.set(key, { netns });
    this.netns.add(netns);
    const ip = `10.244.${this.index}.${this.nextHost++}`;
    setImmediate(() => {
      if (this.store.get('Pod', ns, pod.metadata.name) === undefined) return;
      this.store.patch('Pod', ns, pod.metadata.name, { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }, { subresource: 'status' });
    });
  }

  finishTeardowns(): void {
    for (const f of this.pendingTeardown.splice(0)) f();
  }

  owns(source: string): boolean {
    return source === this.nodeName || this.records.has(source);
  }
  locate(namespace: string, name: string) {
    const r = this.records.get(`${namespace}/${name}`);
    return r === undefined ? undefined : { node: this.nodeName, netns: r.netns };
  }
  async probeFrom(source: string, specs: ProbeSpec[]): Promise<ProbeResult[]> {
    this.probes.push({ source, specs });
    return specs.map((s) => ({ id: s.id ?? '', status: 'ok' as const, body: `${source} client=10.0.0.1:4000`, latencyMs: 1 }));
  }
  async hold(): Promise<HoldHandle> {
    throw new Error('not used');
  }
  async idle(): Promise<void> {}
}

export class FakeAgents implements HostAgents {
  readonly calls: string[] = [];
  readonly status = new Map<string, AgentStatus>();
  baseArgs: string[] = [];
  exitCode = 0;
  /** start() leaves the agent not running (it "crashed"). */
  crashOnStart = false;

  available(): boolean {
    return true;
  }
  setBaseArgs(args: string[]): void {
    this.calls.push(`setBaseArgs ${args.join(' ')}`);
    this.baseArgs = [...args];
  }
  statusOf(node: string): AgentStatus {
    return this.status.get(node) ?? { node, running: false, args: [], log: `/logs/agent-${node}.log`, restarts: 0 };
  }
  async start(node: string, extra: string[] = [], wait: 'running' | 'exit' = 'running'): Promise<number | null> {
    this.calls.push(['start', node, ...extra, wait].join(' '));
    const args = [...this.baseArgs, ...extra];
    if (wait === 'exit') {
      this.status.set(node, { ...this.statusOf(node), running: false, args, lastExit: { code: this.exitCode, signal: null, at: 'now' } });
      return this.exitCode;
    }
    const running = !this.crashOnStart;
    this.status.set(node, { ...this.statusOf(node), running, args, startedAt: 'now', ...(running ? {} : { lastExit: { code: 1, signal: null, at: 'now' } }) });
    return null;
  }
  async stop(node: string, signal: 'TERM' | 'KILL' = 'TERM') {
    this.calls.push(`stop ${node} ${signal}`);
    const st = this.statusOf(node);
    if (!st.running) return undefined;
    this.status.set(node, { ...st, running: false, lastExit: { code: 0, signal: null, at: 'now' } });
    return { code: 0, signal: null };
  }
  async restart(node: string, signal: 'TERM' | 'KILL' = 'TERM'): Promise<void> {
    this.calls.push(`restart ${node} ${signal}`);
    const extra = this.statusOf(node).args.slice(this.baseArgs.length);
    await this.stop(node, signal);
    await this.start(node, extra);
  }
}

export interface FakeHost extends LabClusterHost {
  api: { store: LabStore; stop(): Promise<void>; start(): Promise<void> };
  topology: HostTopology;
  agents: FakeAgents;
  kubelets: FakeKubelet[];
  netns: Set<string>;
  logs: string[];
}

export function fakeHost(opts: { agentArgs?: string[]; router?: boolean; dualStack?: boolean } = {}): FakeHost {
  const store = newStore();
  const netns = new Set<string>();
  const logs: string[] = [];
  const topology = fakeTopology(3, opts.router ?? false, opts.dualStack ?? false);
  return {
    config: { nodes: 3, secondSubnet: opts.router ?? false, agentArgs: opts.agentArgs ?? [] },
    api: { store, stop: async () => void logs.push('api stop'), start: async () => void logs.push('api start') },
    topology,
    agents: new FakeAgents(),
    kubelets: topology.nodes.map((n, i) => new FakeKubelet(n.name, store, netns, i)),
    netns,
    logs,
    log: (m: string) => void logs.push(m),
  };
}

/** A /healthz body at `rv` with the given controllers synced to `rv` too. */
export function healthBody(rv: string, controllers: Record<string, string | undefined> = {}): AgentHealthBody {
  return {
    healthy: true,
    cacheSynced: true,
    resourceVersion: rv,
    controllers: Object.entries(controllers).map(([name, v]) => ({ name, running: true, ...(v === undefined ? {} : { lastSyncResourceVersion: v }) })),
  };
}

export function pod(ns: string, name: string, extra: { nodeName?: string; ports?: number[]; labels?: Record<string, string> } = {}): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      containers: [{ name: 'c', image: 'lab', ports: (extra.ports ?? [80]).map((p) => ({ containerPort: p })) }],
    },
  };
}

export function namespace(name: string): StoredObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
