// Sizes of the kernel state for the firewall benches: ours (read back from
// the kernel; it includes the KUBE-NWPLCY-SEL-* chains, one per podSelector
// that two or more policies of a namespace share) and what kube-router's layout would need for
// the same cluster (derived from shared/notes/kube-router-reference.md §3.3
// and §6, IPv4 only), counted as a LOWER bound for kube-router so that
// "ours <= kube-router's" is not flattered:
//   chains   KUBE-ROUTER-INPUT/-FORWARD/-OUTPUT, -COMMON, -DEFAULT, -TAIL;
//            one KUBE-NWPLCY-* per policy that selects a local pod (kube-router
//            writes one per policy); one KUBE-POD-FW-* per local pod (every
//            local non-hostNetwork pod, selected or not).
//   rules    per pod chain: COMMON jump, local-source ACCEPT, per direction one
//            jump per selecting policy (or the DEFAULT jump), NFLOG + REJECT,
//            mark clear, MARK 0x20000 = 6 + jumps; 6 top-level jumps per pod
//            (-d pod: FORWARD, FORWARD physdev, OUTPUT; -s pod: INPUT, FORWARD,
//            OUTPUT); per policy chain, per rule, per peer kind (pod set,
//            ipBlock set, or any) and per port entry (or one without ports):
//            MARK + RETURN; 12 fixed rules (top-level jumps, COMMON, DEFAULT,
//            TAIL, service RETURN).
//   sets     per policy: a target set per type it has; per rule a pod-peer set
//            and an ipBlock set when present; per named port entry one set;
//            entries = members.

import { compileSelector } from '../src/controllers/firewall/selectors.js';
import type { FakeSharedCache } from '../src/informers/fake-cache.js';
import type { LabelSelector, NetworkPolicy, Pod } from '../src/informers/types.js';

export interface LayoutCounts {
  chains: number;
  rules: number;
  sets: number;
  entries: number;
}

/** Our state as the kernel holds it: owned chains and their rules plus the jumps into them, and our sets. */
export function kernelCounts(iptablesSave: string, ipsetSave: string): LayoutCounts {
  const owned = (c: string): boolean => c.startsWith('KUBE-ROUTER-INPUT') || c.startsWith('KUBE-ROUTER-FORWARD') || c.startsWith('KUBE-ROUTER-OUTPUT') || c.startsWith('KUBE-NWPLCY-') || c.startsWith('KUBE-POD-FW-');
  let chains = 0;
  let rules = 0;
  for (const l of iptablesSave.split('\n')) {
    if (l.startsWith(':') && owned(l.slice(1).split(' ')[0])) chains++;
    else if (l.startsWith('-A ')) {
      const [, chain] = l.split(' ');
      if (owned(chain) || / -j KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)\b/.test(l)) rules++;
    }
  }
  const ours = (name: string): boolean => name.startsWith('KUBE-SRC-') || name.startsWith('KUBE-DST-') || name.startsWith('inet6:KUBE-') || name === 'kube-router-local-pods';
  let sets = 0;
  let entries = 0;
  for (const l of ipsetSave.split('\n')) {
    const [verb, name] = l.split(' ');
    if (name === undefined || !ours(name)) continue;
    if (verb === 'create') sets++;
    else if (verb === 'add') entries++;
  }
  return { chains, rules, sets, entries };
}

interface PeerLike {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface RuleLike {
  peers?: PeerLike[];
  ports?: { port?: number | string }[];
}

export function kubeRouterCounts(cache: FakeSharedCache, localNode: string): LayoutCounts {
  const pods = cache.store('Pod').list().filter((p) => p.status?.podIP && !p.spec?.hostNetwork);
  const nsLabels = new Map(cache.store('Namespace').list().map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  const local = pods.filter((p) => p.spec?.nodeName === localNode);
  const inNs = (ns: string): Pod[] => pods.filter((p) => p.metadata.namespace === ns);
  const peerPods = (pol: NetworkPolicy, peer: PeerLike): number => {
    const podSel = compileSelector(peer.podSelector ?? {});
    if (peer.namespaceSelector === undefined) return inNs(pol.metadata.namespace ?? '').filter((p) => podSel.matches(p.metadata.labels)).length;
    const nsSel = compileSelector(peer.namespaceSelector);
    return pods.filter((p) => nsSel.matches(nsLabels.get(p.metadata.namespace ?? '')) && podSel.matches(p.metadata.labels)).length;
  };
  let chains = 6;
  let rules = 12;
  let sets = 0;
  let entries = 0;
  const ingressOf = new Map<string, number>();
  const egressOf = new Map<string, number>();
  for (const pol of cache.store('NetworkPolicy').list()) {
    const sel = compileSelector(pol.spec?.podSelector ?? {});
    const targets = inNs(pol.metadata.namespace ?? '').filter((p) => sel.matches(p.metadata.labels));
    const localTargets = targets.filter((p) => p.spec?.nodeName === localNode);
    if (localTargets.length === 0) continue;
    const types = pol.spec?.policyTypes ?? ['Ingress'];
    chains++;
    for (const type of types) {
      const list: RuleLike[] =
        type === 'Ingress' ? (pol.spec?.ingress ?? []).map((r) => ({ peers: r.from as PeerLike[] | undefined, ports: r.ports })) : (pol.spec?.egress ?? []).map((r) => ({ peers: r.to as PeerLike[] | undefined, ports: r.ports }));
      sets++;
      entries += targets.length;
      const count = type === 'Ingress' ? ingressOf : egressOf;
      for (const p of localTargets) count.set(`${p.metadata.namespace}/${p.metadata.name}`, (count.get(`${p.metadata.namespace}/${p.metadata.name}`) ?? 0) + 1);
      for (const r of list) {
        const peers = r.peers ?? [];
        const podPeers = peers.filter((x) => x.ipBlock === undefined);
        const blocks = peers.filter((x) => x.ipBlock !== undefined);
        const kinds = peers.length === 0 ? 1 : (podPeers.length > 0 ? 1 : 0) + (blocks.length > 0 ? 1 : 0);
        if (podPeers.length > 0) {
          sets++;
          entries += podPeers.reduce((n, x) => n + peerPods(pol, x), 0);
        }
        if (blocks.length > 0) {
          sets++;
          entries += blocks.reduce((n, x) => n + 1 + (x.ipBlock?.except?.length ?? 0), 0);
        }
        const ports = r.ports ?? [];
        for (const port of ports) {
          if (typeof port.port === 'string') {
            sets++;
            entries += type === 'Ingress' ? localTargets.length : podPeers.length > 0 ? podPeers.reduce((n, x) => n + peerPods(pol, x), 0) : pods.length;
          }
        }
        rules += 2 * kinds * Math.max(1, ports.length);
      }
    }
  }
  for (const p of local) {
    const k = `${p.metadata.namespace}/${p.metadata.name}`;
    chains++;
    rules += 6 + Math.max(1, ingressOf.get(k) ?? 0) + Math.max(1, egressOf.get(k) ?? 0) + 6;
  }
  return { chains, rules, sets, entries };
}
