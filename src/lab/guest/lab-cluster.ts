// The LabCluster the scenario runner drives inside the guest (loaded by
// src/lab/scenario/guest.ts: `createLabCluster(ctx)`), implemented against
// the supervisor's pieces: the lab API server's in-process store, the
// topology (argv to enter a node, the router or a pod), the kubelets (pods,
// probers, holders) and the agent manager. See src/lab/scenario/cluster.ts
// for the contract and fake-cluster.ts for the same semantics in memory.
//
// Nothing here spawns a process per step beyond what the step is: a probe
// batch is one prober per source, settle polls the agents' /healthz over
// HTTP from this process, reset and apply work on the store directly.

import { cleanupArgsForTurnedOff } from './controllers-turned-off.js';
import type { StoredObject } from '../apiserver/types.js';
import type { HoldHandle } from '../cluster/kubelet/index.js';
import {
  placeName,
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
} from '../scenario/cluster.js';
import { KubeRouterError, errorMessage } from '../../errors.js';
import type { IpFamily } from '../scenario/family.js';
import { specForFamily } from '../scenario/family-args.js';
import type { GuestContext } from './context.js';
import { execEvents } from './exec.js';
import { observeAgents, waitAgentUp, type HealthFetcher } from './lab-cluster-agents.js';
import { applyObjects, labKind, objectName, storedNamespace } from './lab-cluster-apply.js';
import { defaultNetnsExists, labError, needAgents, needApi, needTopology, sleep, type LabClusterHost } from './lab-cluster-host.js';
import { holdFromPlace, probeBatch, probeFromPlace, type ProbeRunner } from './lab-cluster-probe.js';
import { executeReset, planReset } from './lab-cluster-reset.js';
import { ChangeTracker, agentPending, fetchHealth, podsPending } from './lab-cluster-settle.js';
import { configurePeer } from './lab-cluster-peer.js';

/** An agent's start to its first /healthz answer took 110 s under TCG emulation (3 agents at once). */
const AGENT_UP_TIMEOUT_MS = 300_000;

export type CommandRunner = (argv: string[], timeoutMs: number) => Promise<ExecResult>;

export interface LabClusterOptions {
  fetchHealth?: HealthFetcher;
  netnsExists?: (name: string) => boolean;
  /** Probes from one place (default: the kubelet's prober in the pod, or a prober in the node's namespace). */
  probe?: ProbeRunner;
  hold?: (from: Place, ip: string, port: number) => Promise<HoldHandle>;
  /** Runs an argv the topology built (default: the supervisor's exec helper). */
  run?: CommandRunner;
  /** Poll interval of settle, reset and agent start (default 150 ms). */
  pollMs?: number;
  resetTimeoutMs?: number;
  agentUpTimeoutMs?: number;
}

/** The default CommandRunner: the supervisor's exec helper; stdout and stderr in the order they came. */
export const runCommand: CommandRunner = async (argv, timeoutMs) => {
  let output = '';
  for await (const ev of execEvents(argv, { target: '', argv, timeoutMs })) {
    if (ev.type === 'exit') {
      if (ev.code !== null) return { exitCode: ev.code, output };
      const killed = ev.ms >= timeoutMs ? ` (killed after ${timeoutMs} ms)` : '';
      return { exitCode: 128 + (ev.signal === 'SIGKILL' ? 9 : ev.signal === 'SIGTERM' ? 15 : 0), output: `${output}\n${ev.signal ?? 'signal'}${killed}\n` };
    }
    output += ev.data;
  }
  return { exitCode: -1, output };
};

/** Waits for idle() but not past the deadline (no timer left behind). */
async function idleBefore(c: { idle(): Promise<void> }, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))));
  try {
    await Promise.race([c.idle(), late]);
  } finally {
    clearTimeout(timer);
  }
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function asLabError(err: unknown, prefix: string, context: Record<string, unknown>): KubeRouterError {
  if (err instanceof KubeRouterError && err.code === 'KR_ERR_LAB') return err;
  return labError(`${prefix}: ${errorMessage(err)}`, context, err);
}

export class GuestLabCluster implements LabCluster {
  private spec: ClusterSpec;
  /** Agents that should be running (settle reports one that is not). */
  private readonly expected = new Set<string>();
  private readonly holds = new Map<string, HoldHandle>();
  private tracker: ChangeTracker | undefined;
  private readonly pollMs: number;
  private readonly fetch: HealthFetcher;
  private readonly netnsExists: (name: string) => boolean;

