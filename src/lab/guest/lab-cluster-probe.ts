// probe(): one native prober per source per batch, every source at once,
// results back in request order. A pod source goes to the kubelet that runs
// the pod (kubelet.probeFrom: the prober inside the pod's netns); a node or
// the router runs the prober in its own namespace through the topology.

import { runProbes, startHolder, wrapRunner, type HoldHandle, type NodeRunner, type ProbeResult as ProberResult, type ProbeSpec } from '../cluster/kubelet/index.js';
import { placeName, type Place, type ProbeRequest, type ProbeResult } from '../scenario/cluster.js';
import { errorMessage } from '../../errors.js';
import { kubeletsOf, labError, needTopology, type LabClusterHost } from './lab-cluster-host.js';

/** Requests grouped by source (placeName), each with its index in the batch; groups in first-seen order. */
export function groupBySource(batch: readonly ProbeRequest[]): { from: Place; items: { index: number; req: ProbeRequest }[] }[] {
  const groups = new Map<string, { from: Place; items: { index: number; req: ProbeRequest }[] }>();
  batch.forEach((req, index) => {
    const key = placeName(req.from);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { from: req.from, items: [] }));
    g.items.push({ index, req });
  });
  return [...groups.values()];
}

/**
 * The responder's first line is `<namespace>/<name> client=<ip>:<port>`; the
 * scenario's body is what the issue promises, `<namespace>/<name>` (files
 * match `^y/a$`). Anything else is passed on as it came.
 */
export function responderBody(line: string): string {
  const m = /^(\S+) client=\S+/.exec(line);
  return m === null ? line : m[1];
}

export function toProbeResult(r: ProberResult): ProbeResult {
  const ms = r.latencyMs;
  switch (r.status) {
    case 'ok': {
      const client = /^\S+ client=(\S+)/.exec(r.body)?.[1];
      return client === undefined ? { connected: true, body: responderBody(r.body), ms } : { connected: true, body: responderBody(r.body), client, ms };
    }
    case 'refused':
      return { connected: false, error: 'ECONNREFUSED', ms };
    case 'timeout':
      return { connected: false, error: 'timeout', ms };
    default:
      return { connected: false, error: r.body || 'prober error', ms };
  }
}

/** Runs argv in the node's (or router's) namespaces. */
export function placeRunner(host: LabClusterHost, node: string): NodeRunner {
  const topo = needTopology(host, `node ${node}`);
  const known = topo.nodes.some((n) => n.name === node) || topo.router?.name === node;
  if (!known) {
    const names = [...topo.nodes.map((n) => n.name), ...(topo.router ? [topo.router.name] : [])];
    throw labError(`no node or router "${node}" in this lab (there are: ${names.join(', ')})`, { value: node });
  }
  return wrapRunner((argv) => topo.argvFor({ kind: 'node', name: node }, argv));
}

/** Runs one prober from `from` with every spec. */
export async function probeFromPlace(host: LabClusterHost, from: Place, specs: ProbeSpec[]): Promise<ProberResult[]> {
  if (from.kind === 'node') return runProbes(placeRunner(host, from.name), undefined, specs);
  const key = `${from.namespace}/${from.name}`;
  const k = kubeletsOf(host).find((kl) => kl.owns(key));
  if (k === undefined) throw labError(`pod ${key} is not running on any node (no kubelet has it set up)`, { object: `Pod ${key}` });
  return k.probeFrom(key, specs);
}

/** Opens a held TCP connection from `from`. */
export async function holdFromPlace(host: LabClusterHost, from: Place, ip: string, port: number): Promise<HoldHandle> {
  if (from.kind === 'node') return startHolder(placeRunner(host, from.name), undefined, ip, port);
  const key = `${from.namespace}/${from.name}`;
  const k = kubeletsOf(host).find((kl) => kl.owns(key));
  if (k === undefined) throw labError(`pod ${key} is not running on any node (no kubelet has it set up)`, { object: `Pod ${key}` });
  return k.hold(key, ip, port);
}

export type ProbeRunner = (from: Place, specs: ProbeSpec[]) => Promise<ProberResult[]>;

/** The whole batch: groups in parallel; a group that cannot run gives every probe in it an error result. */
export async function probeBatch(batch: readonly ProbeRequest[], run: ProbeRunner): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array<ProbeResult>(batch.length);
  await Promise.all(
    groupBySource(batch).map(async (g) => {
      const runnable = g.items.filter((it) => it.req.protocol === 'TCP' || it.req.protocol === 'UDP');
      for (const it of g.items) {
        if (!runnable.includes(it)) results[it.index] = { connected: false, error: `${it.req.protocol} is not supported by the lab prober (TCP, UDP)` };
      }
      if (runnable.length === 0) return;
      const specs: ProbeSpec[] = runnable.map((it) => ({
        id: String(it.index),
        protocol: it.req.protocol as 'TCP' | 'UDP',
        ip: it.req.toIP,
        port: it.req.port,
        timeoutMs: it.req.timeoutMs,
      }));
      try {
        const rs = await run(g.from, specs);
        runnable.forEach((it, i) => (results[it.index] = toProbeResult(rs[i])));
      } catch (err) {
        const error = `probing from ${placeName(g.from)}: ${errorMessage(err)}`;
        for (const it of runnable) results[it.index] = { connected: false, error };
      }
    }),
  );
  return results;
}
