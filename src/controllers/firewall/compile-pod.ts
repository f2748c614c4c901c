// One local pod selected by some policy -> its KUBE-POD-FW chain (per
// family) and the jumps to it from the top-level chains.
//
// Chain order (kube-router's, see kube-router-reference 6):
//   1. KUBE-NWPLCY-COMMON (INVALID drop, RELATED/ESTABLISHED and ICMP accept)
//   2. from the node itself (kubelet probes) to the pod: ACCEPT
//   3. `-d podIP` to each ingress policy chain, or to KUBE-NWPLCY-DEFAULT
//   4. `-s podIP` to each egress policy chain, or to KUBE-NWPLCY-DEFAULT
//      (policies sharing a podSelector: one jump to their shared
//      KUBE-NWPLCY-SEL-* chain, which jumps to each of them; names.ts,
//      selectorChains)
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
  MARK_ACCEPT,
  MARK_MATCHED,
  NFLOG_BURST,
  NFLOG_GROUP,
  NFLOG_LIMIT,
  podChainName,
  SELECTOR_CHAIN_MIN_POLICIES,
  selectorChainName,
  type Direction,
  type Family,
} from './names.js';
import { podIp } from './compile-sets.js';
import type { CompiledPod, CompiledPolicy, FirewallContext, SharedChain, TopLevelJump } from './model.js';

/**
 * `-m comment --comment "<text>" ` when human comments are kept
 * (--netpol-rule-comments), else nothing: built only when wanted, rather
 * than built and stripped again (finishRules), for every rule of every pod.
 */
const cm = (keep: boolean, text: string): string => (keep ? `${comment(text)} ` : '');

const policyJump = (p: CompiledPolicy, fam: Family, dir: Direction, keep: boolean): string => `${cm(keep, `run through nw policy ${p.key}`)}-j ${p.chainNames[fam]?.[dir]}`;

/** Policies (sorted by key) grouped by the pods they select (their podSelector in their namespace), in order. */
function bySelector(policies: readonly CompiledPolicy[]): Map<string, CompiledPolicy[]> {
  const out = new Map<string, CompiledPolicy[]>();
  for (const p of policies) {
    const l = out.get(p.targets.key);
    if (l) l.push(p);
    else out.set(p.targets.key, [p]);
  }
  return out;
}

/**
 * The pod chain's jumps for one direction (`guard`: `-d podIP` or `-s
 * podIP`): the default chain when no policy of that type selects the pod;
 * else, in policy key order, one jump per policy, except that policies
 * sharing a podSelector (at least SELECTOR_CHAIN_MIN_POLICIES of them) are
 * reached through their shared chain (selectorChains).
 */
function directionJumps(guard: string, dir: Direction, fam: Family, policies: readonly CompiledPolicy[], keep: boolean): string[] {
  if (policies.length === 0) return [`${guard} ${cm(keep, `run through default ${dir} network policy chain`)}-j ${CHAIN_DEFAULT}`];
  const out: string[] = [];
  for (const [selector, ps] of bySelector(policies)) {
    if (ps.length < SELECTOR_CHAIN_MIN_POLICIES) {
      for (const p of ps) out.push(`${guard} ${policyJump(p, fam, dir, keep)}`);
      continue;
    }
    out.push(`${guard} ${cm(keep, `run through the ${ps.length} nw policies of selector ${selector}`)}-j ${selectorChainName(selector, fam, dir)}`);
  }
  return out;
}

/**
 * The shared chains (KUBE-NWPLCY-SEL-*) of `policies` (the active ones,
 * sorted by key): one per podSelector, family and direction that at least
 * SELECTOR_CHAIN_MIN_POLICIES of them share, jumping to each. Policies with
 * the same podSelector select the same pods, so every pod chain that jumps
 * to such a chain finds it as it would have built it; built from the
 * policies rather than from the pods, the chain is there before the first
 * pod's chain (a starting pod, a lingering policy) and stays after the last.
 */
export function selectorChains(policies: readonly CompiledPolicy[], fam: Family, keep: boolean): SharedChain[] {
  const out: SharedChain[] = [];
  for (const dir of ['ingress', 'egress'] as const) {
    for (const [selector, ps] of bySelector(policies.filter((p) => p[dir]))) {
      if (ps.length >= SELECTOR_CHAIN_MIN_POLICIES) out.push({ chain: selectorChainName(selector, fam, dir), rules: ps.map((p) => policyJump(p, fam, dir, keep)) });
    }
  }
  return out;
}

function podRules(pod: Pod, ip: string, fam: Family, ingress: readonly CompiledPolicy[], egress: readonly CompiledPolicy[], keep: boolean): string[] {
  const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const rules = [
    `${cm(keep, 'rule for stateful firewall for pod')}-j ${CHAIN_COMMON}`,
    `${cm(keep, "rule to permit the traffic to pods when source is the pod's local node")}-m addrtype --src-type LOCAL -d ${ip} -j ACCEPT`,
    ...directionJumps(`-d ${ip}`, 'ingress', fam, ingress, keep),
    ...directionJumps(`-s ${ip}`, 'egress', fam, egress, keep),
  ];
  rules.push(
    `${cm(keep, `rule to log dropped traffic POD name:${who}`)}-m mark ! --mark ${MARK_MATCHED} -m limit --limit ${NFLOG_LIMIT} --limit-burst ${NFLOG_BURST} -j NFLOG --nflog-group ${NFLOG_GROUP}`,
    `${cm(keep, `rule to REJECT traffic destined for POD name:${who}`)}-m mark ! --mark ${MARK_MATCHED} -j REJECT`,
    `-j MARK --set-mark 0/0x10000`,
    `${cm(keep, 'set mark to ACCEPT traffic that comply to network policies')}-j MARK --set-mark ${MARK_ACCEPT}`,
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
    const keep = !!ctx.ruleComments;
    const rules = podRules(pod, ip, fam, sel.ingress, sel.egress, keep);
    families[fam] = { ip, chain, rules, jumps: podJumps(key, ip, chain, keep) };
  }
  return { key, families, ingressPolicies: sel.ingress.map((p) => p.key), egressPolicies: sel.egress.map((p) => p.key) };
}

/** Rules the top-level chains get for one pod chain (ingress: `-d`, egress: `-s`). */
function podJumps(key: string, ip: string, chain: string, keep: boolean): TopLevelJump[] {
  const to = `${cm(keep, `rule to jump traffic destined to POD name:${key} to chain ${chain}`)}-d ${ip} -j ${chain}`;
  const from = `${cm(keep, `rule to jump traffic from POD name:${key} to chain ${chain}`)}-s ${ip} -j ${chain}`;
  return [
    { chain: CHAIN_FORWARD, rule: to },
    { chain: CHAIN_OUTPUT, rule: to },
    { chain: CHAIN_INPUT, rule: from },
    { chain: CHAIN_FORWARD, rule: from },
    { chain: CHAIN_OUTPUT, rule: from },
  ];
}
