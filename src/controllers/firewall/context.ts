// The FirewallContext (what the compiler reads besides cluster objects) from
// the agent options and this node's Node object: families, service/external/
// LB ranges, node port range, --netpol-default-deny and the node's pod CIDRs.
// Pure: the controller rebuilds its state when the result changes.

import type { AgentOptions } from '../../cmd/options/types.js';
import type { Node } from '../../informers/types.js';
import type { Family, FirewallContext } from './model.js';

export type FirewallOptions = Pick<
  AgentOptions,
  'enableIpv4' | 'enableIpv6' | 'serviceClusterIpRange' | 'serviceExternalIpRange' | 'loadbalancerIpRange' | 'serviceNodePortRange' | 'netpolDefaultDeny'
>;

/** spec.podCIDRs, or spec.podCIDR when the list is absent. */
export function nodePodCidrs(node: Node | undefined): string[] {
  if (!node) return [];
  const list = node.spec?.podCIDRs?.filter((c) => c.trim() !== '') ?? [];
  if (list.length > 0) return [...list];
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

export function firewallContext(options: FirewallOptions, nodeName: string, node: Node | undefined): FirewallContext {
  const families: Family[] = [];
  if (options.enableIpv4) families.push('ipv4');
  if (options.enableIpv6) families.push('ipv6');
  return {
    nodeName,
    families,
    serviceClusterIpRanges: [...options.serviceClusterIpRange],
    serviceExternalIpRanges: [...options.serviceExternalIpRange],
    loadbalancerIpRanges: [...options.loadbalancerIpRange],
    nodePortRange: options.serviceNodePortRange,
    defaultDeny: options.netpolDefaultDeny,
    podCidrs: nodePodCidrs(node),
  };
}

/** Canonical text of a context: equal texts compile identically. */
export function contextKey(ctx: FirewallContext): string {
  return JSON.stringify([
    ctx.nodeName,
    ctx.families,
    ctx.serviceClusterIpRanges,
    ctx.serviceExternalIpRanges,
    ctx.loadbalancerIpRanges,
    ctx.nodePortRange,
    ctx.defaultDeny,
    ctx.podCidrs,
    ctx.ruleComments ?? false,
  ]);
}
