// The service proxy's desired state for one node, computed exactly as a full
// sync of ProxyController computes it (compile context from this Node and
// the flags, every Service recompiled through DesiredProxyState, the owner of
// each virtual service, the fixed ipsets and rules of reconcile-tables.ts),
// but from a cache snapshot and given local addresses: no kernel access.
// Every family the flags enable (--enable-ipv4/--enable-ipv6): IPv6 lines
// carry an `ipv6 ` prefix.

import type { SharedCache } from '../../informers/cache.js';
import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IptablesDesired } from '../../kernel/iptables/types.js';
import { serviceKey } from '../../kernel/ipvs/types.js';
import { createCompileContext } from '../../controllers/proxy/compile-context.js';
import { DesiredProxyState } from '../../controllers/proxy/compile-state.js';
import { proxyFlagsFromOptions } from '../../controllers/proxy/model.js';
import { nodeInfoFrom, nodePodCidrV4, nodePodCidrV6 } from '../../controllers/proxy/node-info.js';
import { managedRanges, type DesiredVirtualService, type ManagedRanges } from '../../controllers/proxy/reconcile-ipvs.js';
import { CHAIN_SERVICES, IPSET_LOCAL_IPS, desiredFilter, desiredIpsets, desiredMangle, desiredNat, familySet } from '../../controllers/proxy/reconcile-tables.js';
import type { IpFamilyName } from '../../controllers/proxy/validate-ip.js';
import type { AgentOptions } from '../options/types.js';
import { addressLines, iptablesDesiredLines, ipsetLines, ipvsLines } from './render.js';
import type { Section } from './report.js';

export interface ProxyDesired {
  ipvs: Map<string, DesiredVirtualService>;
  ranges: ManagedRanges;
  /** The families compiled (the flags' --enable-ipv4/--enable-ipv6). */
  families: readonly IpFamilyName[];
  /** kube-dummy-if addresses (`a.b.c.d/32`, `fd00::a/128`) of those families. */
  addresses: string[];
  ipsets: IpsetSet[];
  /** nat and mangle (DSR) of each family, as the controller's full sync hands them to the reconciler. */
  tables: { family: IpFamilyName; desired: IptablesDesired }[];
  filter: { family: IpFamilyName; rules: readonly string[]; jump: string }[];
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
  const families = ctx.flags.ipFamilies;
  const tablesInputs = families.map((family) => ({
    family,
    services,
    localIPs,
    nodeIP: ctx.node.primaryIPs[family] ?? '',
    // As the controller's sync: this node's podCIDR (local endpoints keep the client's source).
    podCidr: family === 'IPv6' ? nodePodCidrV6(node) : nodePodCidrV4(node),
    masqueradeAll: ctx.flags.masqueradeAll,
    permitAll: options.ipvsPermitAll,
    // The controller reads the primary link's MTU; plan assumes 1500 (the MSS clamp of DSR services).
    mtu: 1500,
  }));
  const n = ctx.node;
  const rangeAddrs = [...localIPs, ...(n.nodeIPs.IPv4 ?? []), ...(n.nodeIPs.IPv6 ?? [])];
  const v6 = families.includes('IPv6');
  return {
    ipvs,
    ranges: managedRanges([...options.serviceClusterIpRange, ...options.serviceExternalIpRange, ...options.loadbalancerIpRange], rangeAddrs, options.excludedCidrs),
    families,
    addresses: [...new Set(services.flatMap((s) => s.addresses))].filter((a) => v6 || !a.includes(':')),
    ipsets: tablesInputs.flatMap((t) => desiredIpsets(t)),
    tables: tablesInputs.flatMap((t) => [
      { family: t.family, desired: desiredNat(t) },
      { family: t.family, desired: desiredMangle(t) },
    ]),
    filter: tablesInputs.map((t) => {
      const f = desiredFilter({ permitAll: options.ipvsPermitAll, family: t.family });
      return { family: t.family, rules: f.chains.get(CHAIN_SERVICES) ?? [], jump: f.jumps[0].rule };
    }),
    warnings,
  };
}

/** The line prefix of a family in the tools' output ('' for IPv4, as before IPv6 existed). */
export function familyPrefix(family: IpFamilyName): string {
  return family === 'IPv6' ? 'ipv6 ' : '';
}

/** The local-ips sets of the families (the node's own addresses, which `plan` can only assume). */
export function isLocalIpsSet(name: string): boolean {
  return name === IPSET_LOCAL_IPS || name === familySet(IPSET_LOCAL_IPS, 'IPv6');
}

/** The filter part as an IptablesDesired (for printing: it is applied by ServicesFilter, not the reconciler). */
export function filterAsDesired(f: Pick<ProxyDesired['filter'][number], 'rules' | 'jump'>): IptablesDesired {
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
    { name: 'ipsets', desired: ipsetLines(d.ipsets.filter((x) => !isLocalIpsSet(x.name))) },
    // The node's own addresses: `plan` can only assume them (--local-ips).
    { name: 'local-ips', desired: ipsetLines(d.ipsets.filter((x) => isLocalIpsSet(x.name))) },
    {
      name: 'iptables',
      desired: [
        ...d.tables.flatMap((t) => iptablesDesiredLines(t.desired, familyPrefix(t.family))),
        ...d.filter.flatMap((f) => iptablesDesiredLines(filterAsDesired(f), familyPrefix(f.family))),
      ].sort(),
    },
  ];
}
