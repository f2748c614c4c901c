// Which policies, pods and namespaces the firewall must recompile, from
// informer events. O(size of one object) per event, no kernel access; the
// sync drains the accumulated keys and hands them to FirewallState.update.
//
// Relevance filters need the OLD object (kube-router's isPodUpdateNetPolRelevant):
// a pod update matters when its phase, IPs, host IP, labels, node,
// hostNetwork or container ports (named ports) change; a namespace update
// when its labels change (namespaceSelector-scoped sets re-evaluate its pods;
// policy chains reference sets and never depend on namespace labels); a
// policy update when its spec changes.

import type { ResourceEvent } from '../../informers/cache.js';
import type { Namespace, NetworkPolicy, Pod } from '../../informers/types.js';
import { isActionable, isStarting } from './compile-sets.js';
import type { FirewallChanges } from './compile-state.js';

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k in ao) if (ao[k] !== undefined && !jsonEqual(ao[k], bo[k])) return false;
  for (const k in bo) if (bo[k] !== undefined && ao[k] === undefined) return false;
  return true;
}

const keyOf = (o: { metadata: { namespace?: string; name: string } }): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function podPorts(p: Pod): unknown {
  return (p.spec?.containers ?? []).map((c) => c.ports ?? []);
}

/** kube-router's isPodUpdateNetPolRelevant, plus the fields our compiler also reads. */
export function isPodUpdateRelevant(old: Pod, cur: Pod): boolean {
  return (
    old.status?.phase !== cur.status?.phase ||
    old.status?.podIP !== cur.status?.podIP ||
    !jsonEqual(old.status?.podIPs, cur.status?.podIPs) ||
    old.status?.hostIP !== cur.status?.hostIP ||
    !jsonEqual(old.metadata.labels ?? {}, cur.metadata.labels ?? {}) ||
    old.spec?.nodeName !== cur.spec?.nodeName ||
    !!old.spec?.hostNetwork !== !!cur.spec?.hostNetwork ||
    !jsonEqual(podPorts(old), podPorts(cur))
  );
}

export function isNamespaceUpdateRelevant(old: Namespace, cur: Namespace): boolean {
  return !jsonEqual(old.metadata.labels ?? {}, cur.metadata.labels ?? {});
}

export function isPolicyUpdateRelevant(old: NetworkPolicy, cur: NetworkPolicy): boolean {
  return !jsonEqual(old.spec, cur.spec);
}

export class FirewallChangeTracker {
  private policies = new Set<string>();
  private pods = new Set<string>();
  private namespaces = new Set<string>();

  /** Returns true when the event is relevant (a sync should be requested). */
  onPod(ev: ResourceEvent<Pod>): boolean {
    // A pod bound to a node without an IP yet counts: its node writes the
    // chains of the policies selecting it before the IP comes (compile-state.ts).
    if (ev.type === 'add' && !isActionable(ev.obj) && !isStarting(ev.obj)) return false;
    if (ev.type === 'update' && ev.old && !isPodUpdateRelevant(ev.old, ev.obj)) return false;
    if (ev.type === 'delete' && ev.obj.spec?.hostNetwork) return false;
    this.pods.add(keyOf(ev.obj));
    return true;
  }

  onNamespace(ev: ResourceEvent<Namespace>): boolean {
    if (ev.type === 'update' && ev.old && !isNamespaceUpdateRelevant(ev.old, ev.obj)) return false;
    this.namespaces.add(ev.obj.metadata.name);
    return true;
  }

  onPolicy(ev: ResourceEvent<NetworkPolicy>): boolean {
    if (ev.type === 'update' && ev.old && !isPolicyUpdateRelevant(ev.old, ev.obj)) return false;
    this.policies.add(keyOf(ev.obj));
    return true;
  }

  pending(): number {
    return this.policies.size + this.pods.size + this.namespaces.size;
  }

  /** The accumulated keys, cleared. */
  drain(): FirewallChanges & { policies: string[]; pods: string[]; namespaces: string[] } {
    const out = { policies: [...this.policies].sort(), pods: [...this.pods].sort(), namespaces: [...this.namespaces].sort() };
    this.policies = new Set();
    this.pods = new Set();
    this.namespaces = new Set();
    return out;
  }
}
