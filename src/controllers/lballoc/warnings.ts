// What the allocator reports about a Service it could not (fully) serve.
// Each warning names the Service (`ns/name`) and the field concerned, so a
// log line or a test can point at the object to fix.

import type { IpFamilyName } from '../proxy/validate-ip.js';

export type AllocationWarningCode =
  /** No free address left in the family's ranges. field: status.loadBalancer.ingress */
  | 'RangeExhausted'
  /** The Service wants a family no --loadbalancer-ip-range covers. field: spec.ipFamilies */
  | 'NoRangeForFamily'
  /** RequireDualStack and one family cannot be served: nothing is allocated. field: spec.ipFamilyPolicy */
  | 'DualStackUnsatisfiable'
  /** spec.loadBalancerIP is not an IP address. */
  | 'RequestedIPInvalid'
  /** spec.loadBalancerIP lies outside every --loadbalancer-ip-range. */
  | 'RequestedIPOutsideRange'
  /** spec.loadBalancerIP is held by another Service. */
  | 'RequestedIPInUse'
  /** spec.loadBalancerIP is of a family the Service does not have (spec.ipFamilies). */
  | 'RequestedIPWrongFamily'
  /** The Service's ingress address is also another's (the older Service keeps it). field: status.loadBalancer.ingress */
  | 'IPConflict';

export interface AllocationWarning {
  code: AllocationWarningCode;
  /** `ns/name` of the Service. */
  service: string;
  /** The field concerned, e.g. `spec.loadBalancerIP`. */
  field: string;
  family?: IpFamilyName;
  ip?: string;
  /** For IPConflict: the Service that keeps the address. */
  other?: string;
  message: string;
}

/** One line for the log: `Service ns/name: field: message`. */
export function formatWarning(w: AllocationWarning): string {
  return `Service ${w.service}: ${w.field}: ${w.message}`;
}
