// The bounded-frequency runner, after kube-proxy's pkg/proxy/runner: one per
// controller, it decides WHEN the controller's (expensive, level-triggered)
// sync runs. Guarantees:
//   1. run() requests a sync; any number of requests made before the sync
//      starts coalesce into one, and fn never runs twice at once;
//   2. at least minIntervalMs between the END of one run and the start of the
//      next (requests arriving meanwhile wait, then run once);
//   3. at least one run per maxIntervalMs (the periodic full resync that
//      repairs drift nobody told us about);
//   4. a failed run is retried after retryIntervalMs; a success (of any run)
//      cancels the retry;
//   5. a failure or a throw in fn is caught, counted and logged, never
//      propagated (the process must not crash on a bad sync).
// Time comes from an injected Clock so tests use fake time.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ControllerHealth } from '../controllers/controller.js';
import { KubeRouterError, errorMessage } from '../errors.js';
import { realClock, type Clock, type Timer } from './clock.js';
import { runnerMetrics, type RunnerMetrics } from './metrics.js';

/** Why a run happened. */
export type RunReason = 'requested' | 'periodic' | 'retry';

/** Handed to fn on every run. */
export interface RunContext {
  readonly reason: RunReason;
  /** Says that a long sync is still making progress (keeps it alive for /healthz). */
  progress(): void;
}

export interface BoundedFrequencyRunnerOptions {
  /** The controller name, used as the `controller` metric label and in logs. */
  name: string;
  fn: (ctx: RunContext) => Promise<void>;
  minIntervalMs: number;
  maxIntervalMs: number;
  retryIntervalMs: number;
  clock?: Clock;
  /** Registry to record the sync metrics in; none when omitted. */
  metrics?: Registry;
  logger?: Logger;
  /**
   * Sampled when a run starts (normally `() => cache.resourceVersion()`);
   * a successful run records it as lastSyncResourceVersion.
   */
  resourceVersion?: () => string;
  /** Added to maxIntervalMs to give the health period (default 5 s + retryIntervalMs). */
  healthSlackMs?: number;
}

export interface RunnerStatus {
  started: boolean;
  stopped: boolean;
  /** fn is running now. */
  running: boolean;
  /** A run has been requested and not started yet. */
  pending: boolean;
  runs: number;
  failures: number;
  consecutiveFailures: number;
  lastRunEndAt?: number;
  lastSuccessAt?: number;
  lastSuccessResourceVersion?: string;
  syncingSince?: number;
  lastProgressAt?: number;
  lastError?: string;
  retryAt?: number;
  nextRunAt?: number;
}

/** What a controller's health() reports, minus its name. */
export type RunnerHealth = Omit<ControllerHealth, 'name'>;

export class BoundedFrequencyRunner {
  readonly name: string;
  private readonly fn: (ctx: RunContext) => Promise<void>;
  private readonly minIntervalMs: number;
  private readonly maxIntervalMs: number;
  private readonly retryIntervalMs: number;
  private readonly healthSlackMs: number;
  private readonly clock: Clock;
  private readonly metrics?: RunnerMetrics;
  private readonly logger?: Logger;
  private readonly resourceVersion?: () => string;

  private started = false;
  private stopped = false;
  private pending = false;
  private startedAt?: number;
  private timer?: Timer;
  private nextRunAt?: number;
  private inFlight?: Promise<void>;
  /** Identifies the current run so a stale ctx.progress() is ignored. */
  private runSeq = 0;
  private runs = 0;
  private failures = 0;
  private consecutiveFailures = 0;
  private lastRunEndAt?: number;
  private lastSuccessAt?: number;
  private lastSuccessResourceVersion?: string;
  private syncingSince?: number;
  private lastProgressAt?: number;
  private lastError?: string;
  private retryAt?: number;
  private stoppedWaiters: (() => void)[] = [];

