// `kube-router plan`: what the agent would program on --hostname-override's
// node, from the API server (--kubeconfig) or a manifests file (-f), with the
// controllers' own compile functions. Touches no kernel state: no netlink,
// no exec. What only the node knows (its local addresses, its connected
// subnets, the paths gobgpd learned) is assumed and said so in the notes.

import type { SharedCache } from '../../informers/cache.js';
import { enabledControllers } from '../../controllers/registry.js';
import type { AgentOptions } from '../options/types.js';
import type { ToolOptions } from './args.js';
import { compileFirewallDesired, firewallDesiredSections, firewallWarnings } from './desired-firewall.js';
import { compileProxyDesired, proxyDesiredSections } from './desired-proxy.js';
import { assumedSubnets, compileRoutingState, derivedLearnedPaths, routingDesiredSections } from './desired-routing.js';
import type { ControllerReport, ToolReport } from './report.js';

/** The node's InternalIP and ExternalIP addresses (plan's stand-in for the addresses on its links). */
export function nodeAddresses(cache: SharedCache, nodeName: string): string[] {
  const n = cache.store('Node').get(nodeName);
  return (n?.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address);
}

export function planReport(cache: SharedCache, options: AgentOptions, nodeName: string, tool: ToolOptions): ToolReport {
  const controllers: ControllerReport[] = [];
  for (const name of enabledControllers(options)) {
    if (name === 'proxy') {
      const local = tool.localIps ?? nodeAddresses(cache, nodeName);
      const d = compileProxyDesired(cache, options, nodeName, local);
      controllers.push({
        controller: 'proxy',
        sections: proxyDesiredSections(d),
        notes: [tool.localIps ? `local addresses given: ${local.join(',')}` : `local addresses assumed to be the Node's: ${local.join(',') || 'none'} (--local-ips)`],
        warnings: d.warnings,
      });
    } else if (name === 'routing') {
      let subnets: string[] = [];
      const s = compileRoutingState(
        cache,
        options,
        nodeName,
        (c) => derivedLearnedPaths(cache, options, c),
        (c) => (subnets = assumedSubnets(c, tool.connectedSubnets)),
      );
      controllers.push({
        controller: 'routing',
        sections: routingDesiredSections(s),
        notes: [
          'learned paths derived from the other nodes (their pod CIDRs via their node IPs); external peers not known',
          `${tool.connectedSubnets ? 'connected subnets given' : 'connected subnets assumed'}: ${subnets.join(',') || 'none'} (--connected-subnets)`,
        ],
        warnings: s.compiled.warnings.map((w) => w.message),
      });
    } else {
      const d = compileFirewallDesired(cache, options, nodeName);
      controllers.push({ controller: 'firewall', sections: firewallDesiredSections(d), notes: [], warnings: firewallWarnings(d) });
    }
  }
  if (cache.store('Node').get(nodeName) === undefined) {
    // Not fatal (the agent waits for its Node), but it explains an empty plan.
    for (const c of controllers) c.notes.unshift(`node ${nodeName} is not in the Node list`);
  }
  return { tool: 'plan', node: nodeName, controllers };
}
