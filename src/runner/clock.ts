// Time as the runner sees it. Production uses the wall clock and real timers;
// tests inject FakeClock (fake-clock.ts) and move time by hand, so no test
// ever sleeps (kube-proxy's runner takes a clock.Clock for the same reason).

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds (Date.now() in production). */
  now(): number;
  /** Calls fn once after ms milliseconds unless cancelled. */
  setTimer(fn: () => void, ms: number): Timer;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
};
