// A deduplicating work queue keyed by string, processed on the next turn of
// the event loop (never inside a store call or watch callback), with
// per-key exponential retry like client-go's rate-limited workqueue.
import { errorMessage } from '../../../errors.js';
import type { CmLogger } from './types.js';

const BASE_DELAY_MS = 50;
const MAX_DELAY_MS = 5000;

export class WorkQueue {
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private scheduled = false;
  private running = false;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly handler: (key: string) => void,
    private readonly logger: CmLogger,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.dirty.add(key);
    this.schedule();
  }

  /** Nothing queued for now and nothing running (delayed retries do not count). */
  isIdle(): boolean {
    return this.dirty.size === 0 && !this.running;
  }

  /** Keys waiting for a retry after a failure. */
  retrying(): string[] {
    return [...this.timers.keys()];
  }

  stop(): void {
    this.stopped = true;
    this.dirty.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (this.stopped) return;
    this.running = true;
    try {
      while (this.dirty.size > 0 && !this.stopped) {
        const key = this.dirty.values().next().value as string;
        this.dirty.delete(key);
        this.process(key);
      }
    } finally {
      this.running = false;
    }
  }

  private process(key: string): void {
    try {
      this.handler(key);
      this.failures.delete(key);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (n - 1));
      this.logger.warn({ queue: this.name, key, attempt: n, retryInMs: delay, err: errorMessage(err) }, 'sync failed, will retry');
      if (this.timers.has(key)) return;
      const t = setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delay);
      t.unref();
      this.timers.set(key, t);
    }
  }
}
