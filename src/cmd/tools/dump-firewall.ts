// `dump` for the firewall: the desired state (FirewallState rebuilt from the
// snapshot) against our sets, chains and jumps in the kernel, and what
// applyFirewall would write now (dry run).

import type { SharedCache } from '../../informers/cache.js';
import { IpsetReconciler } from '../../kernel/ipset/reconciler.js';
import { IptablesReconciler } from '../../kernel/iptables/reconciler.js';
import type { Iptables } from '../../kernel/iptables/types.js';
import { isOwnedChain, isOwnedSet, type Family } from '../../controllers/firewall/model.js';
import { adoptKubeRouterJump, applyFirewall } from '../../controllers/firewall/reconcile.js';
import type { AgentOptions } from '../options/types.js';
import { ChangeLog, DryRunIpsetDriver, DryRunIptablesDriver } from './dry-run.js';
import { compileFirewallDesired, firewallDesiredSections, firewallWarnings } from './desired-firewall.js';
import type { ToolKernel } from './kernel.js';
import { iptablesActualLines, ipsetLines } from './render.js';
import type { ControllerReport } from './report.js';

export async function dumpFirewall(cache: SharedCache, options: AgentOptions, nodeName: string, k: ToolKernel): Promise<ControllerReport> {
  const d = compileFirewallDesired(cache, options, nodeName);
  const log = new ChangeLog();
  const families = Object.keys(d.iptables) as Family[];
  const dryTables: Partial<Record<Family, Iptables>> = {};
  for (const f of families) dryTables[f] = new IptablesReconciler(new DryRunIptablesDriver(k.iptablesDriver(f), log));
  const r = await applyFirewall({ ipset: new IpsetReconciler(new DryRunIpsetDriver(k.ipsetDriver, log)), iptables: dryTables }, d);
  for (const kept of r.kept) log.add(`kept: ${kept}`);

  const sets = [...(await new IpsetReconciler(k.ipsetDriver).list({ match: isOwnedSet })).values()];
  const rules: string[] = [];
  for (const f of families) {
    const want = d.iptables[f];
    if (!want) continue;
    const st = await new IptablesReconciler(k.iptablesDriver(f)).read('filter', isOwnedChain, adoptKubeRouterJump);
    rules.push(...iptablesActualLines(want, st, `${f} `));
  }
  const sections = firewallDesiredSections(d);
  const actual: Record<string, string[]> = { ipsets: ipsetLines(sets), iptables: rules.sort() };
  for (const s of sections) s.actual = actual[s.name] ?? [];
  return { controller: 'firewall', sections, changes: log.lines, inSync: log.lines.length === 0, notes: [], warnings: firewallWarnings(d) };
}