  constructor(
    private readonly host: LabClusterHost,
    private readonly opts: LabClusterOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 150;
    this.fetch = opts.fetchHealth ?? fetchHealth;
    this.netnsExists = opts.netnsExists ?? defaultNetnsExists;
    this.spec = {
      nodes: host.topology?.nodes.length ?? host.config.nodes,
      secondSubnet: host.topology !== undefined ? host.topology.router !== undefined : host.config.secondSubnet,
      agentArgs: [...host.config.agentArgs],
      externalPeer: host.topology?.peer !== undefined,
      ...(host.topology?.nodes.some((n) => n.ip6 !== undefined) ? { dualStack: true } : {}),
    };
    for (const n of host.topology?.nodes ?? []) if (host.agents?.statusOf(n.name).running) this.expected.add(n.name);
    if (host.api !== undefined) this.tracker = new ChangeTracker(host.api.store);
  }

  private get store() {
    return needApi(this.host, 'lab cluster').store;
  }

  /** The current shape (what configure() compares against). */
  currentSpec(): ClusterSpec {
    return { ...this.spec, agentArgs: [...this.spec.agentArgs] };
  }

  async configure(fileSpec: ClusterSpec, family: IpFamily = 'ipv4'): Promise<void> {
    const topo = needTopology(this.host, 'configure');
    const have = topo.nodes.length;
    const haveSecond = topo.router !== undefined;
    const haveDual = topo.nodes.some((n) => n.ip6 !== undefined);
    if (family === 'ipv6' && !haveDual) {
      throw labError('--family ipv6 needs a dual-stack lab; this VM was booted IPv4-only (kube-router-lab down; kube-router-lab up --dual-stack)', {
        field: 'family',
        value: family,
      });
    }
    // The agents' flags of this run: an IPv6 run extends the file's (IPv4: the spec as written).
    const spec = this.specFor(fileSpec, family);
    if ((spec.dualStack ?? false) !== haveDual) {
      throw labError(
        `cluster: the file wants ${spec.dualStack ? 'a dual-stack' : 'an IPv4-only'} lab; this VM was booted ${haveDual ? 'dual-stack' : 'IPv4-only'}: run it in a VM booted that way (kube-router-lab up ${spec.dualStack ? '--dual-stack' : 'without --dual-stack'})`,
        { field: 'cluster.dualStack', value: String(spec.dualStack ?? false) },
      );
    }
    if (spec.nodes !== have || spec.secondSubnet !== haveSecond) {
      throw labError(
        `cluster: the file wants ${spec.nodes} nodes${spec.secondSubnet ? ' with the last behind a router' : ''}; this VM was booted with ${have}${haveSecond ? ' (second subnet)' : ''} and cannot change its nodes while running: run it in a VM booted with that topology`,
        { field: 'cluster.nodes', value: String(spec.nodes) },
      );
    }
    await configurePeer(this.host, topo, spec.externalPeer, () => this.store);
    const agents = this.host.agents;
    if (agents === undefined || !agents.available()) {
      this.host.log?.('lab-cluster: configure: agents are not available (not built or no API server); running without agents');
      this.spec = { ...spec, agentArgs: [...spec.agentArgs] };
      return;
    }
    const nodes = topo.nodes.map((n) => n.name);
    if (!sameArgs(spec.agentArgs, this.spec.agentArgs)) {
      const cleanup = cleanupArgsForTurnedOff(this.spec.agentArgs, spec.agentArgs);
      agents.setBaseArgs(spec.agentArgs);
      await Promise.all(nodes.map((n) => agents.stop(n, 'TERM')));
      if (cleanup !== undefined) {
        this.host.log?.(`lab-cluster: configure: controllers turned off, cleaning their state: ${cleanup.join(' ')}`);
        await Promise.all(nodes.map((n) => agents.start(n, cleanup, 'exit')));
      }
    }
    this.spec = { ...spec, agentArgs: [...spec.agentArgs] };
    const toStart = nodes.filter((n) => !agents.statusOf(n).running);
    await Promise.all(
      toStart.map(async (n) => {
        try {
          await agents.start(n, [], 'running');
        } catch (err) {
          throw asLabError(err, `configure: starting the agent on ${n}`, { value: n });
        }
      }),
    );
    for (const n of nodes) this.expected.add(n);
    // Every agent answers /healthz before the file's steps run (also the ones
    // the supervisor started at boot: under emulation that takes minutes).
    await Promise.all(nodes.map((n) => waitAgentUp(this.host, n, this.fetch, this.opts.agentUpTimeoutMs ?? AGENT_UP_TIMEOUT_MS, this.pollMs)));
  }

