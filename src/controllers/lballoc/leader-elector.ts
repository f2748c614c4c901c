// Leader election on a coordination.k8s.io/v1 Lease, with client-go's
// leaderelection semantics (what kube-router uses for its allocator):
//   - every retry period a candidate GETs the Lease; missing, it creates it
//     holding it (a 409 AlreadyExists means another won the race);
//   - held by another, it counts as expired once the record has not changed
//     for the lease duration, measured on THIS process's clock from when the
//     change was observed (no clock skew between nodes matters);
//   - taking it over or renewing it is a PUT carrying the resourceVersion it
//     read, so of two candidates only one succeeds (the other gets 409);
//     a new holder increments leaseTransitions and sets acquireTime;
//   - the leader renews every retry period and steps down when no renewal
//     succeeded within the renew deadline, or at once when it sees another
//     holder; unlike client-go it then stays a candidate;
//   - stop() releases a held Lease (holderIdentity "", duration 1 s) so a
//     successor takes over at its next retry instead of after the duration.
// kube-router's values: Lease `kube-router-lballoc`, 15 s duration, 10 s
// renew deadline, 2 s retry period.

import type { Logger } from 'pino';
import { errorMessage } from '../../errors.js';
import { isConflict, isNotFound, type KubeApi } from '../../kube/api-client.js';
import { createLease, getLease, microTime, updateLease, type Lease, type LeaseSpec } from '../../kube/leases.js';

export interface LeaderElectorOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Called when the observed holder changes ('' when released). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
  now?: () => number;
  /** Added to a candidate's retry period, as a fraction of it (client-go's jitter 1.2 → 0.2). Default 0.2. */
  jitter?: number;
}

export const LEASE_DEFAULTS = { name: 'kube-router-lballoc', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

export class LeaderElector {
  private readonly o: LeaderElectorOptions;
  private readonly now: () => number;
  private leader = false;
  private stopped = false;
  private started = false;
  /** The Lease as last read or written (with its resourceVersion). */
  private observed?: Lease;
  private observedRecord = '';
  private observedAt = 0;
  private lastRenewAt = 0;
  private lastHolder?: string;
  private wake?: () => void;
  private loopDone?: Promise<void>;

  constructor(opts: LeaderElectorOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** The holder last observed ('' released, undefined before the first read). */
  holder(): string | undefined {
    return this.lastHolder;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loopDone = this.loop();
  }

  /** Stops the loop and, when leading, releases the Lease. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
    // Also when the last attempt won the Lease after stop() was asked for.
    await this.release();
    this.setLeader(false);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const ok = await this.tryAcquireOrRenew();
      if (this.stopped) break;
      const now = this.now();
      if (ok) {
        this.lastRenewAt = now;
        if (!this.leader) this.setLeader(true);
      } else if (this.leader && (now - this.lastRenewAt > this.o.renewDeadlineMs || this.heldByOther())) {
        this.o.logger?.warn({ lease: this.leaseName(), holder: this.lastHolder }, 'lost the Lease: no longer the leader');
        this.setLeader(false);
      }
      const jitter = this.leader ? 0 : this.o.retryPeriodMs * (this.o.jitter ?? 0.2) * Math.random();
      await this.sleep(this.o.retryPeriodMs + jitter);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.o.logger?.info({ lease: this.leaseName(), identity: this.o.identity }, v ? 'became the load balancer allocator leader' : 'stopped leading the load balancer allocator');
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private leaseName(): string {
    return `${this.o.namespace}/${this.o.name}`;
  }

  private heldByOther(): boolean {
    const h = this.observed?.spec?.holderIdentity ?? '';
    return h !== '' && h !== this.o.identity;
  }

  private observe(lease: Lease): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = this.now();
    }
    this.observed = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      this.o.onNewLeader?.(holder);
    }
  }

  private spec(now: number, prev: LeaseSpec | undefined): LeaseSpec {
    const mine = (prev?.holderIdentity ?? '') === this.o.identity;
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.o.leaseDurationMs / 1000)),
      acquireTime: mine && prev?.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (mine || prev === undefined ? 0 : 1),
    };
  }

  /** One attempt: true when this process holds the Lease afterwards. Never throws. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name } = this.o;
    let lease: Lease;
    try {
      lease = await getLease(api, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) {
        this.o.logger?.warn({ lease: this.leaseName(), err: errorMessage(err) }, 'cannot read the Lease');
        return false;
      }
      try {
        this.observe(await createLease(api, namespace, name, this.spec(this.now(), undefined)));
        return true;
      } catch (err2) {
        if (!isConflict(err2)) this.o.logger?.warn({ lease: this.leaseName(), err: errorMessage(err2) }, 'cannot create the Lease');
        return false;
      }
    }
    this.observe(lease);
    const holder = lease.spec?.holderIdentity ?? '';
    const now = this.now();
    if (holder !== '' && holder !== this.o.identity && this.observedAt + this.o.leaseDurationMs > now) return false;
    try {
      this.observe(await updateLease(api, lease, this.spec(now, lease.spec)));
      return true;
    } catch (err) {
      if (!isConflict(err)) this.o.logger?.warn({ lease: this.leaseName(), err: errorMessage(err) }, 'cannot update the Lease');
      return false;
    }
  }

  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease || (lease.spec?.holderIdentity ?? '') !== this.o.identity) return;
    const now = microTime(this.now());
    try {
      const released = await updateLease(this.o.api, lease, {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: lease.spec?.leaseTransitions ?? 0,
      });
      this.observe(released);
      this.o.logger?.info({ lease: this.leaseName() }, 'released the Lease');
    } catch (err) {
      this.o.logger?.warn({ lease: this.leaseName(), err: errorMessage(err) }, 'cannot release the Lease');
    }
  }
}
