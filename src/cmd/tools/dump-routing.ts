// `dump` for the routing controller: the desired BGP state against what
// gobgpd holds (diffBgp), the kernel routes, tunnels and rules planned from
// the best paths gobgpd learned against those the kernel has (applyRoutePlan
// in dry run), and the pod egress sets and rules (their apply in dry run).

import { readBgpState, diffBgp, type BgpOp, type BgpState } from '../../bgp/state.js';
import { errorMessage } from '../../errors.js';
import type { SharedCache } from '../../informers/cache.js';
import { IpsetReconciler } from '../../kernel/ipset/reconciler.js';
import { AF_INET, AF_INET6 } from '../../kernel/rtnl/inet.js';
import type { RouteEntry } from '../../kernel/rtnl/types.js';
import { BestPaths } from '../../controllers/routing/best-paths.js';
import { applyRoutePlan } from '../../controllers/routing/kernel-routes.js';
import { readNodeAddresses } from '../../controllers/routing/node-setup.js';
import { createPodEgress, NODE_IPS_SET, POD_SUBNETS_SET } from '../../controllers/routing/pod-egress.js';
import { MAIN_TABLE, PBR_RULE_PRIORITY, PBR_TABLE, ROUTE_PROTOCOL, type LearnedPath } from '../../controllers/routing/routes-plan.js';
import { isTunnelName } from '../../controllers/routing/tunnel-name.js';
import type { AgentOptions } from '../options/types.js';
import { ChangeLog, DryRunIpsetDriver, dryRunExec, dryRunRtnl } from './dry-run.js';
import { bgpLines, compileRoutingState, derivedLearnedPaths, egressRuleLine, routingDesiredSections, routingFamilies } from './desired-routing.js';
import type { ToolKernel } from './kernel.js';
import { actualRouteLines, ipsetLines, linkLines, ruleLines, sortedLines } from './render.js';
import type { ControllerReport } from './report.js';

function opText(op: BgpOp): string {
  switch (op.op) {
    case 'add-path':
    case 'delete-path':
      return `bgp ${op.op} ${op.path.prefix} next-hop ${op.path.nextHop}`;
    case 'add-peer':
    case 'update-peer':
      return `bgp ${op.op} ${op.peer.neighborAddress} as ${op.peer.peerAsn}`;
    case 'delete-peer':
      return `bgp ${op.op} ${op.address}`;
    case 'start-bgp':
      return `bgp start as ${op.global.asn} router-id ${op.global.routerId}`;
    case 'add-defined-set':
    case 'delete-defined-set':
      return `bgp ${op.op} ${op.set.name}`;
    case 'add-policy':
      return `bgp add-policy ${op.policy.name}`;
    case 'delete-policy':
      return `bgp delete-policy ${op.name}`;
    case 'set-policy-assignment':
      return `bgp set-policy-assignment ${op.assignment.direction}`;
    case 'stop-bgp':
      return 'bgp stop';
  }
}

export async function dumpRouting(cache: SharedCache, options: AgentOptions, nodeName: string, k: ToolKernel): Promise<ControllerReport> {
  const notes: string[] = [];
  const families = routingFamilies(options);
  const client = k.gobgp?.();
  let learnedFromBgp: LearnedPath[] | undefined;
  let bgpActual: BgpState | undefined;
  if (client) {
    try {
      const best = new BestPaths({ client, families, onChange: () => undefined });
      await best.resync();
      learnedFromBgp = best.paths();
      bgpActual = await readBgpState(client, families);
    } catch (err) {
      notes.push(`gobgpd not reachable (${errorMessage(err)}): routes planned from the paths the other nodes advertise`);
    }
  } else notes.push('gobgpd not asked: routes planned from the paths the other nodes advertise');

  let subnets: string[] = [];
  const s = compileRoutingState(
    cache,
    options,
    nodeName,
    (c) => learnedFromBgp ?? derivedLearnedPaths(cache, options, c),
    () => subnets,
  );
  // The connected subnets need this node's IP (known once compiled): read them, then plan again.
  subnets = (await readNodeAddresses(k.rtnl, s.compiled.self?.primaryIp)).connectedSubnets;
  const state = compileRoutingState(cache, options, nodeName, (c) => learnedFromBgp ?? derivedLearnedPaths(cache, options, c), () => subnets);

  const log = new ChangeLog();
  const ready = state.compiled.self?.primaryIp !== undefined;
  if (ready) {
    const r = await applyRoutePlan(dryRunRtnl(k.rtnl, log), state.routes, false, true);
    for (const e of r.errors) log.add(`error: ${e.message}`);
    const egress = createPodEgress({ ipset: new IpsetReconciler(new DryRunIpsetDriver(k.ipsetDriver, log)), exec: dryRunExec(k.exec, log), enableEgress: options.enablePodEgress });
    await egress.apply(state.compiled.nodes, families);
  } else notes.push(`node ${nodeName} has no Node object or no IP: the controller sets nothing up yet`);
  if (bgpActual && state.compiled.bgp) for (const op of diffBgp(state.compiled.bgp, bgpActual)) log.add(opText(op));

  // Actual state.
  const links = await k.rtnl.listLinks();
  const routes: RouteEntry[] = [];
  const fams = [AF_INET, AF_INET6] as const;
  for (const family of fams) for (const table of [MAIN_TABLE, PBR_TABLE]) routes.push(...(await k.rtnl.listRoutes({ family, table, protocol: ROUTE_PROTOCOL })));
  const rules = [];
  for (const family of fams) rules.push(...(await k.rtnl.listRules(family)).filter((r) => r.priority === PBR_RULE_PRIORITY && r.table === PBR_TABLE));
  const setNames = [POD_SUBNETS_SET, NODE_IPS_SET, `inet6:${POD_SUBNETS_SET}`, `inet6:${NODE_IPS_SET}`];
  const sets = [...(await new IpsetReconciler(k.ipsetDriver).list({ names: setNames })).values()];
  const present: string[] = [];
  for (const r of state.egressRules) {
    const bin = r.family === 'ipv4' ? 'iptables' : 'ip6tables';
    if ((await k.exec([bin, '-w', '-t', r.table, '-C', r.chain, ...r.args])).code === 0) present.push(egressRuleLine(r));
  }
  const actual: Record<string, string[]> = {
    bgp: bgpActual ? bgpLines(bgpActual) : [],
    routes: actualRouteLines(routes, links),
    tunnels: linkLines(links.filter((l) => isTunnelName(l.name) && (l.kind === 'ipip' || l.kind === 'ip6tnl'))),
    rules: ruleLines(rules),
    ipsets: ipsetLines(sets),
    iptables: sortedLines(present),
  };
  const sections = routingDesiredSections(state);
  for (const sec of sections) sec.actual = actual[sec.name] ?? [];
  if (!bgpActual) {
    const b = sections.find((x) => x.name === 'bgp');
    if (b) delete b.actual;
  }
  notes.push(`connected subnets read from the node: ${subnets.join(',') || 'none'}`);
  return { controller: 'routing', sections, changes: log.lines, inSync: log.lines.length === 0, notes, warnings: state.compiled.warnings.map((w) => w.message) };
}