  private specFor(spec: ClusterSpec, family: IpFamily): ClusterSpec {
    try {
      return specForFamily(spec, family);
    } catch (err) {
      throw labError(`cluster: agentArgs of an ${family} run: ${errorMessage(err)}`, { field: 'cluster.agentArgs' }, err);
    }
  }

  async reset(): Promise<void> {
    for (const [name, h] of [...this.holds]) {
      this.holds.delete(name);
      await h.release().catch(() => undefined);
    }
    const store = this.store;
    await executeReset(this.host, store, planReset(store), {
      timeoutMs: this.opts.resetTimeoutMs ?? 120_000,
      pollMs: this.pollMs,
      netnsExists: this.netnsExists,
    });
  }

  async apply(objects: StoredObject[]): Promise<void> {
    await applyObjects(this.host, this.store, objects, { podGoneTimeoutMs: 60_000, pollMs: this.pollMs, netnsExists: this.netnsExists });
  }

  async delete(refs: ObjectRef[]): Promise<void> {
    const store = this.store;
    for (const r of refs) {
      const kind = labKind(r.kind, r.namespace, r.name);
      const ns = storedNamespace(kind, r.namespace);
      try {
        store.delete(kind, ns, r.name);
      } catch (err) {
        throw asLabError(err, `delete ${objectName(kind, ns, r.name)}`, { object: objectName(kind, ns, r.name) });
      }
    }
  }

  async get(kind: string, namespace: string | undefined, name: string): Promise<StoredObject | undefined> {
    const k = labKind(kind, namespace, name);
    return this.store.get(k, storedNamespace(k, namespace), name);
  }

  async list(kind: string, namespace?: string): Promise<StoredObject[]> {
    const k = labKind(kind, namespace, '*');
    return this.store.list(k, namespace === undefined ? {} : { namespace }).items;
  }

  /** What is pending right now (empty: settled), and the last change the agents must have synced. */
  async pending(): Promise<{ pending: string[]; target: string }> {
    const store = this.store;
    const tracker = (this.tracker ??= new ChangeTracker(store));
    const pending = podsPending(store.list('Pod').items);
    for (const o of await observeAgents(this.host, this.expected, this.fetch)) pending.push(...agentPending(o, (kinds) => tracker.lastChange(kinds)));
    return { pending, target: tracker.lastChange() };
  }

  /**
   * Polls until nothing is pending on two polls in a row with no change to
   * the agents' kinds in between (an EndpointSlice update following a pod's
   * Running status is not missed).
   */
  async settle(timeoutMs: number): Promise<SettleResult> {
    const deadline = Date.now() + timeoutMs;
    let quietAt: string | undefined;
    for (;;) {
      // The controller-manager's EndpointSlice writes for the latest pods first.
      if (this.host.cm !== undefined) await idleBefore(this.host.cm, deadline);
      const { pending, target } = await this.pending();
      if (pending.length === 0) {
        if (quietAt === target) return { settled: true, pending: [] };
        quietAt = target;
      } else quietAt = undefined;
      if (Date.now() > deadline) return { settled: false, pending: pending.length > 0 ? pending : ['changes still arriving'] };
      await sleep(this.pollMs);
    }
  }

  async probe(batch: ProbeRequest[]): Promise<ProbeResult[]> {
    const run: ProbeRunner = this.opts.probe ?? ((from, specs) => probeFromPlace(this.host, from, specs));
    return probeBatch(batch, run);
  }

  async exec(on: Place, cmd: string, timeoutMs: number): Promise<ExecResult> {
    const topo = needTopology(this.host, `exec on ${placeName(on)}`);
    const script = ['sh', '-c', `exec 2>&1\n${cmd}`];
    let argv: string[];
    try {
      if (on.kind === 'pod') argv = topo.argvFor({ kind: 'pod', namespace: on.namespace, name: on.name }, script);
      else argv = on.name === 'root' ? topo.argvFor({ kind: 'root' }, script) : topo.argvFor({ kind: 'node', name: on.name }, script);
    } catch (err) {
      throw asLabError(err, `exec on ${placeName(on)}`, on.kind === 'pod' ? { object: `Pod ${placeName(on)}` } : { value: on.name });
    }
    return (this.opts.run ?? runCommand)(argv, timeoutMs);
  }

