// The service proxy's desired state for one node, computed exactly as a full
// sync of ProxyController computes it (compile context from this Node and
// the flags, every Service recompiled through DesiredProxyState, the owner of
// each virtual service, the fixed ipsets and rules of reconcile-tables.ts),
// but from a cache snapshot and given local addresses: no kernel access.

import type { SharedCache } from '../../informers/cache.js';
import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IptablesDesired } from '../../kernel/iptables/types.js';
import { serviceKey } from '../../kernel/ipvs/types.js';
import { createCompileContext } from '../../controllers/proxy/compile-context.js';
import { DesiredProxyState } from '../../controllers/proxy/compile-state.js';
import { proxyFlagsFromOptions } from '../../controllers/proxy/model.js';
import { nodeInfoFrom, nodePodCidrV4 } from '../../controllers/proxy/node-info.js';
import { managedRanges, type DesiredVirtualService, type ManagedRanges } from '../../controllers/proxy/reconcile-ipvs.js';
import { CHAIN_SERVICES, IPSET_LOCAL_IPS, desiredFilter, desiredIpsets, desiredNat } from '../../controllers/proxy/reconcile-tables.js';
import type { AgentOptions } from '../options/types.js';
import { addressLines, iptablesDesiredLines, ipsetLines, ipvsLines } from './render.js';
import type { Section } from './report.js';

export interface ProxyDesired {
  ipvs: Map<string, DesiredVirtualService>;
  ranges: ManagedRanges;
  /** kube-dummy-if addresses (`a.b.c.d/32`). */
  addresses: string[];
  ipsets: IpsetSet[];
  nat: IptablesDesired;
  filter: { rules: readonly string[]; jump: string };
  /** Problems found while compiling (each names its Service and field). */
  warnings: string[];
}

export function compileProxyDesired(cache: SharedCache, options: AgentOptions, nodeName: string, localIPs: readonly string[]): ProxyDesired {
  const nodes = cache.store('Node');
  const node = nodes.get(nodeName);
  const podCidrs = nodes.list().map(nodePodCidrV4).filter((c) => c !== '');
  const ctx = createCompileContext(nodeInfoFrom(nodeName, node, localIPs), proxyFlagsFromOptions(options, podCidrs));
  const state = new DesiredProxyState();
  const warnings: string[] = [];
  for (const svc of cache.store('Service').list()) {
    const ns = svc.metadata.namespace ?? '';
    const key = `${ns}/${svc.metadata.name}`;
    const ch = state.recompute(key, svc, cache.endpointSlicesFor(ns, svc.metadata.name), ctx);
    for (const w of ch.current?.warnings ?? []) warnings.push(w.message);
  }
  const ipvs = new Map<string, DesiredVirtualService>();
  const services = state.values();
  for (const c of services) {
    for (const vs of c.services) {
      const k = serviceKey(vs.service);
      if (ipvs.has(k) || state.ownerOf(k) !== c.key) continue;
      ipvs.set(k, { service: vs.service, destinations: vs.destinations });
    }
  }
  const tablesInput = {
    services,
    localIPs,
    nodeIP: ctx.node.primaryIPs.IPv4 ?? '',
    // As the controller's sync: this node's podCIDR (local endpoints keep the client's source).
    podCidr: nodePodCidrV4(node),
    masqueradeAll: ctx.flags.masqueradeAll,
    permitAll: options.ipvsPermitAll,
  };
  const f = desiredFilter({ permitAll: options.ipvsPermitAll });
  const n = ctx.node;
  const rangeAddrs = [...localIPs, ...(n.nodeIPs.IPv4 ?? []), ...(n.nodeIPs.IPv6 ?? [])];
  return {
    ipvs,
    ranges: managedRanges([...options.serviceClusterIpRange, ...options.serviceExternalIpRange, ...options.loadbalancerIpRange], rangeAddrs, options.excludedCidrs),
    addresses: [...new Set(services.flatMap((s) => s.addresses))].filter((a) => !a.includes(':')),
    ipsets: desiredIpsets(tablesInput),
    nat: desiredNat(tablesInput),
    filter: { rules: f.chains.get(CHAIN_SERVICES) ?? [], jump: f.jumps[0].rule },
    warnings,
  };
}

/** The filter part as an IptablesDesired (for printing: it is applied by ServicesFilter, not the reconciler). */
export function filterAsDesired(f: ProxyDesired['filter']): IptablesDesired {
  return {
    table: 'filter',
    chains: new Map([[CHAIN_SERVICES, f.rules]]),
    jumps: [{ fromChain: 'INPUT', rule: f.jump, position: 'first', comment: '' }],
  };
}

export function proxyDesiredSections(d: ProxyDesired): Section[] {
  return [
    { name: 'ipvs', desired: ipvsLines([...d.ipvs.values()]) },
    { name: 'addresses', desired: addressLines(d.addresses) },
    { name: 'ipsets', desired: ipsetLines(d.ipsets.filter((x) => x.name !== IPSET_LOCAL_IPS)) },
    // The node's own addresses: `plan` can only assume them (--local-ips).
    { name: 'local-ips', desired: ipsetLines(d.ipsets.filter((x) => x.name === IPSET_LOCAL_IPS)) },
    { name: 'iptables', desired: [...iptablesDesiredLines(d.nat), ...iptablesDesiredLines(filterAsDesired(d.filter))].sort() },
  ];
}