  constructor(opts: BoundedFrequencyRunnerOptions) {
    const { minIntervalMs, maxIntervalMs, retryIntervalMs } = opts;
    if (!(minIntervalMs >= 0) || !(maxIntervalMs > 0) || !(retryIntervalMs > 0) || minIntervalMs > maxIntervalMs) {
      throw new KubeRouterError(
        'KR_ERR_INTERNAL',
        `runner ${opts.name}: need 0 <= minInterval (${minIntervalMs}) <= maxInterval (${maxIntervalMs}) and retryInterval (${retryIntervalMs}) > 0`,
      );
    }
    this.name = opts.name;
    this.fn = opts.fn;
    this.minIntervalMs = minIntervalMs;
    this.maxIntervalMs = maxIntervalMs;
    this.retryIntervalMs = retryIntervalMs;
    this.healthSlackMs = opts.healthSlackMs ?? 5000 + retryIntervalMs;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger;
    this.resourceVersion = opts.resourceVersion;
    if (opts.metrics) {
      this.metrics = runnerMetrics(opts.metrics);
      const labels = { controller: this.name };
      this.metrics.duration.zero(labels);
      this.metrics.errors.inc(labels, 0);
      this.metrics.total.inc({ ...labels, result: 'success' }, 0);
      this.metrics.total.inc({ ...labels, result: 'error' }, 0);
      this.metrics.pending.set(labels, 0);
    }
  }

  /** Starts scheduling; the first run follows at once. Idempotent. */
  start(): void {
    if (this.stopped) throw new KubeRouterError('KR_ERR_INTERNAL', `runner ${this.name}: start() after stop()`);
    if (this.started) return;
    this.started = true;
    this.startedAt = this.clock.now();
    this.request();
  }

  /** start(), then resolves once stop() has completed (or the signal aborts and it has). */
  async loop(signal?: AbortSignal): Promise<void> {
    this.start();
    const stopped = new Promise<void>((resolve) => this.stoppedWaiters.push(resolve));
    if (signal) {
      if (signal.aborted) void this.stop();
      else signal.addEventListener('abort', () => void this.stop(), { once: true });
    }
    await stopped;
  }

  /** Requests a sync. Cheap and non-blocking; safe to call from event handlers. */
  run(): void {
    if (this.stopped) return;
    this.request();
  }

  /** Marks progress of the running sync (same as ctx.progress()). */
  progress(): void {
    if (this.syncingSince !== undefined) this.lastProgressAt = this.clock.now();
  }

  /** Stops scheduling and waits for an in-flight run to finish. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = false;
    this.cancelTimer();
    this.metrics?.pending.set({ controller: this.name }, 0);
    if (this.inFlight) await this.inFlight;
    const waiters = this.stoppedWaiters;
    this.stoppedWaiters = [];
    for (const w of waiters) w();
  }

  status(): RunnerStatus {
    return {
      started: this.started,
      stopped: this.stopped,
      running: this.inFlight !== undefined,
      pending: this.pending,
      runs: this.runs,
      failures: this.failures,
      consecutiveFailures: this.consecutiveFailures,
      lastRunEndAt: this.lastRunEndAt,
      lastSuccessAt: this.lastSuccessAt,
      lastSuccessResourceVersion: this.lastSuccessResourceVersion,
      syncingSince: this.syncingSince,
      lastProgressAt: this.lastProgressAt,
      lastError: this.lastError,
      retryAt: this.retryAt,
      nextRunAt: this.nextRunAt,
    };
  }

  /**
   * The resourceVersion up to which the applied state is current: the one the
   * last successful run saw, or, while the runner is idle after a success (no
   * request since, nothing running, no retry due), the cache's current one.
   * Events the controller did not request a run for did not change what it
   * has to apply, so an idle controller is current with the cache; this lets
   * the lab wait for "every agent has applied write N" even when the kinds a
   * controller watches advance only by bookmarks. This relies on controllers
   * calling run() synchronously from their event handlers (the cache updates
   * its store and resourceVersion, then calls the handlers synchronously).
   */
  appliedResourceVersion(): string | undefined {
    if (this.lastSuccessResourceVersion === undefined) return undefined;
    const idle =
      this.started && !this.stopped && !this.pending && this.inFlight === undefined && this.retryAt === undefined && this.consecutiveFailures === 0;
    if (idle && this.resourceVersion) {
      try {
        const now = this.resourceVersion();
        if (now !== '') return now;
      } catch {
        // fall back to the recorded one
      }
    }
    return this.lastSuccessResourceVersion;
  }

