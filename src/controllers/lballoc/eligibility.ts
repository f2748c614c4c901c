// Which Services the allocator serves, and which address families each one
// wants, as kube-router's pkg/controllers/lballoc/lballoc.go decides:
//   - spec.type LoadBalancer;
//   - spec.loadBalancerClass "kube-router" always; unset or "default" only
//     with --loadbalancer-default-class (its default, true);
//   - families from spec.ipFamilies (the API server always fills it in; a
//     Service stored without it wants its ClusterIP's family, else IPv4);
//   - RequireDualStack needs both families or nothing.
// kube-router reads no annotation for allocation (there is no per-service
// range annotation) and ignores spec.loadBalancerIP; kube-router-ts honours
// spec.loadBalancerIP when it lies in a range (see allocate.ts).

import type { IPFamily, Service } from '../../informers/types.js';
import { parseIp } from '../proxy/validate-ip.js';

export const LOAD_BALANCER_CLASS = 'kube-router';

/** `ns/name`, the key used in plans, warnings and logs. */
export function serviceKey(svc: Service): string {
  return `${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
}

/** A LoadBalancer Service whose class this allocator handles. */
export function isServedClass(svc: Service, defaultClass: boolean): boolean {
  if (svc.spec.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass ?? '';
  if (cls === LOAD_BALANCER_CLASS) return true;
  return defaultClass && (cls === '' || cls === 'default');
}

/** The families the Service wants an ingress address of, primary first, without duplicates. */
export function wantedFamilies(svc: Service): IPFamily[] {
  const fams = svc.spec.ipFamilies ?? [];
  const out: IPFamily[] = [];
  for (const f of fams) if ((f === 'IPv4' || f === 'IPv6') && !out.includes(f)) out.push(f);
  if (out.length > 0) return out;
  const cip = svc.spec.clusterIP !== undefined ? parseIp(svc.spec.clusterIP) : undefined;
  return [cip?.family ?? 'IPv4'];
}

export function requiresDualStack(svc: Service): boolean {
  return svc.spec.ipFamilyPolicy === 'RequireDualStack';
}
