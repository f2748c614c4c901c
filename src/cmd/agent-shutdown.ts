// Turns SIGTERM/SIGINT (or an AbortSignal, for in-process tests) into one
// "shut down" promise. The first signal asks for a graceful shutdown; a second
// one exits at once with 128 + signal number.

import type { Logger } from 'pino';

export type ShutdownReason = 'SIGTERM' | 'SIGINT' | 'abort';

/** Where signals come from: `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

export interface ShutdownTrigger {
  /** Resolves with the reason of the first shutdown request. */
  readonly requested: Promise<ShutdownReason>;
  isRequested(): boolean;
  /** Removes the signal listeners. */
  dispose(): void;
}

export function shutdownTrigger(opts: {
  signals?: SignalSource;
  abort?: AbortSignal;
  logger: Logger;
  /** Called on a second signal. */
  exitNow: (code: number) => void;
}): ShutdownTrigger {
  let requested = false;
  let resolveRequested!: (r: ShutdownReason) => void;
  const promise = new Promise<ShutdownReason>((res) => (resolveRequested = res));
  const request = (reason: ShutdownReason): void => {
    if (requested) return;
    requested = true;
    resolveRequested(reason);
  };
  const handlers = (['SIGTERM', 'SIGINT'] as const).map((sig) => {
    const listener = (): void => {
      if (requested) {
        opts.logger.warn({ signal: sig }, 'second signal: exiting at once');
        opts.exitNow(128 + SIGNAL_NUMBERS[sig]);
        return;
      }
      opts.logger.info({ signal: sig }, 'shutting down (controllers stop, kernel state is left in place)');
      request(sig);
    };
    opts.signals?.on(sig, listener);
    return { sig, listener };
  });
  const onAbort = (): void => request('abort');
  if (opts.abort) {
    if (opts.abort.aborted) onAbort();
    else opts.abort.addEventListener('abort', onAbort, { once: true });
  }
  return {
    requested: promise,
    isRequested: () => requested,
    dispose() {
      for (const { sig, listener } of handlers) opts.signals?.off(sig, listener);
      opts.abort?.removeEventListener('abort', onAbort);
    },
  };
}
