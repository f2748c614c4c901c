// reset(): removes what scenario files created, leaving the cluster as it
// booted: the system namespaces, the Nodes, the `kubernetes` Service and its
// EndpointSlice, controller-managed EndpointSlices (they go with their
// Services), Events and Leases stay; every other namespace goes (the store
// deletes its contents with it), and so does every Pod, Service,
// NetworkPolicy and hand-made EndpointSlice in the system namespaces.
//
// It returns only when every deleted pod is really gone: its API object, the
// kubelet's record and its network namespace (so the next file may create a
// pod of the same name at once).

import type { LabKind, ObjectStore, StoredObject } from '../apiserver/types.js';
import { podNetnsName } from '../cluster/kubelet/naming.js';
import { errorMessage } from '../../errors.js';
import { kubeletsOf, labError, sleep, type LabClusterHost } from './lab-cluster-host.js';

export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

export interface PodGone {
  namespace: string;
  name: string;
  uid?: string;
  node?: string;
  /** Network namespace to wait for (none for hostNetwork or unbound pods). */
  netns?: string;
}

export interface ResetPlan {
  /** Non-system namespaces (their objects go with them). */
  namespaces: string[];
  /** Objects in the system namespaces. */
  objects: { kind: LabKind; namespace: string; name: string }[];
  /** Every pod that goes, to wait for. */
  pods: PodGone[];
}

interface PodView {
  spec?: { nodeName?: string; hostNetwork?: boolean };
}

/** Whether an object in a system namespace is part of the booted cluster. */
export function isSystemObject(kind: LabKind, o: StoredObject): boolean {
  const ns = o.metadata.namespace ?? 'default';
  if (kind === 'Service') return ns === 'default' && o.metadata.name === 'kubernetes';
  if (kind === 'EndpointSlice') return (ns === 'default' && o.metadata.name === 'kubernetes') || (o.metadata.labels?.[MANAGED_BY] ?? '') !== '';
  return kind !== 'Pod' && kind !== 'NetworkPolicy';
}

export function planReset(store: ObjectStore): ResetPlan {
  const plan: ResetPlan = { namespaces: [], objects: [], pods: [] };
  for (const ns of store.list('Namespace').items) if (!SYSTEM_NAMESPACES.includes(ns.metadata.name)) plan.namespaces.push(ns.metadata.name);
  for (const kind of ['Pod', 'Service', 'NetworkPolicy', 'EndpointSlice'] as const) {
    for (const o of store.list(kind).items) {
      const ns = o.metadata.namespace ?? 'default';
      if (kind === 'Pod') {
        const spec = (o as PodView).spec ?? {};
        const node = spec.nodeName || undefined;
        plan.pods.push({
          namespace: ns,
          name: o.metadata.name,
          uid: o.metadata.uid,
          node,
          netns: node !== undefined && !spec.hostNetwork ? podNetnsName(node, ns, o.metadata.name) : undefined,
        });
      }
      if (SYSTEM_NAMESPACES.includes(ns) && !isSystemObject(kind, o)) plan.objects.push({ kind, namespace: ns, name: o.metadata.name });
    }
  }
  return plan;
}

export interface ResetWaitOptions {
  timeoutMs: number;
  pollMs: number;
  netnsExists(name: string): boolean;
}

/** What keeps a deleted pod from being gone: its object, the kubelet's record, its netns. */
export function podsNotGone(host: LabClusterHost, store: ObjectStore, pods: readonly PodGone[], netnsExists: (n: string) => boolean): string[] {
  const out: string[] = [];
  for (const p of pods) {
    const key = `${p.namespace}/${p.name}`;
    const cur = store.get('Pod', p.namespace, p.name);
    if (cur !== undefined && (p.uid === undefined || cur.metadata.uid === p.uid)) {
      out.push(`pod ${key} still in the API${cur.metadata.deletionTimestamp ? ' (terminating)' : ''}`);
      continue;
    }
    if (cur !== undefined) continue; // re-created meanwhile: a new pod, not ours to wait for
    const k = kubeletsOf(host).find((kl) => kl.locate(p.namespace, p.name) !== undefined);
    if (k !== undefined) out.push(`pod ${key} still set up on ${k.nodeName}`);
    else if (p.netns !== undefined && netnsExists(p.netns)) out.push(`pod ${key}: netns ${p.netns} still exists`);
  }
  return out;
}

export async function executeReset(host: LabClusterHost, store: ObjectStore, plan: ResetPlan, opts: ResetWaitOptions): Promise<void> {
  const errors: string[] = [];
  const del = (kind: LabKind, ns: string | undefined, name: string): void => {
    try {
      store.delete(kind, ns, name);
    } catch (err) {
      errors.push(`${kind} ${ns === undefined ? '' : `${ns}/`}${name}: ${errorMessage(err)}`);
    }
  };
  for (const o of plan.objects) del(o.kind, o.namespace, o.name);
  for (const ns of plan.namespaces) del('Namespace', undefined, ns);
  if (errors.length > 0) throw labError(`reset: could not delete ${errors.join('; ')}`, { object: errors[0] });

  const deadline = Date.now() + opts.timeoutMs;
  let left = podsNotGone(host, store, plan.pods, opts.netnsExists);
  while (left.length > 0) {
    if (Date.now() > deadline) {
      throw labError(`reset: deleted pods not gone after ${opts.timeoutMs} ms: ${left.join('; ')}`, { object: left[0] });
    }
    await sleep(opts.pollMs);
    left = podsNotGone(host, store, plan.pods, opts.netnsExists);
  }
  const nodes = new Set(plan.pods.map((p) => p.node).filter((n): n is string => n !== undefined));
  await Promise.all(
    kubeletsOf(host)
      .filter((k) => nodes.has(k.nodeName))
      .map((k) => k.idle(Math.max(1000, deadline - Date.now()))),
  );
}
