// Typed rtnetlink errors: KR_ERR_KERNEL with the netlink call (`RTM_NEWADDR`),
// the errno and the object (`address 10.96.0.10/32 on kube-dummy-if`).

import { constants as osConstants } from 'node:os';
import { KubeRouterError } from '../../errors.js';

const errnoByName = osConstants.errno as Record<string, number>;
const nameByErrno = new Map(Object.entries(errnoByName).map(([k, v]) => [v, k] as [number, string]));

export const RtErrno = {
  EEXIST: errnoByName.EEXIST,
  ENOENT: errnoByName.ENOENT,
  ESRCH: errnoByName.ESRCH,
  ENODEV: errnoByName.ENODEV,
  EADDRNOTAVAIL: errnoByName.EADDRNOTAVAIL,
  EINVAL: errnoByName.EINVAL,
  ENETUNREACH: errnoByName.ENETUNREACH,
  EOPNOTSUPP: errnoByName.EOPNOTSUPP,
} as const;

export class RtnlError extends KubeRouterError {
  readonly errno: number;
  constructor(call: string, object: string, errno: number, detail?: string, options?: { cause?: unknown }) {
    const name = nameByErrno.get(errno) ?? (errno ? `errno ${errno}` : 'failed');
    super('KR_ERR_KERNEL', `${call} ${object}: ${detail ?? name}`, { call, object, errno, errnoName: name }, options);
    this.name = 'RtnlError';
    this.errno = errno;
  }
}

export function isRtErrno(err: unknown, errno: number): boolean {
  return err instanceof RtnlError && err.errno === errno;
}

/**
 * The errno of a failure from the `netlink` package: its ErrnoException has
 * `errno`; a kernel refusal is an Error reading `Request rejected: EEXIST`.
 */
export function errnoOf(err: unknown): number {
  const e = err as { errno?: unknown; message?: unknown };
  if (typeof e?.errno === 'number') return Math.abs(e.errno);
  const m = typeof e?.message === 'string' ? /Request rejected: (\w+)/.exec(e.message) : null;
  if (m) return errnoByName[m[1]] ?? (Number(m[1]) ? Math.abs(Number(m[1])) : 0);
  return 0;
}

export function toRtnlError(err: unknown, call: string, object: string): RtnlError {
  if (err instanceof RtnlError) return err;
  const errno = errnoOf(err);
  const msg = (err as Error)?.message ?? String(err);
  const timedOut = /Timeout/.test(msg);
  return new RtnlError(call, object, errno, errno ? undefined : timedOut ? 'no reply (timeout)' : msg, { cause: err });
}
