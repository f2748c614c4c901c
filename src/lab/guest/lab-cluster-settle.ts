// settle(): what is still pending before a scenario may probe.
//
//  - every Pod Running with an IP (a terminating one is pending until gone);
//  - every agent that should be running answers /healthz (its body, whatever
//    the status code) with cacheSynced, a cache resourceVersion at or past the
//    last change to any kind the agent watches, and, for every controller it
//    lists as running, a lastSyncResourceVersion at or past the last change to
//    the kinds that controller watches.
//
// "The last change" is tracked from the store's own watch (ChangeTracker)
// rather than taken from the store's global resourceVersion: writes of kinds
// no controller watches (Events, Leases, or Pods for the proxy) never trigger
// a sync, so a controller's lastSyncResourceVersion would never reach a
// global version bumped by them. The cache resourceVersion follows the global
// version anyway (the lab API server sends bookmarks every second).
//
// Which kinds a controller syncs on: the report's `kinds` (src/health/
// evaluate.ts lists them for running controllers), else CONTROLLER_KINDS below.

import http from 'node:http';
import type { LabKind, ObjectStore, StoredObject } from '../apiserver/types.js';
import { compareResourceVersions } from '../../informers/resource-version.js';
import { errorMessage } from '../../errors.js';
import { AGENT_KINDS } from './lab-cluster-host.js';

/**
 * The kinds whose changes make each controller sync, as kube-router's
 * controllers take their informers (NSC: services, endpoint slices; NRC:
 * nodes, services, endpoint slices; NPC: pods, namespaces, policies).
 */
export const CONTROLLER_KINDS: Readonly<Record<string, readonly LabKind[]>> = {
  proxy: ['Service', 'EndpointSlice'],
  routing: ['Node', 'Service', 'EndpointSlice'],
  firewall: ['Pod', 'Namespace', 'NetworkPolicy'],
};

/** The parts of an agent's /healthz body (src/health/evaluate.ts HealthReport) settle reads. */
export interface AgentHealthBody {
  healthy?: boolean;
  cacheSynced?: boolean;
  resourceVersion?: string;
  controllers?: {
    name: string;
    running: boolean;
    lastSyncResourceVersion?: string;
    /** The kinds the controller watches (the agent reports them for running controllers). */
    kinds?: string[];
  }[];
}

export interface AgentObservation {
  node: string;
  body?: AgentHealthBody;
  /** Why there is no body (connection refused, bad JSON...). */
  error?: string;
}

function maxRv(a: string, b: string): string {
  const c = compareResourceVersions(a, b);
  return c === undefined ? b : c >= 0 ? a : b;
}

/** Whether `have` is at or past `want` ('' = nothing yet: never). */
export function rvAtLeast(have: string | undefined, want: string): boolean {
  if (want === '' || want === '0') return true;
  if (have === undefined || have === '') return false;
  const c = compareResourceVersions(have, want);
  return c === undefined ? have === want : c >= 0;
}

/** The resourceVersion of the last change (create, update, delete) per agent kind, from the store's watch. */
export class ChangeTracker {
  private readonly last = new Map<string, string>();
  private readonly stops: (() => void)[] = [];

  constructor(store: ObjectStore, kinds: readonly LabKind[] = AGENT_KINDS) {
    for (const kind of kinds) {
      const { items, resourceVersion } = store.list(kind);
      let rv = '0';
      for (const o of items) rv = maxRv(rv, o.metadata.resourceVersion ?? '0');
      this.last.set(kind, rv);
      this.stops.push(
        store.watch(kind, resourceVersion, {}, (ev) => {
          if (ev.type === 'BOOKMARK') return;
          const v = ev.object.metadata.resourceVersion;
          if (v !== undefined) this.last.set(kind, maxRv(this.last.get(kind) ?? '0', v));
        }),
      );
    }
  }

  /** The last change over `kinds` (default: every tracked kind). Unknown kinds count as every kind. */
  lastChange(kinds?: readonly string[]): string {
    const known = kinds?.filter((k) => this.last.has(k));
    const use = known === undefined || known.length === 0 ? [...this.last.keys()] : known;
    let rv = '0';
    for (const k of use) rv = maxRv(rv, this.last.get(k) ?? '0');
    return rv;
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
  }
}