  /** The health fields a controller reports (see ControllerHealth). */
  health(): RunnerHealth {
    return {
      lastSyncAt: this.lastSuccessAt,
      lastSyncResourceVersion: this.appliedResourceVersion(),
      periodMs: this.maxIntervalMs + this.healthSlackMs,
      syncingSince: this.syncingSince,
      lastProgressAt: this.lastProgressAt,
      lastError: this.lastError,
    };
  }

  private request(): void {
    if (!this.pending) {
      this.pending = true;
      this.metrics?.pending.set({ controller: this.name }, 1);
    }
    this.metrics?.lastQueued.set({ controller: this.name }, this.clock.now() / 1000);
    this.schedule();
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.nextRunAt = undefined;
  }

  /** (Re)arms the single timer for the earliest run due. */
  private schedule(): void {
    if (!this.started || this.stopped || this.inFlight) return;
    const now = this.clock.now();
    const notBefore = this.lastRunEndAt === undefined ? now : this.lastRunEndAt + this.minIntervalMs;
    const periodicAt = (this.lastRunEndAt ?? this.startedAt ?? now) + this.maxIntervalMs;
    let at = periodicAt;
    if (this.pending) at = Math.min(at, Math.max(notBefore, now));
    if (this.retryAt !== undefined) at = Math.min(at, Math.max(notBefore, this.retryAt));
    if (this.timer && this.nextRunAt === at) return;
    this.cancelTimer();
    this.nextRunAt = at;
    // Times are wall-clock; capping the delay at maxInterval keeps the periodic
    // guarantee in real time even if the wall clock steps backwards meanwhile.
    this.timer = this.clock.setTimer(() => this.fire(), Math.min(Math.max(0, at - now), this.maxIntervalMs));
  }

  private fire(): void {
    this.timer = undefined;
    this.nextRunAt = undefined;
    if (this.stopped || this.inFlight) return;
    const now = this.clock.now();
    const reason: RunReason = this.pending
      ? 'requested'
      : this.retryAt !== undefined && this.retryAt <= now
        ? 'retry'
        : 'periodic';
    const run = this.execute(reason).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
    this.inFlight = run;
  }

  private async execute(reason: RunReason): Promise<void> {
    const labels = { controller: this.name };
    this.pending = false;
    this.metrics?.pending.set(labels, 0);
    const seq = ++this.runSeq;
    this.syncingSince = this.clock.now();
    this.lastProgressAt = undefined;
    const ctx: RunContext = {
      reason,
      progress: () => {
        if (seq === this.runSeq && this.syncingSince !== undefined) this.lastProgressAt = this.clock.now();
      },
    };
    const started = process.hrtime.bigint();
    let rv: string | undefined;
    let failure: unknown;
    let failed = false;
    try {
      rv = this.resourceVersion?.();
      await this.fn(ctx);
    } catch (err) {
      failed = true;
      failure = err;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const end = this.clock.now();
    this.runs++;
    this.syncingSince = undefined;
    this.lastProgressAt = undefined;
    this.lastRunEndAt = end;
    this.metrics?.duration.observe(labels, seconds);
    if (failed) {
      this.failures++;
      this.consecutiveFailures++;
      this.lastError = errorMessage(failure);
      this.retryAt = end + this.retryIntervalMs;
      this.metrics?.errors.inc(labels);
      this.metrics?.total.inc({ ...labels, result: 'error' });
      this.logger?.warn(
        { controller: this.name, err: failure, reason, consecutiveFailures: this.consecutiveFailures, retryInMs: this.retryIntervalMs },
        'sync failed; will retry',
      );
    } else {
      this.consecutiveFailures = 0;
      this.lastError = undefined;
      this.retryAt = undefined;
      this.lastSuccessAt = end;
      if (rv !== undefined) this.lastSuccessResourceVersion = rv;
      this.metrics?.total.inc({ ...labels, result: 'success' });
      this.metrics?.lastSuccess.set(labels, end / 1000);
      this.logger?.debug({ controller: this.name, reason, seconds }, 'sync done');
    }
  }
}
