// Typed IPVS errors: code KR_ERR_KERNEL, the netlink call, the errno and the
// service / destination concerned, rendered as ipvsadm shows them. The fake
// throws the same errors as the kernel, so callers can match on `errno`.

import { constants as osConstants } from 'node:os';
import { KubeRouterError } from '../../errors.js';

const ERRNO_NAMES: Map<number, string> = new Map(
  Object.entries(osConstants.errno).map(([name, n]) => [n, name] as [number, string]),
);

export const Errno = {
  ENOENT: osConstants.errno.ENOENT,
  ESRCH: osConstants.errno.ESRCH,
  EEXIST: osConstants.errno.EEXIST,
  EINVAL: osConstants.errno.EINVAL,
  ERANGE: osConstants.errno.ERANGE,
  EAFNOSUPPORT: osConstants.errno.EAFNOSUPPORT,
  EPERM: osConstants.errno.EPERM,
  ETIMEDOUT: osConstants.errno.ETIMEDOUT,
} as const;

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

export interface IpvsErrorContext {
  /** `IPVS_CMD_NEW_SERVICE` ... */
  call: string;
  /** Positive errno; 0 when the failure is not the kernel's (timeout, decode). */
  errno: number;
  /** `TCP 10.96.0.10:53` */
  service?: string;
  /** `-> 10.244.1.5:53` */
  destination?: string;
}

export class IpvsError extends KubeRouterError {
  readonly errno: number;
  constructor(ctx: IpvsErrorContext, detail?: string, options?: { cause?: unknown }) {
    const what = [ctx.service, ctx.destination].filter(Boolean).join(' ');
    const why = detail ?? (ctx.errno ? `${errnoName(ctx.errno)}` : 'failed');
    super('KR_ERR_KERNEL', `${ctx.call}${what ? ` ${what}` : ''}: ${why}`, { ...ctx, errnoName: errnoName(ctx.errno) }, options);
    this.name = 'IpvsError';
    this.errno = ctx.errno;
  }
}

/** True when `err` is an IpvsError with that errno (`Errno.EEXIST` ...). */
export function isIpvsErrno(err: unknown, errno: number): boolean {
  return err instanceof IpvsError && err.errno === errno;
}
