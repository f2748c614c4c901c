// A young-generation collection right after a controller's sync, when no
// event waits: the garbage of the sync is collected while the agent is
// idle, not in the middle of the next sync. Under the lab's emulation a
// scavenge that lands inside a sync adds 20-120 ms to that change's latency
// (the slowest of S6's samples); one right after a sync, with little of
// the young generation still alive, takes a few ms. Node has no idle-time
// collection of its own (V8's idle notification is driven by Chrome's
// scheduler), hence this. It needs `node --expose-gc` (the image's
// entrypoint and the lab's agents pass it); without it this does nothing.

type Gc = (opts?: { type?: 'major' | 'minor' }) => void;

const gc = (globalThis as { gc?: Gc }).gc;

/** Whether collections are available (the process runs with --expose-gc). */
export const idleGcAvailable = gc !== undefined;

/**
 * After the current callbacks (the sync's own continuation first), a
 * young-generation collection if `idle()` still holds then.
 */
export function collectYoungWhenIdle(idle: () => boolean): void {
  if (!gc) return;
  setImmediate(() => {
    if (idle()) gc({ type: 'minor' });
  });
}
