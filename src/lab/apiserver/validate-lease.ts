// coordination.k8s.io/v1 Lease validation, kube-apiserver's rules
// (pkg/apis/coordination/validation): a set leaseDurationSeconds must be
// greater than 0 and a set leaseTransitions at least 0 (422 otherwise).

import type { FieldError } from './status.js';
import type { StoredObject } from './types.js';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateLease(obj: StoredObject, _old: StoredObject | undefined, errs: FieldError[]): void {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const d = spec.leaseDurationSeconds;
  if (d !== undefined && d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d <= 0)) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.leaseDurationSeconds', value: d, detail: 'must be greater than 0' });
  }
  const t = spec.leaseTransitions;
  if (t !== undefined && t !== null && (typeof t !== 'number' || !Number.isInteger(t) || t < 0)) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.leaseTransitions', value: t, detail: 'must be greater than or equal to 0' });
  }
}
