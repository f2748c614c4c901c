// The LoadBalancer IP allocator (kube-router's --run-loadbalancer): every
// agent runs it, but only the holder of the Lease (leader-elector.ts) writes.
// Service events and the periodic resync (--loadbalancer-sync-period) call
// runner.run(); a sync of the leader plans the allocation from the cache
// (allocate.ts, pure) and writes each changed Service's
// status.loadBalancer.ingress through the status subresource, conditional on
// the resourceVersion it planned from. A 409 means the cache was behind: the
// watch brings the newer Service and its event another sync. Other write
// failures are logged and retried after the retry interval without failing
// the sync (kube-router only logs them): an RBAC mistake must not make
// /healthz restart the whole agent. Writes the
// cache has not shown yet are overlaid on it (by resourceVersion), so a sync
// running before the watch event does not hand the same address out twice.
// Not leading, a sync does nothing. stop() releases the Lease.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentOptions } from '../../cmd/options/types.js';
import { KubeRouterError, errorMessage } from '../../errors.js';
import type { SharedCache } from '../../informers/cache.js';
import { loadApiConnection } from '../../informers/kubeconfig.js';
import type { ResourceKind, Service } from '../../informers/types.js';
import { createKubeApi, isConflict, type KubeApi } from '../../kube/api-client.js';
import { ingressPatch, patchServiceStatus } from '../../kube/service-status.js';
import { BoundedFrequencyRunner } from '../../runner/bounded-frequency-runner.js';
import type { Clock } from '../../runner/clock.js';
import { controllerHealth, type Controller, type ControllerDeps, type ControllerHealth } from '../controller.js';
import { planAllocations, type AllocationPlan, type Cursor, type ServiceChange } from './allocate.js';
import { serviceKey } from './eligibility.js';
import { leaseIdentity } from './identity.js';
import { LEASE_DEFAULTS, LeaderElector } from './leader-elector.js';
import { lballocMetrics, type LbAllocMetrics } from './metrics.js';
import { parsePools, type Pools } from './ranges.js';
import { formatWarning } from './warnings.js';

export interface LbAllocControllerParams extends ControllerDeps {
  /** The API client for the writes; default: one from --kubeconfig/--master, made in start(). */
  api?: KubeApi;
  env?: NodeJS.ProcessEnv;
  /** Lease timings and name (default kube-router's: kube-router-lballoc, 15 s, 10 s, 2 s). */
  lease?: Partial<{ name: string; namespace: string; identity: string; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }>;
  clock?: Clock;
  minSyncIntervalMs?: number;
  retryIntervalMs?: number;
}

/** What the last leader sync did (tests, diagnostics). */
export interface LbAllocSyncReport {
  plan: AllocationPlan;
  written: string[];
  conflicts: string[];
  failed: string[];
}

const KINDS: readonly ResourceKind[] = ['Service'];

export class LbAllocController implements Controller {
  readonly name = 'lballoc' as const;
  readonly kinds = KINDS;
  private readonly cache: SharedCache;
  private readonly options: AgentOptions;
  private readonly logger: Logger;
  private readonly metrics: LbAllocMetrics;
  private readonly runner: BoundedFrequencyRunner;
  private readonly pools: Pools;
  private readonly params: LbAllocControllerParams;
  private api?: KubeApi;
  private ownApi = false;
  private elector?: LeaderElector;
  private cursor: Cursor = {};
  /** key -> the Service as written, valid while the cache still shows `fromRv`. */
  private readonly overlay = new Map<string, { fromRv: string | undefined; svc: Service }>();
  /** key -> signature of the warnings already logged for it. */
  private readonly warned = new Map<string, string>();
  private unsubscribe: (() => void)[] = [];
  private retryTimer?: NodeJS.Timeout;
  private readonly retryIntervalMs: number;
  private stopped = false;
  lastReport?: LbAllocSyncReport;

