// Typed errors of the lab controller-manager.
import { KubeRouterError } from '../../../errors.js';

function render(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v);
}

/**
 * An allocation (ClusterIP, NodePort, podCIDR) that cannot be made. `httpCode`
 * is what the real API server answers: 422 (Invalid) for a requested value
 * that is taken, out of range or immutable; 500 when a range is full.
 */
export class AllocationError extends KubeRouterError {
  readonly httpCode: 422 | 500;
  readonly kind: string;
  readonly objectName: string;
  readonly field: string;
  readonly value: unknown;
  readonly detail: string;

  constructor(kind: string, name: string, field: string, value: unknown, detail: string, httpCode: 422 | 500 = 422) {
    super(
      httpCode === 422 ? 'KR_ERR_OBJECT' : 'KR_ERR_LAB',
      httpCode === 422
        ? `${kind} "${name}" is invalid: ${field}: Invalid value: ${render(value)}: ${detail}`
        : `Internal error occurred: ${detail}`,
      { object: `${kind} ${name}`, field, value: render(value) },
    );
    this.name = 'AllocationError';
    this.httpCode = httpCode;
    this.kind = kind;
    this.objectName = name;
    this.field = field;
    this.value = value;
    this.detail = detail;
  }
}
