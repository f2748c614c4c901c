// Typed errors of the lab controller-manager.
import { StatusError } from '../../apiserver/status.js';

function render(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v);
}

const PLURALS: Record<string, string> = { Service: 'services', Node: 'nodes' };

/**
 * An allocation (ClusterIP, NodePort, podCIDR) that cannot be made. It is
 * the lab API server's StatusError, so the REST layer answers it as
 * kube-apiserver does: 422 Invalid for a requested value that is taken, out
 * of range or immutable; 500 InternalError when a range is full.
 */
export class AllocationError extends StatusError {
  readonly kind: string;
  readonly objectName: string;
  readonly field: string;
  readonly value: unknown;
  readonly detail: string;

  constructor(kind: string, name: string, field: string, value: unknown, detail: string, httpCode: 422 | 500 = 422) {
    const body = `Invalid value: ${render(value)}: ${detail}`;
    super(
      httpCode,
      httpCode === 422 ? 'Invalid' : 'InternalError',
      httpCode === 422 ? `${kind} "${name}" is invalid: ${field}: ${body}` : `Internal error occurred: ${detail}`,
      {
        name,
        kind: httpCode === 422 ? kind : (PLURALS[kind] ?? kind),
        ...(httpCode === 422 ? { causes: [{ reason: 'FieldValueInvalid', message: body, field }] } : {}),
      },
    );
    this.name = 'AllocationError';
    Object.assign(this.context, { object: `${kind} ${name}`, field, value: render(value) });
    this.kind = kind;
    this.objectName = name;
    this.field = field;
    this.value = value;
    this.detail = detail;
  }
}
