// The NetworkPolicy firewall controller (kube-router's netpol controller):
// informer handlers feed the FirewallChangeTracker (relevance-filtered with
// the old object) and call runner.run(); a sync compiles the dirty items
// incrementally (FirewallState.update; a full rebuild on the max period,
// --iptables-sync-period, and when the node context changes) and applies the
// desired state in netfilter's order (reconcile.ts); an incremental sync
// skips the sets and tables equal to what the last apply wrote (AppliedMemo),
// a full one reads the kernel back and repairs drift. A failed apply keeps the
// previous rules (the iptables transaction is atomic) and is retried by the
// runner. Policies that cannot be compiled are logged once per change and
// enforced fail-closed; the others are enforced.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AgentOptions } from '../../cmd/options/types.js';
import type { ObjectError } from '../../errors.js';
import type { ResourceEvent, SharedCache } from '../../informers/cache.js';
import type { Node, ResourceKind } from '../../informers/types.js';
import { BoundedFrequencyRunner, type RunReason } from '../../runner/bounded-frequency-runner.js';
import type { Clock } from '../../runner/clock.js';
import { controllerHealth, type Controller, type ControllerDeps, type ControllerHealth } from '../controller.js';
import { FirewallChangeTracker } from './change-tracker.js';
import { FirewallState } from './compile-state.js';
import { contextKey, firewallContext, nodePodCidrs } from './context.js';
import { linuxFirewallKernel } from './kernel.js';
import { firewallMetrics, type FirewallMetrics } from './metrics.js';
import type { ClusterView, FirewallDesired } from './model.js';
import { AppliedMemo } from './applied-memo.js';
import { applyFirewall, cleanupFirewall, type FirewallKernel, type ReconcileResult } from './reconcile.js';

export interface FirewallControllerParams extends ControllerDeps {
  /** Default: the Linux ipset and iptables of the enabled families. */
  kernel?: FirewallKernel;
  clock?: Clock;
  /** Minimum time between two syncs (default 50 ms). */
  minSyncIntervalMs?: number;
  /** Retry after a failed sync (default 2 s). */
  retryIntervalMs?: number;
  /** A sync that left stale sets the kernel still held is followed by one this much later (default 1 s). */
  pendingRetryMs?: number;
}

/** What the last sync did (tests, diagnostics). */
export interface FirewallSyncReport {
  full: boolean;
  result: ReconcileResult;
  errors: readonly ObjectError[];
}

const KINDS: readonly ResourceKind[] = ['Pod', 'Namespace', 'NetworkPolicy', 'Node'];

export class FirewallController implements Controller {
  readonly name = 'firewall' as const;
  readonly kinds = KINDS;
  private readonly cache: SharedCache;
  private readonly options: AgentOptions;
  private readonly nodeName: string;
  private readonly logger: Logger;
  private readonly metrics: FirewallMetrics;
  private readonly runner: BoundedFrequencyRunner;
  private readonly tracker = new FirewallChangeTracker();
  /** What the last apply wrote: incremental syncs skip unchanged parts. */
  private readonly memo = new AppliedMemo();
  private kernelImpl?: FirewallKernel;
  private state?: FirewallState;
  private stateKey?: string;
  private needRebuild = true;
  private unsubscribe: (() => void)[] = [];
  /** Policy object -> signature of its errors already logged. */
  private readonly reported = new Map<string, string>();
  private readonly warned = new Set<string>();
  lastReport?: FirewallSyncReport;
  /** Stale sets the last sync left to the next one (see ReconcileResult.pendingSets). */
  private pendingStale = new Set<string>();
  /** The follow-up sync that retries them when no event comes first. */
  private pendingRetry: NodeJS.Timeout | undefined;
  private started = false;
  /** How long after a sync that left stale sets the follow-up runs. */
  private readonly pendingRetryMs: number;

  constructor(params: FirewallControllerParams) {
    this.cache = params.cache;
    this.options = params.options;
    this.nodeName = params.nodeName;
    this.logger = params.logger;
    this.kernelImpl = params.kernel;
    this.metrics = firewallMetrics(params.metrics);
    this.pendingRetryMs = params.pendingRetryMs ?? 1000;
    this.runner = new BoundedFrequencyRunner({
      name: this.name,
      fn: (ctx) => this.syncOnce(ctx.reason),
      minIntervalMs: Math.min(params.minSyncIntervalMs ?? 50, params.options.iptablesSyncPeriod),
      maxIntervalMs: params.options.iptablesSyncPeriod,
      retryIntervalMs: params.retryIntervalMs ?? 2000,
      clock: params.clock,
      metrics: params.metrics as Registry,
      logger: params.logger,
      resourceVersion: () => this.cache.resourceVersion(),
    });
  }

  private get kernel(): FirewallKernel {
    if (!this.kernelImpl) this.kernelImpl = linuxFirewallKernel(this.options, (via) => this.metrics.iptablesWrites.labels(via).inc());
    return this.kernelImpl;
  }

  async start(): Promise<void> {
    const run = (relevant: boolean): void => {
      if (relevant) this.runner.run();
    };
    this.unsubscribe.push(
      this.cache.on('Pod', (ev) => run(this.tracker.onPod(ev))),
      this.cache.on('Namespace', (ev) => run(this.tracker.onNamespace(ev))),
      this.cache.on('NetworkPolicy', (ev) => run(this.tracker.onPolicy(ev))),
      this.cache.on('Node', (ev) => run(this.onNode(ev))),
    );
    this.started = true;
    this.runner.start();
  }

