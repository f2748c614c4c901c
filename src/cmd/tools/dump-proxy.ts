// `dump` for the service proxy: the desired state (compiled as a full sync
// does, with the local addresses read from the node), the kernel's IPVS
// services in the managed ranges, kube-dummy-if's addresses, the proxy's
// ipsets and rules, and the writes ProxyApplier would make now (dry run),
// in every family the flags enable.

import pino from 'pino';
import { Registry } from 'prom-client';
import type { SharedCache } from '../../informers/cache.js';
import { IpsetReconciler } from '../../kernel/ipset/reconciler.js';
import { IptablesReconciler } from '../../kernel/iptables/reconciler.js';
import { ProcSysctl } from '../../kernel/sysctl.js';
import { isIpv6LinkLocal } from '../../kernel/rtnl/types.js';
import { createProxyMetrics } from '../../controllers/proxy/metrics.js';
import { DUMMY_LINK, readLocalIPs } from '../../controllers/proxy/node-info.js';
import { ProxyApplier } from '../../controllers/proxy/reconcile-apply.js';
import { isManaged } from '../../controllers/proxy/reconcile-ipvs.js';
import { ownsProxyChain, PROXY_SETS } from '../../controllers/proxy/reconcile-tables.js';
import type { IpFamilyName } from '../../controllers/proxy/validate-ip.js';
import { ServicesFilter } from '../../controllers/proxy/filter-services.js';
import type { AgentOptions } from '../options/types.js';
import { ChangeLog, DryRunIpsetDriver, DryRunIptablesDriver, dryRunIpvs, dryRunRtnl } from './dry-run.js';
import { compileProxyDesired, familyPrefix, filterAsDesired, isLocalIpsSet, proxyDesiredSections } from './desired-proxy.js';
import type { ToolKernel } from './kernel.js';
import { addressLines, iptablesActualLines, iptablesDesiredLines, ipsetLines, ipvsLines, sortedLines } from './render.js';
import type { ControllerReport } from './report.js';

/** The saved rules of KUBE-ROUTER-SERVICES and the INPUT jumps to it, comments dropped. */
function savedFilterLines(save: string, prefix: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (const l of save.split('\n')) {
    const strip = (s: string): string => s.replace(/-m comment --comment ("[^"]*"|\S+) ?/g, '').trim();
    if (l.startsWith('-A KUBE-ROUTER-SERVICES ')) out.push(`${prefix}filter KUBE-ROUTER-SERVICES ${++i}: ${strip(l.slice(24))}`);
    else if (l.startsWith('-A INPUT ') && / -j KUBE-ROUTER-SERVICES(\s|$)/.test(l)) out.push(`${prefix}filter INPUT (saved): ${strip(l.slice(9))}`);
  }
  return out;
}

export async function dumpProxy(cache: SharedCache, options: AgentOptions, nodeName: string, k: ToolKernel): Promise<ControllerReport> {
  const localIPs = await readLocalIPs(k.rtnl);
  const d = compileProxyDesired(cache, options, nodeName, localIPs);
  const log = new ChangeLog();
  const v6 = d.families.includes('IPv6');
  const driver = (f: IpFamilyName) => k.iptablesDriver(f === 'IPv6' ? 'ipv6' : 'ipv4');
  const dry4 = new DryRunIptablesDriver(driver('IPv4'), log);
  const dry6 = v6 ? new DryRunIptablesDriver(driver('IPv6'), log) : undefined;
  const ipvs = k.ipvs();
  const applier = new ProxyApplier(
    {
      ipvs: dryRunIpvs(ipvs, log),
      rtnl: dryRunRtnl(k.rtnl, log),
      ipset: new IpsetReconciler(new DryRunIpsetDriver(k.ipsetDriver, log)),
      iptables: new IptablesReconciler(dry4),
      iptablesDriver: dry4,
      ...(dry6 ? { iptables6: new IptablesReconciler(dry6), iptablesDriver6: dry6 } : {}),
      sysctl: new ProcSysctl(), // not used by the applier
    },
    createProxyMetrics(new Registry()),
    pino({ level: 'silent' }),
  );
  const result = await applier.apply({ scope: undefined, ipvs: d.ipvs, ranges: d.ranges, addresses: d.addresses, ipsets: d.ipsets, tables: d.tables, filter: d.filter });

  // Actual state, read the way the reconcilers read it (the kernel's IPv6
  // link-local address on kube-dummy-if is not the proxy's: never removed).
  const all = await ipvs.listAll();
  const managed = all.filter((s) => isManaged(s.service, d.ranges));
  const link = await k.rtnl.getLink(DUMMY_LINK);
  const addrs = link ? (await k.rtnl.listAddresses(link.index)).filter((a) => (v6 || !a.address.includes(':')) && !isIpv6LinkLocal(a.address)).map((a) => `${a.address}/${a.prefixLen}`) : [];
  const sets = [...(await new IpsetReconciler(k.ipsetDriver).list({ names: PROXY_SETS })).values()].filter((s) => v6 || s.family !== 'inet6');
  const tableLines: string[] = [];
  for (const t of d.tables) {
    const read = await new IptablesReconciler(driver(t.family)).read(t.desired.table, ownsProxyChain);
    tableLines.push(...iptablesActualLines(t.desired, read, familyPrefix(t.family)));
  }
  const filterLines: string[] = [];
  for (const f of d.filter) {
    const filterLog = new ChangeLog();
    const inSync = (await new ServicesFilter(new DryRunIptablesDriver(driver(f.family), filterLog)).ensure(f.rules, f.jump)).lines === 0;
    const prefix = familyPrefix(f.family);
    filterLines.push(...(inSync ? iptablesDesiredLines(filterAsDesired(f), prefix) : savedFilterLines(await driver(f.family).save('filter'), prefix)));
  }

  const sections = proxyDesiredSections(d);
  const actual: Record<string, string[]> = {
    ipvs: ipvsLines(managed),
    addresses: addressLines(addrs),
    ipsets: ipsetLines(sets.filter((s) => !isLocalIpsSet(s.name))),
    'local-ips': ipsetLines(sets.filter((s) => isLocalIpsSet(s.name))),
    iptables: sortedLines([...tableLines, ...filterLines]),
  };
  for (const s of sections) s.actual = actual[s.name] ?? [];
  const notes = [`local addresses read from the node: ${localIPs.join(',') || 'none'}`];
  const foreign = all.length - managed.length;
  if (foreign > 0) notes.push(`${foreign} IPVS service(s) outside the managed ranges (not the proxy's, left alone)`);
  const changes = [...log.lines, ...result.errors.map((e) => `error: ${e.message}`)];
  return { controller: 'proxy', sections, changes, inSync: changes.length === 0, notes, warnings: d.warnings };
}
