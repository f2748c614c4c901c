// Set members: which pod IPs (or `ip,proto:port` / nets) each set spec holds.
// A set's members depend on pods and namespaces only, never on the policies
// that reference it, so the state can patch them per pod event.

import { canonicalAddr, canonicalNet } from '../../kernel/ipset/addr.js';
import type { Namespace, Pod } from '../../informers/types.js';
import type { IpsetSet } from '../../kernel/ipset/types.js';
import { netEntries } from './compile-peers.js';
import type { Family } from './names.js';
import { SET_TYPE, type ClusterView, type PodGroup, type SetSpec } from './model.js';

/**
 * kube-router's isNetPolActionable: not finished (Succeeded/Failed), has an
 * IP, not hostNetwork. Terminating pods (deletionTimestamp set) stay
 * actionable until they finish, as in kube-router.
 */
/** A pod whose containers have all ended. */
function isFinished(pod: Pod): boolean {
  const phase = pod.status?.phase as string | undefined;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Completed';
}

export function isActionable(pod: Pod | undefined): pod is Pod {
  if (!pod || isFinished(pod)) return false;
  if (pod.spec?.hostNetwork) return false;
  return !!pod.status?.podIP;
}

/**
 * A pod bound to a node that has no IP yet (its sandbox is starting): it
 * will be actionable there once the CNI gives it one.
 */
export function isStarting(pod: Pod | undefined): pod is Pod {
  return !!pod?.spec?.nodeName && !pod.spec.hostNetwork && !pod.status?.podIP && !isFinished(pod);
}

/**
 * Canonical addresses per pod object. The cache replaces a pod's object on
 * every update and never changes one, so an object's addresses are fixed:
 * a full compile asks for them once per set that could hold the pod.
 */
const podIps = new WeakMap<Pod, { ipv4?: string; ipv6?: string }>();

/** The pod's address of one family (canonical), if any. */
export function podIp(pod: Pod, fam: Family): string | undefined {
  let ips = podIps.get(pod);
  if (!ips) {
    ips = {};
    const list = pod.status?.podIPs?.length ? pod.status.podIPs.map((x) => x.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
    for (const text of list) {
      const a = canonicalAddr(text);
      if (!a) continue;
      const f: Family = a.v6 ? 'ipv6' : 'ipv4';
      ips[f] ??= a.addr;
    }
    podIps.set(pod, ips);
  }
  return ips[fam];
}

export function namespaceLabels(view: Pick<ClusterView, 'namespaces'>, ns: string): Record<string, string> | undefined {
  return view.namespaces.get(ns)?.metadata.labels;
}

/** Whether a (actionable) pod belongs to a group, given its namespace's labels. */
export function groupHasPod(group: PodGroup, pod: Pod, nsLabels: Record<string, string> | undefined): boolean {
  const ns = pod.metadata.namespace ?? '';
  if ('namespace' in group.scope) {
    if (group.scope.namespace !== ns) return false;
  } else if (!group.scope.selector.matches(nsLabels)) return false;
  return group.pods.matches(pod.metadata.labels);
}

/** What one pod contributes to a pod-based set, in one family. */
export function podEntries(spec: SetSpec, pod: Pod, fam: Family): string[] {
  const ip = podIp(pod, fam);
  if (!ip) return [];
  if (spec.kind === 'pods') return [ip];
  if (spec.kind !== 'namedPort') return [];
  const out: string[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === spec.port && (p.protocol ?? 'TCP') === spec.protocol) out.push(`${ip},${spec.protocol.toLowerCase()}:${p.containerPort}`);
    }
  }
  return out;
}

/** Members of an ipBlock set: the CIDR (a /0 as two /1 halves) and `except` entries flagged `nomatch`. */
export function ipBlockEntries(spec: Extract<SetSpec, { kind: 'ipBlock' }>): string[] {
  const canon = (n: string): string => canonicalNet(n)?.net ?? n;
  return [...netEntries(spec.cidr, spec.family).map(canon), ...spec.except.map((e) => `${canon(e)} nomatch`)];
}

/** Pods of a group (actionable only), using the namespace index where the scope allows. */
export function groupPods(group: PodGroup, view: ClusterView): Pod[] {
  const out: Pod[] = [];
  const scan = (ns: string, labels: Record<string, string> | undefined): void => {
    for (const pod of view.pods.listNamespace(ns)) if (isActionable(pod) && groupHasPod(group, pod, labels)) out.push(pod);
  };
  if ('namespace' in group.scope) scan(group.scope.namespace, namespaceLabels(view, group.scope.namespace));
  else if (group.scope.selector.matchesAll) {
    for (const pod of view.pods.list()) if (isActionable(pod) && group.pods.matches(pod.metadata.labels)) out.push(pod);
  } else {
    for (const ns of view.namespaces.list() as Namespace[]) {
      if (group.scope.selector.matches(ns.metadata.labels)) scan(ns.metadata.name, ns.metadata.labels);
    }
  }
  return out;
}

/** All members of a set in one family, sorted and de-duplicated. */
export function setMembers(spec: SetSpec, fam: Family, view: ClusterView): string[] {
  if (spec.kind === 'ipBlock') return spec.family === fam ? ipBlockEntries(spec).sort() : [];
  const out = new Set<string>();
  for (const pod of groupPods(spec.group, view)) for (const e of podEntries(spec, pod, fam)) out.add(e);
  return [...out].sort();
}

/** Code-unit order (the kernel's and iptables-save's), for sorting names and entries. */
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Same strings in the same order; undefined is the empty list. */
export function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (!a) return b.length === 0;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The kernel set (`timeout 0` as kube-router creates them). */
export function toIpset(name: string, spec: SetSpec, fam: Family, entries: Iterable<string>): IpsetSet {
  return {
    name,
    type: SET_TYPE[spec.kind],
    family: fam === 'ipv6' ? 'inet6' : 'inet',
    options: { timeout: 0 },
    entries: new Set(entries),
  };
}
