// The VIPs of one Service: ClusterIPs, externalIPs and LoadBalancer ingress
// IPs (validated against the configured ranges), and the node addresses its
// NodePorts bind to.

import { ObjectError } from '../../errors.js';
import type { Service } from '../../informers/types.js';
import type { ServiceAnnotations } from './annotations.js';
import { serviceRef } from './annotations.js';
import type { CompileContext } from './compile-context.js';
import { externalIpRejection, loadBalancerIpRejection, parseIp, type IpFamilyName } from './validate-ip.js';
import { clusterIps, validIps, type ValidIp } from './validate-ports.js';

export interface ServiceVips {
  clusterIps: ValidIp[];
  externalIps: ValidIp[];
  loadBalancerIps: ValidIp[];
  /** The service's IP families (of its ClusterIPs, else `spec.ipFamilies`). */
  families: IpFamilyName[];
}

function loadBalancerIps(svc: Service, ann: ServiceAnnotations, ctx: CompileContext, warnings: ObjectError[]): ValidIp[] {
  if (svc.spec.type !== 'LoadBalancer' || ann.skipLbIps) return [];
  const ref = serviceRef(svc);
  const out: ValidIp[] = [];
  (svc.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    // Hostname-only ingress has nothing to proxy; ipMode Proxy means the
    // load balancer proxies itself and the node must not capture the IP.
    if (ing.ip === undefined || ing.ip === '' || ing.ipMode === 'Proxy') return;
    const field = `status.loadBalancer.ingress[${i}].ip`;
    const ip = parseIp(ing.ip.trim());
    if (!ip) {
      warnings.push(new ObjectError(ref, field, 'not an IP address; ignored', ing.ip));
      return;
    }
    if (out.some((o) => o.addr === ip.addr)) return;
    const why = loadBalancerIpRejection(ip.addr, ctx.ranges);
    if (why) {
      warnings.push(new ObjectError(ref, field, `LoadBalancer IP rejected: ${why}`, ip.addr));
      return;
    }
    out.push(ip);
  });
  return out;
}

function externalIps(svc: Service, ctx: CompileContext, warnings: ObjectError[]): ValidIp[] {
  const ref = serviceRef(svc);
  const list = svc.spec.externalIPs ?? [];
  const parsed = validIps(svc, 'spec.externalIPs', list, warnings);
  return parsed.filter((ip) => {
    const why = externalIpRejection(ip.addr, ctx.ranges);
    if (!why) return true;
    const i = list.findIndex((raw) => parseIp(raw.trim())?.addr === ip.addr);
    warnings.push(new ObjectError(ref, `spec.externalIPs[${i}]`, `externalIP rejected: ${why}`, ip.addr));
    return false;
  });
}

export function serviceVips(svc: Service, ann: ServiceAnnotations, ctx: CompileContext, warnings: ObjectError[]): ServiceVips {
  const cips = clusterIps(svc, warnings);
  let families: IpFamilyName[] = [...new Set(cips.map((c) => c.family))];
  if (families.length === 0) families = [...new Set(svc.spec.ipFamilies ?? [])];
  return {
    clusterIps: cips,
    externalIps: externalIps(svc, ctx, warnings),
    loadBalancerIps: loadBalancerIps(svc, ann, ctx, warnings),
    families,
  };
}

/**
 * Node addresses a NodePort binds to in `family`: the node's primary IP, or
 * with --nodeport-bindon-all-ip every local address of that family.
 */
export function nodePortAddresses(ctx: CompileContext, family: IpFamilyName): string[] {
  if (ctx.flags.nodeportBindonAllIp) {
    const v6 = family === 'IPv6';
    return ctx.node.localIPs.filter((a) => a.includes(':') === v6);
  }
  const p = ctx.node.primaryIPs[family];
  return p === undefined ? [] : [p];
}
