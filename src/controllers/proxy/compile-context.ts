// The compiler's context: this node and the flags, with CIDRs parsed once.
// Built by the controller when the node or the flags change (rarely), then
// shared by every per-service compile. Frozen: the compile cannot mutate it.

import type { NodeInfo, ProxyFlags } from './model.js';
import { parseCidrs, parseIp, type IpFamilyName, type VipRanges } from './validate-ip.js';

export interface CompileContext {
  readonly node: Readonly<NodeInfo>;
  readonly flags: Readonly<ProxyFlags>;
  readonly ranges: Readonly<VipRanges>;
}

function canonList(list: readonly string[] | undefined, family?: IpFamilyName): string[] {
  const out: string[] = [];
  for (const t of list ?? []) {
    const ip = parseIp(t);
    if (!ip || (family && ip.family !== family) || out.includes(ip.addr)) continue;
    out.push(ip.addr);
  }
  return out;
}

export function createCompileContext(node: NodeInfo, flags: ProxyFlags): CompileContext {
  const primaryIPs: NodeInfo['primaryIPs'] = {};
  const nodeIPs: NodeInfo['nodeIPs'] = {};
  for (const f of ['IPv4', 'IPv6'] as const) {
    const p = node.primaryIPs[f];
    const c = p === undefined ? undefined : parseIp(p);
    if (c && c.family === f) primaryIPs[f] = c.addr;
    const n = canonList(node.nodeIPs[f], f);
    if (n.length > 0) nodeIPs[f] = n;
  }
  const n: NodeInfo = { name: node.name, zone: node.zone, primaryIPs, nodeIPs, localIPs: canonList(node.localIPs) };
  const ranges: VipRanges = {
    serviceCidrs: parseCidrs(flags.serviceClusterIpRange),
    externalIpRanges: parseCidrs(flags.serviceExternalIpRange),
    loadBalancerRanges: parseCidrs(flags.loadbalancerIpRange),
    strict: flags.strictExternalIpValidation,
  };
  return Object.freeze({ node: Object.freeze(n), flags: Object.freeze({ ...flags }), ranges: Object.freeze(ranges) });
}
