// The agent's logger: pino, NDJSON lines in production, readable text when
// stdout is a terminal. pino-pretty runs as a synchronous stream in this
// thread (not a worker transport), so lines written just before exit are kept.
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  /** kube-router's klog `-v N`: 0-1 info, 2-3 debug, 4+ trace. */
  verbosity: number;
  /** Human-readable output. Default: whether stdout is a TTY (only when no destination is given). */
  pretty?: boolean;
  /** Where lines go. Default: stdout, written synchronously. */
  destination?: NodeJS.WritableStream;
  /** Node name, added to every line when known. */
  node?: string;
}

export const REDACT_CENSOR = '[REDACTED]';

/**
 * Paths never written in clear: BGP passwords and bearer tokens. pino's
 * wildcards cover one level (`*.password` matches `peer.password`); objects
 * holding secrets deeper should be logged through a child with the holder at
 * the top (e.g. `log.info({ peer }, ...)`).
 */
export const REDACT_PATHS: readonly string[] = [
  'peerRouterPasswords',
  '*.peerRouterPasswords',
  'password',
  '*.password',
  'authPassword',
  '*.authPassword',
  'passwords',
  '*.passwords',
  '*.*.authPassword',
  '*.*.password',
  'token',
  '*.token',
  'bearerToken',
  '*.bearerToken',
  'headers.authorization',
  '*.headers.authorization',
];

/** Maps klog verbosity to a pino level. */
export function levelForVerbosity(verbosity: number): Level {
  if (verbosity >= 4) return 'trace';
  if (verbosity >= 2) return 'debug';
  return 'info';
}

export function createLogger(opts: CreateLoggerOptions): Logger {
  const pretty = opts.pretty ?? (opts.destination === undefined && process.stdout.isTTY === true);
  let stream: DestinationStream;
  if (pretty) {
    stream = pinoPretty({
      sync: true,
      colorize: opts.destination === undefined && process.stdout.isTTY === true,
      destination: opts.destination ?? 1,
      translateTime: 'SYS:standard',
      ignore: 'pid,hostname,component',
    });
  } else {
    stream = opts.destination ?? pino.destination({ fd: 1, sync: true });
  }
  return pino(
    {
      level: levelForVerbosity(opts.verbosity),
      base: opts.node === undefined ? { component: 'kube-router' } : { component: 'kube-router', node: opts.node },
      redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}
