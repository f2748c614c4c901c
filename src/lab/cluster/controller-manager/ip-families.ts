// Which IP families a Service gets, as kube-apiserver's Service registry
// decides it before allocating (initIPFamilyFields in pkg/registry/core/
// service/storage/alloc.go, with the checks of
// ValidateServiceClusterIPsRelatedFields it relies on). Works on the copy
// the allocator is filling in: sets spec.ipFamilyPolicy and spec.ipFamilies,
// trims a downgraded Service's secondary clusterIP / family, or throws
// AllocationError (422) naming the Service and the field.
import { canonicalIP, ipFamily, otherFamily } from './cidr.js';
import { CLUSTER_IP_NONE } from './constants.js';
import { AllocationError } from './errors.js';
import type { AddressType, ServiceObj } from './types.js';

export type IPFamilyPolicy = NonNullable<ServiceObj['spec']['ipFamilyPolicy']>;
type Spec = ServiceObj['spec'];

const FAMILIES: readonly string[] = ['IPv4', 'IPv6'];

function invalid(svc: ServiceObj, field: string, value: unknown, detail: string): AllocationError {
  return new AllocationError('Service', svc.metadata.name, field, value, detail);
}

export function isHeadless(spec: Spec): boolean {
  return spec.clusterIP === CLUSTER_IP_NONE || spec.clusterIPs?.[0] === CLUSTER_IP_NONE;
}

function isSelectorless(spec: Spec): boolean {
  return !spec.selector || Object.keys(spec.selector).length === 0;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Update: values the new object omits are the old one's (upstream's
 * patchAllocatedValues), so a PUT without clusterIPs keeps a dual-stack
 * Service's secondary IP instead of reading as a downgrade.
 */
export function patchAllocatedIPs(spec: Spec, old: ServiceObj | undefined): void {
  if (!old || (old.spec.type ?? 'ClusterIP') === 'ExternalName') return;
  // A changed clusterIP keeps its own list, so the error names the change ("may not change once set").
  const sameFirst = !spec.clusterIP || spec.clusterIP === old.spec.clusterIP;
  if (!spec.clusterIP && old.spec.clusterIP) spec.clusterIP = old.spec.clusterIP;
  if (sameFirst && !spec.clusterIPs?.length && old.spec.clusterIPs?.length) spec.clusterIPs = [...old.spec.clusterIPs];
}

/** clusterIP and clusterIPs[0] are one value: fills the missing side, refuses two different ones. */
export function syncClusterIP(svc: ServiceObj): void {
  const spec = svc.spec;
  const first = spec.clusterIPs?.[0];
  if (spec.clusterIP && !first) spec.clusterIPs = [spec.clusterIP];
  else if (!spec.clusterIP && first) spec.clusterIP = first;
  else if (spec.clusterIP && first && canonicalIP(spec.clusterIP) !== canonicalIP(first)) {
    throw invalid(svc, 'spec.clusterIPs[0]', first, 'must match `spec.clusterIP`');
  }
}

/** An update may add or remove the secondary ClusterIP, never change one that is set. */
export function checkClusterIPsImmutable(svc: ServiceObj, old: ServiceObj | undefined): void {
  if (!old || (old.spec.type ?? 'ClusterIP') === 'ExternalName') return;
  const was = old.spec.clusterIPs?.length ? old.spec.clusterIPs : old.spec.clusterIP ? [old.spec.clusterIP] : [];
  const now = svc.spec.clusterIPs ?? [];
  was.forEach((ip, i) => {
    const cur = now[i];
    if (cur === undefined || !ip || canonicalIP(cur) === canonicalIP(ip)) return;
    throw invalid(svc, `spec.clusterIPs[${i}]`, cur, 'may not change once set');
  });
}

