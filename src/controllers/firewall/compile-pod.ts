// One local pod selected by some policy -> its KUBE-POD-FW chain (per
// family) and the jumps to it from the top-level chains.
//
// Chain order (kube-router's, see kube-router-reference 6):
//   1. KUBE-NWPLCY-COMMON (INVALID drop, RELATED/ESTABLISHED and ICMP accept)
//   2. from the node itself (kubelet probes) to the pod: ACCEPT
//   3. `-d podIP` to each ingress policy chain, or to KUBE-NWPLCY-DEFAULT
//   4. `-s podIP` to each egress policy chain, or to KUBE-NWPLCY-DEFAULT
//   5. NFLOG (group 100, limited) and REJECT what no chain marked 0x10000;
//      clear 0x10000 (the peer pod's chain starts afresh)
//   6. MARK 0x20000: KUBE-NWPLCY-TAIL accepts it.

import type { Pod } from '../../informers/types.js';
import {
  CHAIN_COMMON,
  CHAIN_DEFAULT,
  CHAIN_FORWARD,
  CHAIN_INPUT,
  CHAIN_OUTPUT,
  comment,
  finishRules,
  MARK_ACCEPT,
  MARK_MATCHED,
  NFLOG_BURST,
  NFLOG_GROUP,
  NFLOG_LIMIT,
  podChainName,
  type Family,
} from './names.js';
import { podIp } from './compile-sets.js';
import type { CompiledPod, CompiledPolicy, FirewallContext } from './model.js';

function podRules(pod: Pod, ip: string, fam: Family, ingress: readonly CompiledPolicy[], egress: readonly CompiledPolicy[]): string[] {
  const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const rules = [
    `${comment('rule for stateful firewall for pod')} -j ${CHAIN_COMMON}`,
    `${comment("rule to permit the traffic to pods when source is the pod's local node")} -m addrtype --src-type LOCAL -d ${ip} -j ACCEPT`,
  ];
  if (ingress.length === 0) rules.push(`-d ${ip} ${comment('run through default ingress network policy chain')} -j ${CHAIN_DEFAULT}`);
  for (const p of ingress) rules.push(`-d ${ip} ${comment(`run through nw policy ${p.key}`)} -j ${p.chainNames[fam]?.ingress}`);
  if (egress.length === 0) rules.push(`-s ${ip} ${comment('run through default egress network policy chain')} -j ${CHAIN_DEFAULT}`);
  for (const p of egress) rules.push(`-s ${ip} ${comment(`run through nw policy ${p.key}`)} -j ${p.chainNames[fam]?.egress}`);
  rules.push(
    `${comment(`rule to log dropped traffic POD name:${who}`)} -m mark ! --mark ${MARK_MATCHED} -m limit --limit ${NFLOG_LIMIT} --limit-burst ${NFLOG_BURST} -j NFLOG --nflog-group ${NFLOG_GROUP}`,
    `${comment(`rule to REJECT traffic destined for POD name:${who}`)} -m mark ! --mark ${MARK_MATCHED} -j REJECT`,
    `-j MARK --set-mark 0/0x10000`,
    `${comment('set mark to ACCEPT traffic that comply to network policies')} -j MARK --set-mark ${MARK_ACCEPT}`,
  );
  return rules;
}

/** Policies (of the pod's namespace) that select the pod, split by type and sorted by key. */
export function selectingPolicies(pod: Pod, policies: Iterable<CompiledPolicy>): { ingress: CompiledPolicy[]; egress: CompiledPolicy[] } {
  const ingress: CompiledPolicy[] = [];
  const egress: CompiledPolicy[] = [];
  for (const p of policies) {
    if (p.namespace !== pod.metadata.namespace || !p.targets.pods.matches(pod.metadata.labels)) continue;
    if (p.ingress) ingress.push(p);
    if (p.egress) egress.push(p);
  }
  const byKey = (a: CompiledPolicy, b: CompiledPolicy): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return { ingress: ingress.sort(byKey), egress: egress.sort(byKey) };
}

/**
 * The chain of one local, actionable pod; null when no policy selects it
 * (such a pod is unrestricted and gets no chain: its traffic is not ours
 * to accept or reject).
 */
export function compilePod(pod: Pod, policies: Iterable<CompiledPolicy>, ctx: FirewallContext): CompiledPod | null {
  const sel = selectingPolicies(pod, policies);
  if (sel.ingress.length === 0 && sel.egress.length === 0) return null;
  const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const families: CompiledPod['families'] = {};
  for (const fam of ctx.families) {
    const ip = podIp(pod, fam);
    if (!ip) continue;
    const chain = podChainName(pod.metadata.namespace ?? '', pod.metadata.name, fam);
    families[fam] = { ip, chain, rules: finishRules(podRules(pod, ip, fam, sel.ingress, sel.egress), ctx.ruleComments) };
  }
  return { key, families, ingressPolicies: sel.ingress.map((p) => p.key), egressPolicies: sel.egress.map((p) => p.key) };
}

/** Rules the top-level chains get for one pod chain (ingress: `-d`, egress: `-s`). */
export function podJumps(pod: CompiledPod, fam: Family, keepComments?: boolean): { chain: string; rule: string }[] {
  const f = pod.families[fam];
  if (!f) return [];
  const [to, from] = finishRules(
    [
      `${comment(`rule to jump traffic destined to POD name:${pod.key} to chain ${f.chain}`)} -d ${f.ip} -j ${f.chain}`,
      `${comment(`rule to jump traffic from POD name:${pod.key} to chain ${f.chain}`)} -s ${f.ip} -j ${f.chain}`,
    ],
    keepComments,
  );
  return [
    { chain: CHAIN_FORWARD, rule: to },
    { chain: CHAIN_OUTPUT, rule: to },
    { chain: CHAIN_INPUT, rule: from },
    { chain: CHAIN_FORWARD, rule: from },
    { chain: CHAIN_OUTPUT, rule: from },
  ];
}
