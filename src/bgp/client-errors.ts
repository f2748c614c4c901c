// gRPC failures of gobgpd calls as KubeRouterError('KR_ERR_BGP'), keeping the
// gRPC status code, naming the RPC and the peer / prefix / set concerned.
import { status, type ServiceError } from '@grpc/grpc-js';
import { KubeRouterError } from '../errors.js';

/** What a call was about, for the error message and context. */
export interface CallSubject {
  peer?: string;
  prefix?: string;
  definedSet?: string;
  policy?: string;
  assignment?: string;
}

/**
 * gobgpd 3.10 answers most refusals with gRPC code UNKNOWN and a fmt.Errorf
 * text, so the only way to tell "not started" or "already exists" apart is
 * the text. This is the one place that looks at it; callers use `kind` (in
 * the error context), and the reconcilers avoid needing it at all by reading
 * state first.
 */
export type GobgpdErrorKind = 'not-started' | 'already-exists' | 'not-found' | 'in-use' | 'other';

export function classifyGobgpdMessage(code: number, details: string): GobgpdErrorKind {
  if (code === status.ALREADY_EXISTS) return 'already-exists';
  if (code === status.NOT_FOUND) return 'not-found';
  const d = details.toLowerCase();
  if (d.includes("hasn't started") || d.includes('not started')) return 'not-started';
  if (d.includes('already exists') || d.includes("can't overwrite") || d.includes('already defined')) return 'already-exists';
  if (d.includes('not found') || d.includes("doesn't exist") || d.includes('not exist')) return 'not-found';
  if (d.includes('in use') || d.includes('is used')) return 'in-use';
  return 'other';
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

export function describeSubject(s: CallSubject): string {
  const parts: string[] = [];
  if (s.peer) parts.push(`peer ${s.peer}`);
  if (s.prefix) parts.push(`prefix ${s.prefix}`);
  if (s.definedSet) parts.push(`defined set ${s.definedSet}`);
  if (s.policy) parts.push(`policy ${s.policy}`);
  if (s.assignment) parts.push(`assignment ${s.assignment}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export function bgpCallError(rpc: string, err: unknown, subject: CallSubject, address: string): KubeRouterError {
  if (err instanceof KubeRouterError) return err;
  const code = isServiceError(err) ? err.code : status.UNKNOWN;
  const details = isServiceError(err) ? err.details : err instanceof Error ? err.message : String(err);
  const codeName = status[code] ?? String(code);
  return new KubeRouterError(
    'KR_ERR_BGP',
    `gobgpd ${rpc}${describeSubject(subject)} failed: ${codeName}: ${details}`,
    {
      call: `apipb.GobgpApi/${rpc}`,
      grpcCode: code,
      grpcStatus: codeName,
      kind: classifyGobgpdMessage(code, details),
      address,
      ...subject,
    },
    { cause: err },
  );
}

/** The gRPC status code kept in a KR_ERR_BGP error, if any. */
export function grpcCodeOf(err: unknown): number | undefined {
  if (err instanceof KubeRouterError && typeof err.context.grpcCode === 'number') return err.context.grpcCode;
  return undefined;
}

/** The classification kept in a KR_ERR_BGP error ('other' if none). */
export function gobgpdErrorKind(err: unknown): GobgpdErrorKind {
  if (err instanceof KubeRouterError && typeof err.context.kind === 'string') return err.context.kind as GobgpdErrorKind;
  return 'other';
}