/** The loose pre-validation upstream does before inferring anything (ValidateServiceClusterIPsRelatedFields). */
function validateClusterIPFields(svc: ServiceObj): void {
  const spec = svc.spec;
  const ips = spec.clusterIPs ?? [];
  if (ips.length > 2) throw invalid(svc, 'spec.clusterIPs', ips, 'may only hold up to 2 values');
  ips.forEach((ip, i) => {
    if (ip === CLUSTER_IP_NONE) {
      if (i > 0) throw invalid(svc, `spec.clusterIPs[${i}]`, ip, "'None' may only be the first value");
    } else if (ips[0] === CLUSTER_IP_NONE) {
      throw invalid(svc, `spec.clusterIPs[${i}]`, ip, "must be empty when the first value is 'None'");
    } else if (!ipFamily(ip)) {
      throw invalid(svc, `spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
    }
  });
  if (ips.length === 2 && ipFamily(ips[0] ?? '') === ipFamily(ips[1] ?? '')) {
    throw invalid(svc, 'spec.clusterIPs', ips, 'may specify no more than one IP for each IP family');
  }
  const fams: readonly string[] = spec.ipFamilies ?? [];
  if (fams.length > 2) throw invalid(svc, 'spec.ipFamilies', fams, 'may specify no more than one IP for each IP family, i.e 2 IP families');
  fams.forEach((f, i) => {
    if (!FAMILIES.includes(f)) throw invalid(svc, `spec.ipFamilies[${i}]`, f, 'Unsupported value: supported values: "IPv4", "IPv6"');
    if (fams.indexOf(f) !== i) throw invalid(svc, `spec.ipFamilies[${i}]`, f, 'Duplicate value');
    const ip = ips[i];
    if (ip && ip !== CLUSTER_IP_NONE && ipFamily(ip) !== f) {
      throw invalid(svc, `spec.clusterIPs[${i}]`, ip, `expected an ${f} value as indicated by \`ipFamilies[${i}]\``);
    }
  });
}

/**
 * Update with both sides PreferDualStack and the same IPs and families:
 * nothing is re-decided, so a cluster turning dual-stack (or back) never
 * silently upgrades or downgrades a PreferDualStack Service.
 */
function isUnchangedPreferDualStack(svc: ServiceObj, old: ServiceObj | undefined): boolean {
  if (!old || !svc.spec.ipFamilyPolicy) return false;
  if ((old.spec.type ?? 'ClusterIP') !== (svc.spec.type ?? 'ClusterIP')) return false;
  if (svc.spec.ipFamilyPolicy !== 'PreferDualStack' || old.spec.ipFamilyPolicy !== 'PreferDualStack') return false;
  return sameList(old.spec.clusterIPs, svc.spec.clusterIPs) && sameList(old.spec.ipFamilies, svc.spec.ipFamilies);
}

/** Unset policy: the old object's on update, RequireDualStack for headless+selectorless, else SingleStack. */
function defaultPolicy(spec: Spec, old: ServiceObj | undefined): IPFamilyPolicy {
  if (old?.spec.ipFamilyPolicy) return old.spec.ipFamilyPolicy;
  return isHeadless(spec) && isSelectorless(spec) ? 'RequireDualStack' : 'SingleStack';
}

/**
 * Update to SingleStack with the IPs and families left as they were is the
 * downgrade: keep the primary only (the allocator then frees the
 * secondary). Dropping the secondary under any other policy is refused.
 */
function prepareUpdate(svc: ServiceObj, old: ServiceObj): void {
  const spec = svc.spec;
  if (spec.ipFamilyPolicy === 'SingleStack') {
    if (sameList(old.spec.clusterIPs, spec.clusterIPs) && (spec.clusterIPs?.length ?? 0) > 1) spec.clusterIPs = spec.clusterIPs?.slice(0, 1);
    if (sameList(old.spec.ipFamilies, spec.ipFamilies) && (spec.ipFamilies?.length ?? 0) > 1) spec.ipFamilies = spec.ipFamilies?.slice(0, 1);
    return;
  }
  const reduced = (now: readonly string[] | undefined, was: readonly string[] | undefined): boolean =>
    (now?.length ?? 0) > 0 && (now?.length ?? 0) < (was?.length ?? 0);
  if (reduced(spec.clusterIPs, old.spec.clusterIPs)) {
    throw invalid(svc, 'spec.ipFamilyPolicy', spec.ipFamilyPolicy, "must be 'SingleStack' to release the secondary cluster IP");
  }
  if (reduced(spec.ipFamilies, old.spec.ipFamilies)) {
    throw invalid(svc, 'spec.ipFamilyPolicy', spec.ipFamilyPolicy, "must be 'SingleStack' to release the secondary IP family");
  }
}