interface PodView {
  spec?: { nodeName?: string };
  status?: { phase?: string; podIP?: string; message?: string; reason?: string };
}

/** `pod x/a Pending (no IP yet)`, `pod x/b terminating`... for every pod not Running with an IP. */
export function podsPending(pods: readonly StoredObject[]): string[] {
  const out: string[] = [];
  for (const p of pods) {
    const name = `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
    const v = p as PodView;
    if (p.metadata.deletionTimestamp !== undefined) {
      out.push(`pod ${name} terminating${v.spec?.nodeName ? ` on ${v.spec.nodeName}` : ''}`);
      continue;
    }
    const phase = v.status?.phase ?? 'Pending';
    if (phase === 'Running' && v.status?.podIP) continue;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const where = v.spec?.nodeName ? ` on ${v.spec.nodeName}` : ' (not bound to a node)';
    const why = v.status?.message ?? v.status?.reason ?? (phase === 'Running' ? 'no IP yet' : undefined);
    out.push(`pod ${name} ${phase}${where}${why ? `: ${why}` : ''}`);
  }
  return out;
}

/** What one agent still lacks; [] when it has synced everything `tracker` saw change. */
export function agentPending(obs: AgentObservation, lastChange: (kinds?: readonly string[]) => string): string[] {
  const who = `agent ${obs.node}`;
  if (obs.body === undefined) return [`${who}: /healthz ${obs.error ?? 'no answer'}`];
  const b = obs.body;
  const out: string[] = [];
  const all = lastChange();
  if (b.cacheSynced === false) out.push(`${who}: informer cache not synced yet`);
  // Synced with no version: the agent watches no kind at all (no controller enabled), nothing to catch up on.
  else if (b.resourceVersion === '' && b.cacheSynced === true) return out;
  else if (!rvAtLeast(b.resourceVersion, all)) out.push(`${who} cache at rv ${b.resourceVersion || 'none'} < ${all}`);
  for (const c of b.controllers ?? []) {
    if (!c.running) continue;
    const want = lastChange(c.kinds ?? CONTROLLER_KINDS[c.name]);
    if (!rvAtLeast(c.lastSyncResourceVersion, want)) out.push(`${who} ${c.name} at rv ${c.lastSyncResourceVersion ?? 'none (no sync yet)'} < ${want}`);
  }
  return out;
}

/** The last value of a flag given as `--name=v` or `--name v`. */
export function flagValue(args: readonly string[], name: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith(`--${name}=`)) v = a.slice(name.length + 3);
    else if (a === `--${name}` && i + 1 < args.length) v = args[++i];
  }
  return v;
}

/** The agent's /healthz URL as seen from the guest root (its node's underlay IP), or why there is none. */
export function healthUrl(args: readonly string[], nodeIP: string): { url?: string; reason?: string } {
  const port = Number(flagValue(args, 'health-port') ?? '20244');
  if (!Number.isInteger(port) || port <= 0) return { reason: 'health server disabled (--health-port=0)' };
  const addr = flagValue(args, 'health-addr') ?? '';
  const host = addr === '' || addr === '0.0.0.0' || addr === '::' ? nodeIP : addr;
  if (host.startsWith('127.') || host === 'localhost' || host === '::1') return { reason: `health server on ${host} is not reachable from the guest root` };
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz` };
}

/** GETs an agent's /healthz and parses the JSON body, whatever the status code (503 still has the body). */
export function fetchHealth(url: string, timeoutMs = 1500): Promise<{ body?: AgentHealthBody; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ body: JSON.parse(text) as AgentHealthBody });
        } catch {
          resolve({ error: `answered ${res.statusCode ?? '?'} without a JSON body: ${text.slice(0, 80)}` });
        }
      });
      res.on('error', (e) => resolve({ error: errorMessage(e) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? errorMessage(e) }));
  });
}
