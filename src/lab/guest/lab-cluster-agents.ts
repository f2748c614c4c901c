// The agents as the LabCluster sees them: which should be running (started
// by configure or a `start` step, not stopped by a `stop` step), where their
// /healthz answers, and "up" (a started agent answers /healthz, or has not
// exited half a second after its start when its health server is off).

import type { AgentStatus } from './agents.js';
import { labError, needAgents, needTopology, sleep, type LabClusterHost } from './lab-cluster-host.js';
import { healthUrl, type AgentHealthBody, type AgentObservation } from './lab-cluster-settle.js';

export type HealthFetcher = (url: string, timeoutMs: number) => Promise<{ body?: AgentHealthBody; error?: string }>;

function describeExit(st: AgentStatus): string {
  const e = st.lastExit;
  if (e === undefined) return 'never started';
  return `exited (${e.signal !== null ? `signal ${e.signal}` : `code ${e.code ?? '?'}`} at ${e.at}); log ${st.log}`;
}

export function nodeIP(host: LabClusterHost, node: string): string {
  const n = needTopology(host, `agent ${node}`).nodes.find((x) => x.name === node);
  if (n === undefined) throw labError(`no node ${node} in this lab`, { value: node });
  return n.ip;
}

/** One observation per agent that should be running: its health body, or why there is none. */
export async function observeAgents(host: LabClusterHost, expected: ReadonlySet<string>, fetch: HealthFetcher): Promise<AgentObservation[]> {
  if (host.agents === undefined) return [];
  const agents = host.agents;
  const nodes = host.topology?.nodes.map((n) => n.name) ?? [];
  const out = await Promise.all(
    nodes.map(async (node): Promise<AgentObservation | undefined> => {
      const st = agents.statusOf(node);
      if (!st.running) return expected.has(node) ? { node, error: `unanswered: the agent is not running: ${describeExit(st)}` } : undefined;
      const h = healthUrl(st.args, nodeIP(host, node));
      if (h.url === undefined) return undefined; // nothing to observe: counts as synced
      const r = await fetch(h.url, 1500);
      return r.body !== undefined ? { node, body: r.body } : { node, error: `${h.url}: ${r.error ?? 'no answer'}` };
    }),
  );
  return out.filter((o): o is AgentObservation => o !== undefined);
}

/** After start(): resolves once the agent answers /healthz; rejects naming the node if it exits or stays silent. */
export async function waitAgentUp(host: LabClusterHost, node: string, fetch: HealthFetcher, timeoutMs: number, pollMs = 200): Promise<void> {
  const agents = needAgents(host, `agent ${node}`);
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let last = '';
  for (;;) {
    const st = agents.statusOf(node);
    if (!st.running) throw labError(`agent ${node} ${describeExit(st)} right after its start`, { value: node });
    const h = healthUrl(st.args, nodeIP(host, node));
    if (h.url === undefined) {
      if (Date.now() - t0 >= 500) return;
    } else {
      const r = await fetch(h.url, 1000);
      if (r.body !== undefined) return;
      last = r.error ?? '';
    }
    if (Date.now() > deadline) throw labError(`agent ${node} did not answer ${h.url ?? '/healthz'} within ${timeoutMs} ms${last ? ` (${last})` : ''}; log ${st.log}`, { value: node });
    await sleep(pollMs);
  }
}
