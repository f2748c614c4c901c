// The firewall controller's metric families (kube-router's netpol names,
// prefix kube_router_): sync time, policy chains, policy ipsets, plus rule
// count and policy errors. Created once per registry.

import { Counter, Gauge, Registry, Summary } from 'prom-client';

export interface FirewallMetrics {
  syncTime: Summary<string>;
  chains: Gauge<string>;
  ipsets: Gauge<string>;
  rules: Gauge<string>;
  policyErrors: Gauge<string>;
  lingeringPolicies: Gauge<string>;
  applyErrors: Counter<string>;
  iptablesWrites: Counter<'via'>;
}

const byRegistry = new WeakMap<Registry, FirewallMetrics>();

export function firewallMetrics(registry: Registry): FirewallMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: FirewallMetrics = {
    syncTime: new Summary({ name: 'kube_router_controller_iptables_sync_time', help: 'Time it took for the firewall controller to sync iptables and ipsets, in seconds', registers }),
    chains: new Gauge({ name: 'kube_router_controller_policy_chains', help: 'Active policy chains (all families)', registers }),
    ipsets: new Gauge({ name: 'kube_router_controller_policy_ipsets', help: 'Active policy ipsets (all families)', registers }),
    rules: new Gauge({ name: 'kube_router_controller_policy_rules', help: 'Rules in the firewall chains (all families)', registers }),
    policyErrors: new Gauge({ name: 'kube_router_controller_policy_errors', help: 'NetworkPolicies that could not be compiled (enforced fail-closed)', registers }),
    lingeringPolicies: new Gauge({
      name: 'kube_router_controller_firewall_lingering_policies',
      help: 'Policies whose last local pod left, whose chains and sets stay in the kernel unreferenced until the next pod of theirs (at most 128)',
      registers,
    }),
    applyErrors: new Counter({ name: 'kube_router_controller_firewall_apply_errors_total', help: 'Firewall kernel applies that failed (previous rules kept)', registers }),
    iptablesWrites: new Counter({
      name: 'kube_router_controller_firewall_iptables_writes_total',
      help: 'Firewall iptables transactions by how they were applied: over nf_tables netlink in-process, or by iptables-restore',
      labelNames: ['via'],
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
