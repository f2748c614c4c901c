// `dump` for the service proxy: the desired state (compiled as a full sync
// does, with the local addresses read from the node), the kernel's IPVS
// services in the managed ranges, kube-dummy-if's addresses, the proxy's
// ipsets and rules, and the writes ProxyApplier would make now (dry run).

import pino from 'pino';
import { Registry } from 'prom-client';
import type { SharedCache } from '../../informers/cache.js';
import { IpsetReconciler } from '../../kernel/ipset/reconciler.js';
import { IptablesReconciler } from '../../kernel/iptables/reconciler.js';
import { ProcSysctl } from '../../kernel/sysctl.js';
import { createProxyMetrics } from '../../controllers/proxy/metrics.js';
import { DUMMY_LINK, readLocalIPs } from '../../controllers/proxy/node-info.js';
import { ProxyApplier } from '../../controllers/proxy/reconcile-apply.js';
import { isManaged } from '../../controllers/proxy/reconcile-ipvs.js';
import { IPSET_LOCAL_IPS, ownsProxyChain, PROXY_SETS } from '../../controllers/proxy/reconcile-tables.js';
import { ServicesFilter } from '../../controllers/proxy/filter-services.js';
import type { AgentOptions } from '../options/types.js';
import { ChangeLog, DryRunIpsetDriver, DryRunIptablesDriver, dryRunIpvs, dryRunRtnl } from './dry-run.js';
import { compileProxyDesired, filterAsDesired, proxyDesiredSections } from './desired-proxy.js';
import type { ToolKernel } from './kernel.js';
import { addressLines, iptablesActualLines, iptablesDesiredLines, ipsetLines, ipvsLines, sortedLines } from './render.js';
import type { ControllerReport } from './report.js';

/** The saved rules of KUBE-ROUTER-SERVICES and the INPUT jumps to it, comments dropped. */
function savedFilterLines(save: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (const l of save.split('\n')) {
    const strip = (s: string): string => s.replace(/-m comment --comment ("[^"]*"|\S+) ?/g, '').trim();
    if (l.startsWith('-A KUBE-ROUTER-SERVICES ')) out.push(`filter KUBE-ROUTER-SERVICES ${++i}: ${strip(l.slice(24))}`);
    else if (l.startsWith('-A INPUT ') && / -j KUBE-ROUTER-SERVICES(\s|$)/.test(l)) out.push(`filter INPUT (saved): ${strip(l.slice(9))}`);
  }
  return out;
}

export async function dumpProxy(cache: SharedCache, options: AgentOptions, nodeName: string, k: ToolKernel): Promise<ControllerReport> {
  const localIPs = await readLocalIPs(k.rtnl);
  const d = compileProxyDesired(cache, options, nodeName, localIPs);
  const log = new ChangeLog();
  const ipv4 = k.iptablesDriver('ipv4');
  const dryDriver = new DryRunIptablesDriver(ipv4, log);
  const ipvs = k.ipvs();
  const applier = new ProxyApplier(
    {
      ipvs: dryRunIpvs(ipvs, log),
      rtnl: dryRunRtnl(k.rtnl, log),
      ipset: new IpsetReconciler(new DryRunIpsetDriver(k.ipsetDriver, log)),
      iptables: new IptablesReconciler(dryDriver),
      iptablesDriver: dryDriver,
      sysctl: new ProcSysctl(), // not used by the applier
    },
    createProxyMetrics(new Registry()),
    pino({ level: 'silent' }),
  );
  const result = await applier.apply({ scope: undefined, ipvs: d.ipvs, ranges: d.ranges, addresses: d.addresses, ipsets: d.ipsets, tables: [{ family: 'IPv4', desired: d.nat }], filter: [{ family: 'IPv4', ...d.filter }] });

  // Actual state, read the way the reconcilers read it.
  const all = await ipvs.listAll();
  const managed = all.filter((s) => isManaged(s.service, d.ranges));
  const link = await k.rtnl.getLink(DUMMY_LINK);
  const addrs = link ? (await k.rtnl.listAddresses(link.index)).filter((a) => !a.address.includes(':')).map((a) => `${a.address}/${a.prefixLen}`) : [];
  const sets = [...(await new IpsetReconciler(k.ipsetDriver).list({ names: PROXY_SETS })).values()];
  const nat = await new IptablesReconciler(ipv4).read('nat', ownsProxyChain);
  const filterLog = new ChangeLog();
  const filterInSync = (await new ServicesFilter(new DryRunIptablesDriver(ipv4, filterLog)).ensure(d.filter.rules, d.filter.jump)).lines === 0;
  const filterActual = filterInSync ? iptablesDesiredLines(filterAsDesired(d.filter)) : savedFilterLines(await ipv4.save('filter'));

  const sections = proxyDesiredSections(d);
  const actual: Record<string, string[]> = {
    ipvs: ipvsLines(managed),
    addresses: addressLines(addrs),
    ipsets: ipsetLines(sets.filter((s) => s.name !== IPSET_LOCAL_IPS)),
    'local-ips': ipsetLines(sets.filter((s) => s.name === IPSET_LOCAL_IPS)),
    iptables: sortedLines([...iptablesActualLines(d.nat, nat), ...filterActual]),
  };
  for (const s of sections) s.actual = actual[s.name] ?? [];
  const notes = [`local addresses read from the node: ${localIPs.join(',') || 'none'}`];
  const foreign = all.length - managed.length;
  if (foreign > 0) notes.push(`${foreign} IPVS service(s) outside the managed ranges (not the proxy's, left alone)`);
  const changes = [...log.lines, ...result.errors.map((e) => `error: ${e.message}`)];
  return { controller: 'proxy', sections, changes, inSync: changes.length === 0, notes, warnings: d.warnings };
}
