// Typed errors with stable codes and context (which object, which field,
// which kernel or API call). Match on `code`, never on the message text.

export type ErrorCode =
  | 'KR_ERR_FLAG' // a bad command-line flag value
  | 'KR_ERR_CONFIG' // a bad config file / kubeconfig
  | 'KR_ERR_OBJECT' // a malformed Kubernetes object, annotation or field
  | 'KR_ERR_API' // an API server call failed
  | 'KR_ERR_CACHE_SYNC' // the initial informer lists did not arrive in time
  | 'KR_ERR_KERNEL' // a kernel call (netlink, iptables-restore, ipset ...) failed
  | 'KR_ERR_BGP' // a gobgpd gRPC call failed
  | 'KR_ERR_CRI' // a container runtime (CRI) call failed or said what cannot be used
  | 'KR_ERR_LAB' // the lab (VM, scenario) failed
  | 'KR_ERR_INTERNAL';

export interface ErrorContext {
  /** `Kind ns/name` of the object concerned, when there is one. */
  object?: string;
  /** Field path or flag name, e.g. `metadata.annotations[kube-router.io/node.asn]` or `--cluster-asn`. */
  field?: string;
  /** Offending value, already rendered for humans (never a secret). */
  value?: string;
  /** Kernel / API / gRPC call, e.g. `IPVS_CMD_NEW_SERVICE`, `GET /api/v1/pods`. */
  call?: string;
  errno?: number;
  [extra: string]: unknown;
}

export class KubeRouterError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeRouterError';
    this.code = code;
    this.context = context;
  }
}

/** A flag value that cannot be accepted. The agent exits with status 2 on it. */
export class FlagError extends KubeRouterError {
  constructor(flag: string, value: string, expected: string) {
    super('KR_ERR_FLAG', `invalid value "${value}" for flag ${flag}: ${expected}`, {
      field: flag,
      value,
    });
    this.name = 'FlagError';
  }
}

/** A malformed Kubernetes object, annotation or field. The object is skipped, the rest served. */
export class ObjectError extends KubeRouterError {
  constructor(object: string, field: string, message: string, value?: string) {
    super('KR_ERR_OBJECT', `${object}: ${field}: ${message}`, { object, field, value });
    this.name = 'ObjectError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
