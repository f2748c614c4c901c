// The LabCluster of the scenario runner (src/lab/scenario/cluster.ts) on the
// real guest: objects through the in-process API server store, probes and
// held connections through the kubelets' native tools, commands through the
// topology, agents through the AgentManager. Loaded by
// src/lab/scenario/guest.ts as `createLabCluster(ctx)`.

import type { LabKind, StoredObject } from '../apiserver/types.js';
import { runProbes, wrapRunner, type HoldHandle, type ProbeSpec } from '../cluster/kubelet/index.js';
import type { ClusterSpec, ExecResult, HoldResult, LabCluster, NodeInfo, ObjectRef, Place, ProbeRequest, ProbeResult } from '../scenario/cluster.js';
import { sameClusterSpec } from '../scenario/cluster.js';
import { LabError } from '../vm/proc.js';
import type { GuestContext } from './context.js';
import { execEvents } from './exec.js';
import { reconfigure } from './reconfigure.js';
import { KindVersions, settle } from './settle.js';

const KINDS = new Set<string>(['Service', 'EndpointSlice', 'Node', 'Pod', 'Namespace', 'NetworkPolicy', 'Event', 'Lease']);
const CLUSTER_SCOPED = new Set<string>(['Node', 'Namespace']);

function labKind(kind: string): LabKind {
  if (!KINDS.has(kind)) throw new LabError('apply', `kind ${kind} is not served by the lab API server`);
  return kind as LabKind;
}

function nsOf(kind: string, ns: string | undefined): string | undefined {
  return CLUSTER_SCOPED.has(kind) ? undefined : (ns ?? 'default');
}

function refName(kind: string, ns: string | undefined, name: string): string {
  return `${kind} ${ns ? `${ns}/` : ''}${name}`;
}

function isNotFound(e: unknown): boolean {
  return (e as { httpCode?: number }).httpCode === 404;
}

function sourceOf(p: Place): string {
  return p.kind === 'node' ? p.name : `${p.namespace}/${p.name}`;
}