  async hold(name: string, from: Place, toIP: string, port: number): Promise<void> {
    if (this.holds.has(name)) throw labError(`hold ${name}: a connection of that name is already held`, { value: name });
    const what = `hold ${name} from ${placeName(from)} to ${toIP}:${port}`;
    let h: HoldHandle;
    try {
      h = await (this.opts.hold ?? ((f: Place, ip: string, p: number) => holdFromPlace(this.host, f, ip, p)))(from, toIP, port);
    } catch (err) {
      throw asLabError(err, what, { value: name });
    }
    if (!h.connected) {
      const s = await h.release();
      throw labError(`${what}: not connected: ${s.error ?? 'no connection'}`, { value: name });
    }
    this.holds.set(name, h);
  }

  async release(name: string): Promise<HoldResult> {
    const h = this.holds.get(name);
    if (h === undefined) throw labError(`release ${name}: no connection of that name is held`, { value: name });
    this.holds.delete(name);
    const s = await h.release();
    return { broken: s.error !== undefined, maxGapMs: s.maxGapMs, ...(s.error !== undefined ? { error: s.error } : {}) };
  }

  private async agentStep<T>(node: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw asLabError(err, `${what} the agent on ${node}`, { value: node });
    }
  }

  async restartAgent(node: string, signal: 'TERM' | 'KILL'): Promise<void> {
    const agents = needAgents(this.host, `restart agent ${node}`);
    await this.agentStep(node, `restarting (${signal})`, () => agents.restart(node, signal));
    this.expected.add(node);
    await waitAgentUp(this.host, node, this.fetch, this.opts.agentUpTimeoutMs ?? AGENT_UP_TIMEOUT_MS, this.pollMs);
  }

  async stopAgent(node: string): Promise<void> {
    const agents = needAgents(this.host, `stop agent ${node}`);
    this.expected.delete(node);
    await this.agentStep(node, 'stopping', () => agents.stop(node, 'TERM'));
  }

  async startAgent(node: string, args: string[], wait: 'exit' | 'running'): Promise<number | null> {
    const agents = needAgents(this.host, `start agent ${node}`);
    if (wait === 'exit') {
      this.expected.delete(node);
      return this.agentStep(node, 'running', () => agents.start(node, args, 'exit'));
    }
    await this.agentStep(node, 'starting', () => agents.start(node, args, 'running'));
    this.expected.add(node);
    await waitAgentUp(this.host, node, this.fetch, this.opts.agentUpTimeoutMs ?? AGENT_UP_TIMEOUT_MS, this.pollMs);
    return null;
  }

  async restartApiServer(downForMs: number): Promise<void> {
    const api = needApi(this.host, 'restart apiserver');
    await api.stop();
    await sleep(downForMs);
    await api.start();
  }

  async nodes(): Promise<NodeInfo[]> {
    const topo = needTopology(this.host, 'nodes');
    const out: NodeInfo[] = topo.nodes.map((n) => ({ name: n.name, ips: [n.ip], role: 'node', ...(n.ip6 !== undefined ? { ip6: n.ip6 } : {}) }));
    const r = topo.router;
    // As ips[0] in IPv4, its IPv6 address is its lab-br0 side (fd00:56::254): the next hop of the first subnet's nodes.
    if (r !== undefined) out.push({ name: r.name, ips: [...r.ips], role: 'router', ...(r.ips6 !== undefined ? { ip6: r.ips6[0] } : {}) });
    if (topo.peer !== undefined) out.push({ name: topo.peer.name, ips: [topo.peer.ip], role: 'peer' });
    return out;
  }
}

/** What src/lab/scenario/guest.ts loads: the guest supervisor's context is a LabClusterHost. */
export function createLabCluster(ctx: LabClusterHost, opts: LabClusterOptions = {}): LabCluster {
  return new GuestLabCluster(ctx, opts);
}

// The supervisor's context must stay usable as a LabClusterHost (checked at compile time).
export const guestContextIsHost: (ctx: GuestContext) => LabClusterHost = (ctx) => ctx;
