// `spec.loadBalancerSourceRanges`: which sources may reach a LoadBalancer
// Service's ingress IPs, compiled into ipset members (kube-proxy's IPVS
// design; kube-router v2.11 ignores the field). For every LB IP x port:
//   kube-router-lb-fw        `lbip,proto:port`            restricted pair
//   kube-router-lb-src-net   `lbip,proto:port,cidr`       allowed sources
//   kube-router-lb-src-ip    `lbip,proto:port,lbip`       the node itself,
//     when a range holds one of the node's IPs (a connection from the node to
//     its own local LB IP leaves from that IP; kube-proxy's allowFromNode).
// One fixed rule in KUBE-ROUTER-SERVICES drops a packet to a restricted pair
// whose source is in neither allow set (reconcile-tables.ts).
//
// Ranges are trimmed (the API server lets whitespace through, kube-proxy
// trims it). A range that does not parse is named in a warning and left
// out, the others are served. Deliberate difference from kube-proxy: a
// non-empty list with no usable range of an LB IP's family refuses every
// source on those IPs (kube-proxy leaves them open); a warning says so.
// `0.0.0.0/0` (`::/0`) is written as two halves: hash:*,net refuses /0.
// Pure.

import { ObjectError } from '../../errors.js';
import type { Service } from '../../informers/types.js';
import { canonicalNet } from '../../kernel/ipset/addr.js';
import { serviceRef } from './annotations.js';
import type { CompileContext } from './compile-context.js';
import { IPSET_LB_FW, IPSET_LB_SRC_IP, IPSET_LB_SRC_NET, type ServiceIpsetEntries } from './model.js';
import { inAnyCidr, parseCidr, type Cidr, type IpFamilyName } from './validate-ip.js';
import type { ValidIp, ValidPort } from './validate-ports.js';

export interface SourceRanges {
  /** false: the Service sets no range (LB IPs open to every source). */
  restricted: boolean;
  /** Usable ranges per family, canonical ipset text (a /0 already split). */
  nets: Record<IpFamilyName, string[]>;
  /** Whether a range of that family holds one of this node's IPs. */
  allowsNode: Record<IpFamilyName, boolean>;
}

function halves(c: Cidr): string[] {
  if (c.prefix !== 0) {
    const n = canonicalNet(c.text);
    return n ? [n.net] : [];
  }
  return c.family === 'IPv4' ? ['0.0.0.0/1', '128.0.0.0/1'] : ['::/1', '8000::/1'];
}

/** Parses `spec.loadBalancerSourceRanges`; bad entries become warnings naming the Service and index. */
export function sourceRanges(svc: Service, ctx: CompileContext, warnings: ObjectError[]): SourceRanges {
  const list = svc.spec.loadBalancerSourceRanges ?? [];
  const out: SourceRanges = { restricted: list.length > 0, nets: { IPv4: [], IPv6: [] }, allowsNode: { IPv4: false, IPv6: false } };
  const parsed: Cidr[] = [];
  list.forEach((raw, i) => {
    const text = typeof raw === 'string' ? raw.trim() : '';
    const c = parseCidr(text);
    if (!c) {
      warnings.push(new ObjectError(serviceRef(svc), `spec.loadBalancerSourceRanges[${i}]`, 'not a CIDR; range ignored', String(raw)));
      return;
    }
    parsed.push(c);
    for (const n of halves(c)) if (!out.nets[c.family].includes(n)) out.nets[c.family].push(n);
  });
  for (const f of ['IPv4', 'IPv6'] as const) {
    const cidrs = parsed.filter((c) => c.family === f);
    out.allowsNode[f] = (ctx.node.nodeIPs[f] ?? []).some((a) => inAnyCidr(a, cidrs));
    out.nets[f].sort();
  }
  return out;
}

/**
 * Adds the members for the Service's LB IPs and ports to `entries` (left
 * unsorted: the caller sorts every set). Warns once per family when the
 * Service is restricted but no usable range of that family exists.
 */
export function addSourceRangeEntries(
  svc: Service,
  r: SourceRanges,
  lbIps: readonly ValidIp[],
  ports: readonly ValidPort[],
  entries: ServiceIpsetEntries,
  warnings: ObjectError[],
): void {
  if (!r.restricted || lbIps.length === 0 || ports.length === 0) return;
  const warned = new Set<IpFamilyName>();
  for (const ip of lbIps) {
    const fam = ip.family === 'IPv6' ? 'inet6' : 'inet';
    const nets = r.nets[ip.family];
    if (nets.length === 0 && !warned.has(ip.family)) {
      warned.add(ip.family);
      warnings.push(
        new ObjectError(
          serviceRef(svc),
          'spec.loadBalancerSourceRanges',
          `no usable ${ip.family} range: every source is refused on the ${ip.family} LoadBalancer IPs`,
          (svc.spec.loadBalancerSourceRanges ?? []).join(','),
        ),
      );
    }
    for (const p of ports) {
      const pair = `${ip.addr},${p.protocol.toLowerCase()}:${p.port}`;
      entries[IPSET_LB_FW][fam].push(pair);
      for (const n of nets) entries[IPSET_LB_SRC_NET][fam].push(`${pair},${n}`);
      if (r.allowsNode[ip.family]) entries[IPSET_LB_SRC_IP][fam].push(`${pair},${ip.addr}`);
    }
  }
}