  constructor(params: LbAllocControllerParams) {
    this.params = params;
    this.cache = params.cache;
    this.options = params.options;
    this.logger = params.logger;
    this.metrics = lballocMetrics(params.metrics);
    this.pools = parsePools(params.options.loadbalancerIpRange);
    this.api = params.api;
    this.retryIntervalMs = params.retryIntervalMs ?? 2000;
    const period = params.options.loadbalancerSyncPeriod;
    this.runner = new BoundedFrequencyRunner({
      name: this.name,
      fn: () => this.syncOnce(),
      minIntervalMs: Math.min(params.minSyncIntervalMs ?? 50, period),
      maxIntervalMs: period,
      retryIntervalMs: this.retryIntervalMs,
      clock: params.clock,
      metrics: params.metrics as Registry,
      logger: params.logger,
      resourceVersion: () => this.cache.resourceVersion(),
    });
  }

  isLeader(): boolean {
    return this.elector?.isLeader() ?? false;
  }

  async start(): Promise<void> {
    if (this.pools.IPv4.ranges.length + this.pools.IPv6.ranges.length === 0) {
      this.logger.warn('--run-loadbalancer without --loadbalancer-ip-range: no address can be allocated');
    }
    if (!this.api) {
      const conn = await loadApiConnection({ kubeconfig: this.options.kubeconfig, master: this.options.master });
      this.api = createKubeApi(conn);
      this.ownApi = true;
    }
    const id = leaseIdentity(this.params.env ?? process.env, this.params.nodeName);
    const l = this.params.lease ?? {};
    this.elector = new LeaderElector({
      api: this.api,
      namespace: l.namespace ?? id.namespace,
      name: l.name ?? LEASE_DEFAULTS.name,
      identity: l.identity ?? id.identity,
      leaseDurationMs: l.leaseDurationMs ?? LEASE_DEFAULTS.leaseDurationMs,
      renewDeadlineMs: l.renewDeadlineMs ?? LEASE_DEFAULTS.renewDeadlineMs,
      retryPeriodMs: l.retryPeriodMs ?? LEASE_DEFAULTS.retryPeriodMs,
      logger: this.logger,
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        this.warned.clear();
        this.runner.run();
      },
      onStoppedLeading: () => {
        this.metrics.leader.set(0);
        this.overlay.clear();
      },
      onNewLeader: (holder) => this.logger.info({ holder: holder === '' ? '(released)' : holder }, 'load balancer allocator Lease holder'),
    });
    this.logger.info(
      { lease: `${l.namespace ?? id.namespace}/${l.name ?? LEASE_DEFAULTS.name}`, identity: l.identity ?? id.identity, identitySource: id.identitySource, ranges: this.options.loadbalancerIpRange },
      'load balancer allocator: campaigning for the Lease',
    );
    this.metrics.leader.set(0);
    this.unsubscribe.push(this.cache.on('Service', () => this.runner.run()));
    this.runner.start();
    this.elector.start();
  }

  async sync(): Promise<void> {
    await this.syncOnce();
  }

  /** The Services to plan from: the cache, with our own writes it has not shown yet. */
  private services(): Service[] {
    const out: Service[] = [];
    const seen = new Set<string>();
    for (const svc of this.cache.store('Service').list()) {
      const key = serviceKey(svc);
      seen.add(key);
      const o = this.overlay.get(key);
      if (o && o.fromRv === svc.metadata.resourceVersion) out.push(o.svc);
      else {
        if (o) this.overlay.delete(key);
        out.push(svc);
      }
    }
    for (const key of [...this.overlay.keys()]) if (!seen.has(key)) this.overlay.delete(key);
    return out;
  }

  private async syncOnce(): Promise<void> {
    if (!this.isLeader() || !this.api) return;
    const services = this.services();
    const plan = planAllocations({ services, pools: this.pools, defaultClass: this.options.loadbalancerDefaultClass, cursor: this.cursor });
    this.reportWarnings(plan);
    this.metrics.addressesInUse.set({ family: 'IPv4' }, plan.inUse.IPv4);
    this.metrics.addressesInUse.set({ family: 'IPv6' }, plan.inUse.IPv6);
    const report: LbAllocSyncReport = { plan, written: [], conflicts: [], failed: [] };
    const byKey = new Map(services.map((s) => [serviceKey(s), s]));
    const errors: string[] = [];
    for (const ch of plan.changes) {
      if (!this.isLeader()) break; // lost the Lease meanwhile: the new leader takes over
      try {
        await this.write(ch, byKey.get(ch.key));
        report.written.push(ch.key);
        this.metrics.statusWrites.inc({ result: 'ok' });
        this.metrics.allocations.inc(ch.added.length);
        this.logger.info({ service: ch.key, added: ch.added, removed: ch.removed }, `Service ${ch.key}: status.loadBalancer.ingress set to [${ch.desired.map((e) => e.ip ?? e.hostname ?? '').join(', ')}]`);
      } catch (err) {
        if (isConflict(err)) {
          report.conflicts.push(ch.key);
          this.metrics.statusWrites.inc({ result: 'conflict' });
          this.logger.debug({ service: ch.key }, 'Service changed since the cache saw it (409); the watch brings it and another sync');
        } else {
          report.failed.push(ch.key);
          this.metrics.statusWrites.inc({ result: 'error' });
          errors.push(`Service ${ch.key}: ${errorMessage(err)}`);
        }
      }
    }
    this.lastReport = report;
    // The cursor moves on only when every write landed: a failed write's
    // address is offered again next time rather than skipped.
    if (errors.length === 0 && report.conflicts.length === 0) this.cursor = plan.cursor;
    if (errors.length > 0) {
      // As kube-router: a failed status write (RBAC, API trouble) is logged and
      // retried, but does not fail the sync: /healthz must not get the agent,
      // and with it the proxy and the router, restarted over an allocation.
      const err = new KubeRouterError('KR_ERR_API', `load balancer allocator: ${errors.length} status write(s) failed: ${errors.join('; ')}`, { call: 'PATCH services/status' });
      this.logger.warn({ err: err.message }, err.message);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.runner.run();
    }, this.retryIntervalMs);
    this.retryTimer.unref();
  }

  private async write(ch: ServiceChange, svc: Service | undefined): Promise<void> {
    const api = this.api as KubeApi;
    const ops = ingressPatch({
      namespace: ch.namespace,
      name: ch.name,
      resourceVersion: ch.resourceVersion,
      currentIps: ch.current.map((e) => e.ip),
      removeIndexes: ch.removeIndexes,
      append: ch.added.map((ip) => ({ ip })),
    });
    const written = (await patchServiceStatus(api, ch.namespace, ch.name, ops)) as { metadata?: { resourceVersion?: string } } | undefined;
    if (svc) {
      const next: Service = {
        ...svc,
        metadata: { ...svc.metadata, resourceVersion: written?.metadata?.resourceVersion ?? svc.metadata.resourceVersion },
        status: { loadBalancer: { ingress: ch.desired } },
      };
      const cached = this.cache.store('Service').get(ch.key);
      this.overlay.set(ch.key, { fromRv: cached?.metadata.resourceVersion, svc: next });
    }
  }

  /** Logs each Service's warnings once per change of them. */
  private reportWarnings(plan: AllocationPlan): void {
    this.metrics.warnings.set(plan.warnings.length);
    const now = new Map<string, string[]>();
    for (const w of plan.warnings) {
      const l = now.get(w.service) ?? [];
      l.push(formatWarning(w));
      now.set(w.service, l);
    }
    for (const [key, lines] of now) {
      const sig = lines.join('\n');
      if (this.warned.get(key) === sig) continue;
      this.warned.set(key, sig);
      for (const w of plan.warnings.filter((x) => x.service === key)) {
        this.logger.warn({ service: w.service, field: w.field, code: w.code, family: w.family, ip: w.ip }, formatWarning(w));
      }
    }
    for (const key of [...this.warned.keys()]) if (!now.has(key)) this.warned.delete(key);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.runner.stop();
    await this.elector?.stop();
    this.metrics.leader.set(0);
    if (this.ownApi) this.api?.close();
  }

  /** No kernel state: nothing to clean up. */
  async cleanup(): Promise<void> {}

  health(): ControllerHealth {
    return controllerHealth(this.name, this.runner.health());
  }
}

export function createLbAllocController(deps: ControllerDeps): LbAllocController {
  return new LbAllocController(deps);
}
