// A process-wide async mutex for ipset/iptables work shared across the
// controllers (kube-router's `ipsetMutex`): a set must not be destroyed by one
// controller while another is writing rules that reference it, and two
// `ipset restore` scripts must not share a TMP- set at the same time.

export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();
  private held = 0;

  /** Runs fn alone: callers queue in FIFO order. The lock is released even if fn throws. */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    this.held++;
    try {
      return await fn();
    } finally {
      this.held--;
      release();
    }
  }

  /** True while some caller holds the lock (for tests and metrics). */
  get locked(): boolean {
    return this.held > 0;
  }
}

/** The one lock every ipset and iptables writer in this process shares. */
export const kernelTablesLock = new AsyncMutex();