  /** Only this node's pod CIDRs matter (the context); any change forces a rebuild. */
  private onNode(ev: ResourceEvent<Node>): boolean {
    if (ev.obj.metadata.name !== this.nodeName) return false;
    if (ev.type === 'update' && ev.old && JSON.stringify(nodePodCidrs(ev.old)) === JSON.stringify(nodePodCidrs(ev.obj))) return false;
    this.needRebuild = true;
    return true;
  }

  async sync(): Promise<void> {
    await this.syncOnce('requested');
  }

  /** What the periodic run does: recompile everything, read the kernel back, repair drift. */
  async syncFull(): Promise<void> {
    await this.syncOnce('periodic');
  }

  private view(): ClusterView {
    return { pods: this.cache.store('Pod'), namespaces: this.cache.store('Namespace'), policies: this.cache.store('NetworkPolicy') };
  }

  /** Compiles what changed (or everything) and returns the desired state. */
  private compile(reason: RunReason): { desired: FirewallDesired; full: boolean } {
    const ctx = firewallContext(this.options, this.nodeName, this.cache.store('Node').get(this.nodeName));
    const key = contextKey(ctx);
    const view = this.view();
    const changes = this.tracker.drain();
    let full = false;
    if (!this.state || key !== this.stateKey) {
      this.state = new FirewallState(ctx);
      this.stateKey = key;
      this.needRebuild = true;
    }
    if (this.needRebuild || reason === 'periodic') {
      this.state.rebuild(view);
      full = true;
    } else {
      this.state.update(changes, view);
    }
    this.needRebuild = false;
    return { desired: this.state.desired(), full };
  }

  private async syncOnce(reason: RunReason): Promise<void> {
    const t0 = process.hrtime.bigint();
    let desired: FirewallDesired;
    let full: boolean;
    try {
      ({ desired, full } = this.compile(reason));
    } catch (err) {
      this.needRebuild = true;
      throw err;
    }
    this.reportProblems(desired);
    let result: ReconcileResult;
    try {
      result = await applyFirewall(this.kernel, desired, { memo: this.memo, full });
    } catch (err) {
      this.metrics.applyErrors.inc();
      throw err;
    } finally {
      this.metrics.syncTime.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    // A stale set still held right after its last rule went (nf_tables frees it after the
    // commit) is retried by the next sync: worth a warning only when it was held before too.
    const pendingBefore = this.pendingStale;
    this.pendingStale = new Set(result.pendingSets.map((p) => p.set.name));
    if (this.pendingStale.size > 0 && this.pendingRetry === undefined && this.started) {
      this.pendingRetry = setTimeout(() => {
        this.pendingRetry = undefined;
        this.runner.run();
      }, this.pendingRetryMs);
      this.pendingRetry.unref();
    }
    for (const k of result.kept) this.logger.warn(`firewall: kept stale ${k}; retried next sync`);
    for (const { set, reason } of result.pendingSets) {
      const msg = `firewall: kept stale set ${set.name}: ${reason}; retried next sync`;
      if (pendingBefore.has(set.name)) this.logger.warn(msg);
      else this.logger.debug(msg);
    }
    this.recordCounts(desired);
    this.lastReport = { full, result, errors: desired.errors };
    if (result.lines > 0) {
      this.logger.debug({ full, lines: result.lines, ms: Number(process.hrtime.bigint() - t0) / 1e6 }, 'firewall synced');
    }
  }

  private recordCounts(desired: FirewallDesired): void {
    let chains = 0;
    let rules = 0;
    for (const d of Object.values(desired.iptables)) {
      if (!d) continue;
      chains += d.chains.size;
      for (const r of d.chains.values()) rules += r.length;
      rules += d.jumps.length;
    }
    this.metrics.chains.set(chains);
    this.metrics.rules.set(rules);
    this.metrics.ipsets.set(desired.ipsets.length + desired.localPods.length);
    this.metrics.policyErrors.set(new Set(desired.errors.map((e) => String(e.context.object))).size);
    this.metrics.lingeringPolicies.set(this.state?.lingeringPolicies().length ?? 0);
  }

  /** Logs each policy's errors once per change of them, and each warning once. */
  private reportProblems(desired: FirewallDesired): void {
    const now = new Map<string, ObjectError[]>();
    for (const e of desired.errors) {
      const obj = String(e.context.object ?? 'NetworkPolicy ?');
      let l = now.get(obj);
      if (!l) now.set(obj, (l = []));
      l.push(e);
    }
    for (const [obj, errs] of now) {
      const sig = errs.map((e) => `${e.context.field}:${e.message}`).join('\n');
      if (this.reported.get(obj) === sig) continue;
      this.reported.set(obj, sig);
      for (const e of errs) {
        this.logger.error({ object: obj, field: e.context.field, value: e.context.value }, `${e.message} (policy enforced fail-closed: it allows nothing)`);
      }
    }
    for (const obj of [...this.reported.keys()]) {
      if (now.has(obj)) continue;
      this.reported.delete(obj);
      this.logger.info({ object: obj }, `${obj}: compiles again`);
    }
    for (const w of desired.warnings) {
      if (this.warned.has(w)) continue;
      this.warned.add(w);
      this.logger.warn(w);
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.pendingRetry);
    this.pendingRetry = undefined;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.runner.stop();
  }

  async cleanup(): Promise<void> {
    this.memo.clear();
    const r = await cleanupFirewall(this.kernel);
    this.logger.info({ chains: r.chains.length, sets: r.sets.length }, 'firewall: removed our chains, jumps and sets');
  }

  health(): ControllerHealth {
    return controllerHealth(this.name, this.runner.health());
  }
}

export function createFirewallController(deps: ControllerDeps): FirewallController {
  return new FirewallController(deps);
}
