// The fixed part of the layout, per family: KUBE-NWPLCY-COMMON, -DEFAULT,
// -TAIL, the head of KUBE-ROUTER-INPUT (RETURN for service traffic) and the
// jumps from INPUT/FORWARD/OUTPUT at position 1.

import { canonicalNet } from '../../kernel/ipset/addr.js';
import type { JumpRule } from '../../kernel/iptables/types.js';
import { CHAIN_COMMON, CHAIN_DEFAULT, CHAIN_TAIL, comment, familySetName, LOCAL_PODS_SET, MARK_ACCEPT, MARK_MATCHED, TOP_LEVEL, type Family } from './names.js';
import type { FirewallContext } from './model.js';

const ICMP: Record<Family, { proto: string; opt: string; types: string[] }> = {
  ipv4: { proto: 'icmp', opt: '--icmp-type', types: ['echo-request', 'destination-unreachable', 'time-exceeded'] },
  ipv6: {
    proto: 'ipv6-icmp',
    opt: '--icmpv6-type',
    types: ['echo-request', 'destination-unreachable', 'packet-too-big', 'time-exceeded', 'neighbour-solicitation', 'neighbour-advertisement', 'echo-reply'],
  },
};

export function commonChain(fam: Family): string[] {
  const icmp = ICMP[fam];
  return [
    `${comment('rule to drop invalid state for pod')} -m conntrack --ctstate INVALID -j DROP`,
    `${comment('rule for stateful firewall for pod')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ...icmp.types.map((t) => `${comment(`allow icmp ${t} messages`)} -p ${icmp.proto} -m ${icmp.proto === 'icmp' ? 'icmp' : 'icmp6'} ${icmp.opt} ${t} -j ACCEPT`),
  ];
}

export function defaultChain(): string[] {
  return [`${comment('rule to mark traffic matching a network policy')} -j MARK --set-xmark ${MARK_MATCHED}`];
}

export function familyOf(cidr: string): Family | undefined {
  const n = canonicalNet(cidr.trim());
  return n ? (n.v6 ? 'ipv6' : 'ipv4') : undefined;
}

function canonCidr(cidr: string): string {
  const n = canonicalNet(cidr.trim());
  if (!n) return cidr;
  return n.net.includes('/') ? n.net : `${n.net}/${n.v6 ? 128 : 32}`;
}

/** This family's pod CIDRs when --netpol-default-deny is in effect. */
export function defaultDenyCidrs(ctx: FirewallContext, fam: Family): string[] {
  if (!ctx.defaultDeny) return [];
  return ctx.podCidrs.filter((c) => familyOf(c) === fam).map(canonCidr);
}

/**
 * KUBE-NWPLCY-TAIL. With --netpol-default-deny, traffic from or to this
 * node's pod CIDR whose pod is not in `kube-router-local-pods` (its firewall
 * state not programmed yet) is rejected before the ACCEPT. kube-router also
 * appends CIDR-wide REJECTs after the ACCEPT; they would reject pods no
 * policy selects, which have no chain here (unselected pods are left alone),
 * so they are not written.
 */
export function tailChain(ctx: FirewallContext, fam: Family): string[] {
  const rules: string[] = [];
  const set = familySetName(LOCAL_PODS_SET, fam);
  for (const cidr of defaultDenyCidrs(ctx, fam)) {
    const c = comment('reject unprogrammed local pod (default-deny)');
    rules.push(`-s ${cidr} ${c} -m set ! --match-set ${set} src -j REJECT`, `-d ${cidr} ${c} -m set ! --match-set ${set} dst -j REJECT`);
  }
  rules.push(`${comment('accept netpol-ok')} -m mark --mark ${MARK_ACCEPT} -j ACCEPT`);
  return rules;
}

/** `30000-32767` or `30000:32767` -> `30000:32767`. */
export function multiportRange(range: string): string {
  return range.trim().replace('-', ':');
}

/** RETURN rules at the head of KUBE-ROUTER-INPUT: service CIDRs, LOCAL node ports, external and LB ranges. */
export function inputHead(ctx: FirewallContext, fam: Family): string[] {
  const rules: string[] = [];
  for (const r of ctx.serviceClusterIpRanges) {
    if (familyOf(r) === fam) rules.push(`${comment('allow traffic to primary/secondary cluster IP range')} -d ${canonCidr(r)} -j RETURN`);
  }
  if (ctx.nodePortRange) {
    const ports = multiportRange(ctx.nodePortRange);
    for (const p of ['tcp', 'udp', 'sctp']) {
      rules.push(`-p ${p} ${comment(`allow LOCAL ${p.toUpperCase()} traffic to node ports`)} -m addrtype --dst-type LOCAL -m multiport --dports ${ports} -j RETURN`);
    }
  }
  for (const r of ctx.serviceExternalIpRanges) {
    if (familyOf(r) === fam) rules.push(`${comment(`allow traffic to external IP range: ${canonCidr(r)}`)} -d ${canonCidr(r)} -j RETURN`);
  }
  for (const r of ctx.loadbalancerIpRanges) {
    if (familyOf(r) === fam) rules.push(`${comment(`allow traffic to load balancer IP range: ${canonCidr(r)}`)} -d ${canonCidr(r)} -j RETURN`);
  }
  return rules;
}

export const TAIL_JUMP = `${comment('rule to explicitly handle traffic for network policies ACCEPT/REJECT decision')} -j ${CHAIN_TAIL}`;

/** INPUT/FORWARD/OUTPUT -> KUBE-ROUTER-* at position 1. */
export function builtinJumps(): JumpRule[] {
  return TOP_LEVEL.map((t) => ({ fromChain: t.builtin, rule: `-j ${t.chain}`, position: 'first' as const, comment: 'kube-router netpol' }));
}

export const STATIC_CHAINS = { common: CHAIN_COMMON, default: CHAIN_DEFAULT, tail: CHAIN_TAIL } as const;