export function createLabCluster(ctx: GuestContext): LabCluster {
  if (ctx.api === undefined || ctx.topology === undefined || ctx.agents === undefined) {
    throw new LabError('scenario', 'the lab cluster is not up (API server, topology or agents missing)');
  }
  const store = ctx.api.store;
  const versions = new KindVersions(store);
  const created: { kind: LabKind; ns: string | undefined; name: string }[] = [];
  const holds = new Map<string, HoldHandle>();
  let spec: ClusterSpec = { nodes: ctx.config.nodes, secondSubnet: ctx.config.secondSubnet, agentArgs: [...ctx.config.agentArgs], externalPeer: false };

  const kubeletFor = (source: string) => (ctx.kubelets ?? []).find((k) => k.owns(source));
  const idle = async (): Promise<void> => {
    await ctx.cm?.idle();
    await Promise.all((ctx.kubelets ?? []).map((k) => k.idle(30_000).catch(() => undefined)));
  };

  const cluster: LabCluster = {
    async configure(next) {
      if (sameClusterSpec(spec, next)) return;
      await reconfigure(ctx, spec, next);
      spec = { ...next, agentArgs: [...next.agentArgs] };
    },

    async reset() {
      for (const h of holds.values()) await h.release().catch(() => undefined);
      holds.clear();
      const refs = created.splice(0).reverse();
      await cluster.delete(refs.map((r) => ({ kind: r.kind, namespace: r.ns, name: r.name })));
      const pods = refs.filter((r) => r.kind === 'Pod' || r.kind === 'Namespace');
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const left = store.list('Pod').items.filter((p) => pods.some((r) => (r.kind === 'Pod' ? r.ns === p.metadata.namespace && r.name === p.metadata.name : r.name === p.metadata.namespace)));
        if (left.length === 0) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new LabError('reset', 'pods were still there 120 s after their deletion');
    },

    async apply(objects) {
      for (const obj of objects) {
        const kind = labKind(obj.kind);
        const ns = nsOf(kind, obj.metadata.namespace);
        const name = obj.metadata.name;
        const body: StoredObject = { ...obj, metadata: { ...obj.metadata, ...(ns === undefined ? {} : { namespace: ns }) } };
        try {
          const existing = store.get(kind, ns, name);
          if (existing === undefined) {
            store.create(kind, body);
            created.push({ kind, ns, name });
          } else {
            store.update(kind, { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } });
          }
        } catch (e) {
          throw new LabError('apply', `${refName(kind, ns, name)}: ${(e as Error).message}`, { object: refName(kind, ns, name) }, { cause: e });
        }
      }
    },

    async delete(refs: ObjectRef[]) {
      for (const r of refs) {
        const kind = labKind(r.kind);
        try {
          store.delete(kind, nsOf(kind, r.namespace), r.name);
        } catch (e) {
          if (!isNotFound(e)) throw new LabError('delete', `${refName(kind, r.namespace, r.name)}: ${(e as Error).message}`, {}, { cause: e });
        }
      }
    },

    async get(kind, namespace, name) {
      const k = labKind(kind);
      return store.get(k, nsOf(k, namespace), name);
    },

    async list(kind, namespace) {
      return store.list(labKind(kind), namespace === undefined ? {} : { namespace }).items;
    },

    settle: (timeoutMs) => settle({ store, topology: ctx.topology, agents: ctx.agents, versions, idle }, timeoutMs),

    async probe(batch: ProbeRequest[]) {
      const results: ProbeResult[] = new Array(batch.length);
      const groups = new Map<string, number[]>();
      batch.forEach((p, i) => groups.set(sourceOf(p.from), [...(groups.get(sourceOf(p.from)) ?? []), i]));
      await Promise.all(
        [...groups].map(async ([source, idx]) => {
          const probes: ProbeSpec[] = [];
          for (const i of idx) {
            const p = batch[i];
            if (p.protocol === 'SCTP') results[i] = { connected: false, error: 'SCTP probes are not supported in the lab' };
            else probes.push({ id: String(i), protocol: p.protocol, ip: p.toIP, port: p.port, timeoutMs: p.timeoutMs });
          }
          if (probes.length === 0) return;
          try {
            const k = kubeletFor(source);
            const out = k !== undefined
              ? await k.probeFrom(source, probes)
              : await runProbes(wrapRunner((argv) => ctx.topology.argvFor({ kind: 'node', name: source }, argv)), undefined, probes);
            for (const r of out) {
              results[Number(r.id)] = { connected: r.status === 'ok', body: r.body || undefined, error: r.status === 'ok' ? undefined : r.status === 'error' ? r.body : r.status, ms: r.latencyMs };
            }
          } catch (e) {
            for (const p of probes) results[Number(p.id)] = { connected: false, error: (e as Error).message };
          }
        }),
      );
      return results;
    },

    async exec(on, cmd, timeoutMs): Promise<ExecResult> {
      const target = on.kind === 'node' ? { kind: 'node' as const, name: on.name } : { kind: 'pod' as const, namespace: on.namespace, name: on.name };
      const argv = ctx.topology.argvFor(target, ['sh', '-c', cmd]);
      let output = '';
      for await (const ev of execEvents(argv, { target: sourceOf(on), argv, timeoutMs })) {
        if (ev.type === 'exit') return { exitCode: ev.code ?? 128 + 9, output };
        output += ev.data;
      }
      return { exitCode: 1, output };
    },

    async hold(name, from, toIP, port) {
      const source = sourceOf(from);
      const k = kubeletFor(source);
      if (k === undefined) throw new LabError('hold', `no kubelet serves ${source}`);
      if (holds.has(name)) throw new LabError('hold', `a connection named ${name} is already held`);
      const h = await k.hold(source, toIP, port);
      if (!h.connected) {
        const s = await h.release();
        throw new LabError('hold', `${name}: ${source} -> ${toIP}:${port} did not connect: ${s.error ?? 'unknown error'}`);
      }
      holds.set(name, h);
    },

    async release(name): Promise<HoldResult> {
      const h = holds.get(name);
      if (h === undefined) throw new LabError('release', `no held connection named ${name}`);
      holds.delete(name);
      const s = await h.release();
      return { broken: s.error !== undefined, maxGapMs: s.maxGapMs, error: s.error };
    },

    async restartAgent(node, signal) {
      await ctx.agents.restart(node, signal);
    },

    async stopAgent(node) {
      await ctx.agents.stop(node, 'TERM');
    },

    async startAgent(node, args, wait) {
      const code = await ctx.agents.start(node, args, wait);
      if (wait === 'running') await ctx.agents.whenHealthy(node);
      return code;
    },

    async restartApiServer(downForMs) {
      await ctx.api.stop();
      await new Promise((r) => setTimeout(r, downForMs));
      await ctx.api.start();
    },

    async nodes(): Promise<NodeInfo[]> {
      const out: NodeInfo[] = ctx.topology.nodes.map((n) => ({ name: n.name, ips: [n.ip], role: 'node' }));
      const r = ctx.topology.router;
      if (r !== undefined) out.push({ name: r.name, ips: [...r.ips], role: 'router' });
      return out;
    },
  };
  return cluster;
}
