// Typed errors of the lab controller-manager.
import { KubeRouterError } from '../../../errors.js';

/**
 * An allocation (ClusterIP, NodePort, podCIDR) that cannot be made. `status`
 * is the HTTP status the real API server answers with: 422 (Invalid) for a
 * requested value that is taken or out of range, 500 when a range is full.
 */
export class AllocationError extends KubeRouterError {
  readonly status: 422 | 500;
  readonly reason: 'Invalid' | 'InternalError';

  constructor(object: string, field: string, value: string, message: string, status: 422 | 500 = 422) {
    super(
      status === 422 ? 'KR_ERR_OBJECT' : 'KR_ERR_LAB',
      status === 422
        ? `${object} is invalid: ${field}: Invalid value: ${value}: ${message}`
        : `${object}: ${field}: Internal error occurred: ${message}`,
      { object, field, value },
    );
    this.name = 'AllocationError';
    this.status = status;
    this.reason = status === 422 ? 'Invalid' : 'InternalError';
  }
}