function checkSingleStackFits(svc: ServiceObj): void {
  const spec = svc.spec;
  if (spec.ipFamilyPolicy !== 'SingleStack') return;
  if ((spec.clusterIPs?.length ?? 0) === 2) {
    throw invalid(svc, 'spec.ipFamilyPolicy', spec.ipFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified");
  }
  if ((spec.ipFamilies?.length ?? 0) === 2) {
    throw invalid(svc, 'spec.ipFamilyPolicy', spec.ipFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified");
  }
}

/** Families the user left out follow the ClusterIPs the user gave (each must be a configured family). */
function inferFamiliesFromIPs(svc: ServiceObj, cluster: readonly AddressType[]): void {
  const spec = svc.spec;
  const fams = [...(spec.ipFamilies ?? [])];
  for (const [i, ip] of (spec.clusterIPs ?? []).entries()) {
    if (ip === CLUSTER_IP_NONE) break;
    const fam = ipFamily(ip);
    if (!fam || i < fams.length) continue;
    if (!cluster.includes(fam)) throw invalid(svc, `spec.clusterIPs[${i}]`, ip, `${fam} is not configured on this cluster`);
    fams.push(fam);
  }
  if (fams.length > 0) spec.ipFamilies = fams;
}

/** Policy and families the cluster's service CIDRs cannot serve. */
function checkClusterSupports(svc: ServiceObj, cluster: readonly AddressType[]): void {
  const spec = svc.spec;
  if (spec.ipFamilyPolicy === 'RequireDualStack' && cluster.length < 2) {
    throw invalid(svc, 'spec.ipFamilyPolicy', spec.ipFamilyPolicy, 'this cluster is not configured for dual-stack services');
  }
  (spec.ipFamilies ?? []).forEach((f, i) => {
    if (!cluster.includes(f)) throw invalid(svc, `spec.ipFamilies[${i}]`, f, 'not configured on this cluster');
  });
}

/**
 * Fills spec.ipFamilyPolicy and spec.ipFamilies of a Service that needs a
 * ClusterIP (or is headless) for a cluster serving `cluster` (primary
 * first). After this, ipFamilies names what clusterIPs must hold, in order.
 */
export function initIPFamilyFields(svc: ServiceObj, old: ServiceObj | undefined, cluster: readonly AddressType[]): void {
  const spec = svc.spec;
  if (isUnchangedPreferDualStack(svc, old)) return;
  if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = defaultPolicy(spec, old);
  validateClusterIPFields(svc);
  if (old) prepareUpdate(svc, old);
  checkSingleStackFits(svc);
  inferFamiliesFromIPs(svc, cluster);
  const primary = cluster[0] ?? 'IPv4';
  if (isHeadless(spec) && isSelectorless(spec)) {
    // Headless without selector: no IP and no slices to serve, so it may
    // list both families even on a single-stack cluster (upstream allows it).
    const fams = spec.ipFamilies?.length ? [...spec.ipFamilies] : [primary];
    if (fams.length < 2 && spec.ipFamilyPolicy !== 'SingleStack') fams.push(otherFamily(fams[0] ?? primary));
    spec.ipFamilies = fams;
    return;
  }
  checkClusterSupports(svc, cluster);
  const fams = spec.ipFamilies?.length ? [...spec.ipFamilies] : [primary];
  if (spec.ipFamilyPolicy !== 'SingleStack' && fams.length === 1 && cluster.length === 2) fams.push(otherFamily(fams[0] ?? primary));
  spec.ipFamilies = fams;
}
