// The firewall's desired state for one node: FirewallState rebuilt from the
// snapshot (what the controller's full sync compiles) for this node's
// context (flags, its pod CIDRs).

import type { SharedCache } from '../../informers/cache.js';
import { FirewallState } from '../../controllers/firewall/compile-state.js';
import { firewallContext } from '../../controllers/firewall/context.js';
import type { ClusterView, Family, FirewallDesired } from '../../controllers/firewall/model.js';
import type { AgentOptions } from '../options/types.js';
import { iptablesDesiredLines, ipsetLines } from './render.js';
import type { Section } from './report.js';

export function clusterView(cache: SharedCache): ClusterView {
  return { pods: cache.store('Pod'), namespaces: cache.store('Namespace'), policies: cache.store('NetworkPolicy') };
}

export function compileFirewallDesired(cache: SharedCache, options: AgentOptions, nodeName: string): FirewallDesired {
  const state = new FirewallState(firewallContext(options, nodeName, cache.store('Node').get(nodeName)));
  state.rebuild(clusterView(cache));
  return state.desired();
}

export function firewallWarnings(d: FirewallDesired): string[] {
  return [...d.errors.map((e) => `${e.message} (enforced fail-closed)`), ...d.warnings];
}

export function firewallDesiredSections(d: FirewallDesired): Section[] {
  const rules: string[] = [];
  for (const fam of Object.keys(d.iptables) as Family[]) {
    const t = d.iptables[fam];
    if (t) rules.push(...iptablesDesiredLines(t, `${fam} `));
  }
  return [
    { name: 'ipsets', desired: ipsetLines([...d.ipsets, ...d.localPods]) },
    { name: 'iptables', desired: rules.sort() },
  ];
}
