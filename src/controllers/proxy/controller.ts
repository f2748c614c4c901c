// The service proxy controller (kube-router's NetworkServicesController,
// IPVS mode): Services, EndpointSlices and this Node into IPVS virtual
// services, kube-dummy-if addresses, three ipsets and a fixed set of
// iptables rules.
//
// Event handlers only feed the ServiceChangeTracker and call runner.run().
// A sync drains the dirty Service keys, recomputes those Services only
// (DesiredProxyState.recompute; an unchanged result costs nothing) and
// reconciles the IPVS services they touch. The first sync, the periodic one
// (--ipvs-sync-period) and retries are FULL: local addresses re-read, every
// kernel object re-read and drift repaired. A kernel already in the desired
// state (a no-op resync, a restart) gets zero mutations.

import type { Logger } from 'pino';
import { errorMessage, KubeRouterError, ObjectError } from '../../errors.js';
import type { EndpointSlice, Node, ResourceKind, Service } from '../../informers/types.js';
import { IPVS_FAMILY_MISSING } from '../../kernel/ipvs/linux.js';
import { serviceConfig, serviceKey } from '../../kernel/ipvs/types.js';
import { BoundedFrequencyRunner, type RunContext } from '../../runner/bounded-frequency-runner.js';
import type { Clock } from '../../runner/clock.js';
import { controllerHealth, type Controller, type ControllerDeps, type ControllerHealth } from '../controller.js';
import { LABEL_SERVICE_NAME } from './annotations.js';
import { ServiceChangeTracker } from './change-tracker.js';
import { createCompileContext, type CompileContext } from './compile-context.js';
import { DesiredProxyState } from './compile-state.js';
import { PROXY_SYSCTLS, type ProxyKernel } from './kernel.js';
import { HealthCheckServers } from './healthcheck.js';
import { createProxyMetrics, registerServiceStats, type ProxyMetrics, type ServiceStatsSample } from './metrics.js';
import { proxyFamilies, proxyFlagsFromOptions } from './model.js';
import { DUMMY_LINK, nodeInfoFrom, nodePodCidrV4, nodePodCidrV6, readLinkMtu, readLocalIPs } from './node-info.js';
import type { IpFamilyName } from './validate-ip.js';
import { DsrApplier, desiredDsr, noDsr } from './reconcile-dsr.js';
import { ProxyApplier } from './reconcile-apply.js';
import { drainService, isManaged, managedRanges, type DesiredVirtualService, type DrainOptions, type ManagedRanges } from './reconcile-ipvs.js';
import { ServicesFilter } from './filter-services.js';
import { CHAIN_SERVICES, desiredFilter, desiredIpsets, desiredMangle, desiredNat, PROXY_SETS, ownsProxyChain } from './reconcile-tables.js';

/** How often draining destinations (graceful termination) are looked at again. */
const DRAIN_CHECK_MS = 2_000;
/** A DSR pod that could not be configured is tried again after this long. */
const DSR_RETRY_MS = 5_000;

export interface ProxyControllerOptions {
  clock?: Clock;
  /** Minimum time between two syncs (default 100 ms). */
  minSyncIntervalMs?: number;
}

export class ProxyController implements Controller {
  readonly name = 'proxy' as const;
  readonly kinds: readonly ResourceKind[] = ['Service', 'EndpointSlice', 'Node'];
  private readonly runner: BoundedFrequencyRunner;
  private readonly tracker = new ServiceChangeTracker();
  private readonly state = new DesiredProxyState();
  private readonly metrics: ProxyMetrics;
  private readonly applier: ProxyApplier;
  private readonly dsr: DsrApplier;
  private dsrRetry: NodeJS.Timeout | undefined;
  /** MTU of the primary link (DSR MSS clamp), read on full syncs. */
  private mtu = 1500;
  private readonly logger: Logger;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly warned = new Set<string>();
  private readonly healthChecks: HealthCheckServers;
  /** healthCheckNodePort changes found by recompute, applied after it. */
  private healthCheckWork: Promise<void>[] = [];
  private ctx: CompileContext | undefined;
  private ctxSignature = '';
  private localIPs: string[] = [];
  /** Destinations draining at weight 0 (graceful termination): drainKey -> start. */
  private readonly draining = new Map<string, number>();
  private drainTimer: NodeJS.Timeout | undefined;
  /** Set by the drain timer: the next sync looks at the draining services again. */
  private drainDue = false;
  private needFull = true;
  /** A sync completed without error since the start (kube-proxy's serviceProxyHealthy for health checks). */
  private synced = false;
  private nodeChanged = false;
  /** Last mutation count of a sync (tests and logs). */
  lastMutations = 0;

  constructor(
    private readonly deps: ControllerDeps,
    private readonly kernel: ProxyKernel,
    opts: ProxyControllerOptions = {},
  ) {
    this.logger = deps.logger;
    this.metrics = createProxyMetrics(deps.metrics);
    registerServiceStats(deps.metrics, () => this.serviceStats());
    this.applier = new ProxyApplier(kernel, this.metrics, this.logger);
    this.dsr = new DsrApplier(kernel, proxyFamilies(deps.options));
    this.healthChecks = new HealthCheckServers({ logger: this.logger, healthy: () => this.synced });
    this.runner = new BoundedFrequencyRunner({
      name: 'proxy',
      fn: (rc) => this.syncWith(rc),
      minIntervalMs: opts.minSyncIntervalMs ?? 100,
      maxIntervalMs: deps.options.ipvsSyncPeriod,
      retryIntervalMs: 2_000,
      clock: opts.clock,
      metrics: deps.metrics,
      logger: this.logger,
      resourceVersion: () => deps.cache.resourceVersion(),
    });
  }

  async start(): Promise<void> {
    const { cache } = this.deps;
    this.unsubscribe.push(
      cache.on('Service', (ev) => {
        this.tracker.onService(ev.type === 'add' ? undefined : ev.old, ev.type === 'delete' ? undefined : ev.obj);
        this.runner.run();
      }),
      cache.on('EndpointSlice', (ev) => {
        this.tracker.onEndpointSlice(ev.type === 'add' ? undefined : ev.old, ev.type === 'delete' ? undefined : ev.obj);
        this.runner.run();
      }),
      cache.on('Node', (ev) => {
        if (ev.obj.metadata.name !== this.deps.nodeName) return;
        this.nodeChanged = true;
        this.runner.run();
      }),
    );
    this.runner.start();
  }

  sync(): Promise<void> {
    this.needFull = true;
    return this.syncWith(undefined);
  }

  /** Stops syncing and closes the netlink sockets (so the process can exit); kernel state is untouched. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await this.runner.stop();
    clearTimeout(this.drainTimer);
    clearTimeout(this.dsrRetry);
    await this.healthChecks.close();
    this.kernel.ipvs.close();
    this.kernel.rtnl.close();
    this.kernel.sandboxes?.close();
  }

  health(): ControllerHealth {
    return controllerHealth(this.name, this.runner.health());
  }

  /** IPVS stats of every virtual service a Service owns (read at scrape time). */
  private async serviceStats(): Promise<ServiceStatsSample[]> {
    const out: ServiceStatsSample[] = [];
    for (const s of await this.kernel.ipvs.listServices()) {
      const owner = this.state.ownerOf(serviceKey(s));
      if (owner === undefined) continue;
      const slash = owner.indexOf('/');
      out.push({ namespace: owner.slice(0, slash), name: owner.slice(slash + 1), vip: s.address, protocol: s.protocol.toLowerCase(), port: s.port, stats: s.stats });
    }
    return out;
  }

  // ------------------------------------------------------------------ sync

  private node(): Node | undefined {
    return this.deps.cache.store('Node').get(this.deps.nodeName);
  }

  /** Rebuilds the compile context; true when it differs from the previous one. */
  private refreshContext(): boolean {
    const node = this.node();
    const o = this.deps.options;
    const podCidrs = this.deps.cache.store('Node').list().map(nodePodCidrV4).filter((c) => c !== '');
    const info = nodeInfoFrom(this.deps.nodeName, node, this.localIPs);
    const flags = proxyFlagsFromOptions(o, podCidrs);
    const sig = JSON.stringify([info, flags]);
    if (sig === this.ctxSignature && this.ctx) return false;
    this.ctx = createCompileContext(info, flags);
    this.ctxSignature = sig;
    return true;
  }

  private ranges(): ManagedRanges {
    const o = this.deps.options;
    const n = this.ctx?.node;
    const addrs = [...this.localIPs, ...(n?.nodeIPs.IPv4 ?? []), ...(n?.nodeIPs.IPv6 ?? [])];
    return managedRanges([...o.serviceClusterIpRange, ...o.serviceExternalIpRange, ...o.loadbalancerIpRange], addrs, o.excludedCidrs);
  }

  private warn(list: readonly ObjectError[]): void {
    for (const w of list) {
      const k = `${w.context.object ?? ''}|${w.context.field ?? ''}`;
      if (this.warned.has(k)) continue;
      this.warned.add(k);
      this.logger.warn({ object: w.context.object, field: w.context.field, value: w.context.value }, w.message);
    }
  }

  /** EndpointSlices naming a Service that does not exist (and never did for us): one warning per slice. */
  private warnOrphanSlices(ns: string, name: string): void {
    const slices = this.deps.cache.endpointSlicesFor(ns, name);
    this.warn(
      slices.map(
        (s) =>
          new ObjectError(
            `EndpointSlice ${ns}/${s.metadata.name}`,
            `metadata.labels[${LABEL_SERVICE_NAME}]`,
            `Service ${ns}/${name} does not exist; slice ignored`,
            name,
          ),
      ),
    );
  }

  private recompute(key: string, scope: Set<string>): { addresses: boolean; sets: boolean; hairpin: boolean; dsr: boolean } {
    const ctx = this.ctx as CompileContext;
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const svc: Service | undefined = this.deps.cache.store('Service').get(key);
    const slices: EndpointSlice[] = svc ? this.deps.cache.endpointSlicesFor(ns, name) : [];
    const ch = this.state.recompute(key, svc, slices, ctx);
    if (ch.current) this.warn(ch.current.warnings);
    if (!svc && !ch.previous) this.warnOrphanSlices(ns, name);
    if (ch.previous?.healthCheck || ch.current?.healthCheck) this.healthCheckWork.push(this.healthChecks.set(key, ch.current?.healthCheck ?? null));
    const out = { addresses: false, sets: false, hairpin: false, dsr: false };
    if (!ch.changed) return out;
    for (const c of [ch.previous, ch.current]) for (const vs of c?.services ?? []) scope.add(serviceKey(vs.service));
    const p = ch.previous;
    const c = ch.current;
    out.addresses = JSON.stringify(p?.addresses ?? []) !== JSON.stringify(c?.addresses ?? []);
    out.sets = JSON.stringify(p?.ipsetEntries ?? null) !== JSON.stringify(c?.ipsetEntries ?? null);
    out.hairpin = JSON.stringify(p?.hairpin ?? []) !== JSON.stringify(c?.hairpin ?? []);
    out.dsr = JSON.stringify(p?.dsr ?? []) !== JSON.stringify(c?.dsr ?? []);
    return out;
  }

  /** The desired virtual services: all (scope undefined) or those in scope, each from its owning Service. */
  private desiredIpvs(scope: ReadonlySet<string> | undefined): Map<string, DesiredVirtualService> {
    const out = new Map<string, DesiredVirtualService>();
    if (scope !== undefined) {
      // A partial sync looks up the scope's keys through their owners: its
      // cost follows the change, not the number of Services.
      for (const k of scope) {
        const owner = this.state.ownerOf(k);
        const vs = owner === undefined ? undefined : this.state.get(owner)?.services.find((v) => serviceKey(v.service) === k);
        if (vs) out.set(k, { service: vs.service, destinations: vs.destinations });
      }
      return out;
    }
    for (const c of this.state.values()) {
      for (const vs of c.services) {
        const k = serviceKey(vs.service);
        if (out.has(k) || this.state.ownerOf(k) !== c.key) continue;
        out.set(k, { service: vs.service, destinations: vs.destinations });
      }
    }
    return out;
  }

  private drainOptions(): DrainOptions | undefined {
    const o = this.deps.options;
    return o.ipvsGracefulTermination ? { periodMs: o.ipvsGracefulPeriod, now: Date.now(), since: this.draining } : undefined;
  }

  /** Records what a sync left draining and arms the re-check (nothing draining: no timer). */
  private trackDraining(scope: ReadonlySet<string> | undefined, now: ReadonlyMap<string, number>): void {
    const before = new Set(this.draining.keys());
    for (const k of before) if (scope === undefined || scope.has(drainService(k))) this.draining.delete(k);
    for (const [k, start] of now) {
      if (!before.has(k)) this.logger.info({ destination: k }, 'ipvs destination draining (weight 0) until it has no connections');
      this.draining.set(k, start);
    }
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    if (this.draining.size === 0) return;
    const period = this.deps.options.ipvsGracefulPeriod;
    const next = Math.min(...this.draining.values()) + period - Date.now();
    this.drainTimer = setTimeout(() => {
      this.drainDue = true;
      this.runner.run();
    }, Math.max(10, Math.min(DRAIN_CHECK_MS, next)));
    this.drainTimer.unref();
  }

  /** --service-tcp-timeout / -tcpfin- / -udp- (0 keeps the kernel's value), written only when they differ. */
  private async ensureTimeouts(): Promise<void> {
    const o = this.deps.options;
    const want = { tcp: Math.round(o.serviceTcpTimeout / 1000), tcpFin: Math.round(o.serviceTcpfinTimeout / 1000), udp: Math.round(o.serviceUdpTimeout / 1000) };
    if (want.tcp === 0 && want.tcpFin === 0 && want.udp === 0) return;
    try {
      const cur = await this.kernel.ipvs.getTimeouts();
      if ((want.tcp && want.tcp !== cur.tcp) || (want.tcpFin && want.tcpFin !== cur.tcpFin) || (want.udp && want.udp !== cur.udp)) {
        await this.kernel.ipvs.setTimeouts(want);
        this.metrics.mutations.inc({ kind: 'ipvs_timeouts' });
      }
    } catch (e) {
      this.logger.warn({ timeouts: want }, `ipvs timeouts: ${errorMessage(e)}`);
    }
  }

  private async syncWith(rc: RunContext | undefined): Promise<void> {
    const started = Date.now();
    const full = this.needFull || rc === undefined || rc.reason !== 'requested';
    this.needFull = false;
    let ctxChanged = false;
    const t0 = Date.now();
    if (full) {
      // Without IPVS (no ip_vs module) nothing else is worth writing: fail before any mutation.
      await this.kernel.ipvs.getInfo();
      for (const [k, v] of PROXY_SYSCTLS) {
        try {
          if (await this.kernel.sysctl.ensure(k, v)) this.metrics.mutations.inc({ kind: 'sysctl' });
        } catch (e) {
          this.logger.warn({ sysctl: k }, errorMessage(e));
        }
      }
      await this.ensureTimeouts();
      this.localIPs = await readLocalIPs(this.kernel.rtnl);
    }
    const prepMs = Date.now() - t0;
    if (full || this.nodeChanged) {
      this.nodeChanged = false;
      ctxChanged = this.refreshContext();
    }
    let keys = this.tracker.drain();
    if (ctxChanged) {
      const all = new Set([...keys, ...this.state.keys(), ...this.deps.cache.store('Service').list().map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name}`)]);
      keys = [...all];
    }
    const scope = new Set<string>();
    let addresses = full;
    let sets = full;
    let hairpin = full;
    let dsr = full || this.dsr.pending;
    for (const key of keys) {
      const r = this.recompute(key, scope);
      addresses ||= r.addresses;
      sets ||= r.sets;
      hairpin ||= r.hairpin;
      dsr ||= r.dsr;
    }
    if (this.drainDue) {
      this.drainDue = false;
      for (const k of this.draining.keys()) scope.add(drainService(k));
    }
    const hcWork = this.healthCheckWork.splice(0);
    if (hcWork.length > 0) await Promise.all(hcWork);
    rc?.progress();
    // Every compiled Service (sorted): only for addresses, ipsets and nat
    // rules, which an endpoint change leaves alone.
    const services = addresses || sets || hairpin || dsr || full || ctxChanged ? this.state.values() : [];
    const ctx = this.ctx as CompileContext;
    if (full) this.mtu = await readLinkMtu(this.kernel.rtnl, ctx.node.primaryIPs.IPv4).catch(() => 1500);
    const families = ctx.flags.ipFamilies;
    const node = this.node();
    const tablesInputs = families.map((family) => ({
      family,
      services,
      localIPs: this.localIPs,
      nodeIP: ctx.node.primaryIPs[family] ?? '',
      // This node's podCIDR, as kube-router: traffic to a local endpoint keeps
      // its source (externalTrafficPolicy Local), traffic sent to an endpoint
      // on another node is SNATed so the reply comes back through this node.
      podCidr: family === 'IPv6' ? nodePodCidrV6(node) : nodePodCidrV4(node),
      masqueradeAll: ctx.flags.masqueradeAll,
      permitAll: this.deps.options.ipvsPermitAll,
      mtu: this.mtu,
    }));
    const v6 = families.includes('IPv6');
    const addrList = addresses ? [...new Set(services.flatMap((s) => s.addresses))].filter((a) => v6 || !a.includes(':')) : undefined;
    const tables = hairpin || dsr || full || ctxChanged;
    const result = await this.applier.apply({
      scope: full ? undefined : scope,
      ipvs: this.desiredIpvs(full ? undefined : scope),
      ranges: this.ranges(),
      addresses: addrList,
      ipsets: sets ? tablesInputs.flatMap((t) => desiredIpsets(t)) : undefined,
      tables: tables
        ? tablesInputs.flatMap((t) => [
            { family: t.family, desired: desiredNat(t) },
            { family: t.family, desired: desiredMangle(t) },
          ])
        : undefined,
      filter: full ? tablesInputs.map((t) => ({ family: t.family, ...filterRules(t.permitAll, t.family) })) : undefined,
      drain: this.drainOptions(),
    });
    this.trackDraining(full ? undefined : scope, result.draining);
    if (dsr || ctxChanged) await this.applyDsr(services, full, result);
    this.lastMutations = result.mutations;
    if (result.ipvsServices !== undefined) this.metrics.services.set(result.ipvsServices);
    this.metrics.syncTime.observe((Date.now() - started) / 1000);
    if (result.mutations > 0 || full) {
      this.logger.info({ full, services: keys.length, mutations: result.mutations, ms: Date.now() - started, phasesMs: { prep: prepMs, ...result.phasesMs } }, 'proxy sync');
    }
    this.synced = result.errors.length === 0 || this.synced;
    if (result.errors.length > 0) {
      for (const e of result.errors) this.logger.error({ err: e }, errorMessage(e));
      throw new KubeRouterError('KR_ERR_KERNEL', `proxy sync: ${result.errors.length} kernel operation(s) failed, first: ${errorMessage(result.errors[0])}`);
    }
  }

  /** DSR's fwmark rules, table 78 and the tunnels in local endpoint pods (reconcile-dsr.ts). */
  private async applyDsr(services: ReturnType<DesiredProxyState['values']>, full: boolean, result: { mutations: number; errors: Error[] }): Promise<void> {
    const r = await this.dsr.apply(desiredDsr(services), full);
    for (const [kind, n] of Object.entries(r.mutations)) {
      if (n === 0) continue;
      result.mutations += n;
      this.metrics.mutations.inc({ kind: `dsr_${kind}` }, n);
    }
    result.errors.push(...r.errors);
    if (r.podErrors.length > 0) {
      this.metrics.errors.inc(r.podErrors.length);
      for (const e of r.podErrors) this.logger.error({ err: e, object: (e as KubeRouterError).context?.object }, `dsr: ${errorMessage(e)}`);
      clearTimeout(this.dsrRetry);
      this.dsrRetry = setTimeout(() => this.runner.run(), DSR_RETRY_MS);
      this.dsrRetry.unref();
    }
  }

  // --------------------------------------------------------------- cleanup

  /**
   * Removes our IPVS services (managed ranges only), kube-dummy-if, our chains,
   * jumps and ipsets. Runs without the API server (--cleanup-config): the
   * managed ranges come from the flags and the local addresses. A subsystem
   * that is not there (no ip_vs module, no ipset binary) has nothing to clean.
   */
  async cleanup(): Promise<void> {
    const { ipvs, rtnl, iptables, ipset } = this.kernel;
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        if (isAbsent(e)) this.logger.info({ step: what }, `cleanup: ${what} not available, nothing to clean: ${errorMessage(e)}`);
        else errors.push(`${what}: ${errorMessage(e)}`);
      }
    };
    this.localIPs = await readLocalIPs(rtnl).catch(() => []);
    const o = this.deps.options;
    const ranges = managedRanges([...o.serviceClusterIpRange, ...o.serviceExternalIpRange, ...o.loadbalancerIpRange], this.localIPs, o.excludedCidrs);
    await step('ipvs', async () => {
      const ops = (await ipvs.listServices())
        .filter((s) => isManaged(s, ranges))
        .map((s) => ({ op: 'deleteService' as const, service: serviceConfig(s) }));
      if (ops.length > 0) {
        const r = await ipvs.apply(ops);
        for (const f of r.errors) errors.push(errorMessage(f.error));
      }
    });
    await step(DUMMY_LINK, () => rtnl.deleteLink(DUMMY_LINK));
    await step('iptables nat', () => iptables.apply({ table: 'nat', chains: new Map(), jumps: [] }, { owned: ownsProxyChain }));
    await step('iptables mangle', () => iptables.apply({ table: 'mangle', chains: new Map(), jumps: [] }, { owned: ownsProxyChain }));
    const ip6 = this.kernel.iptables6;
    const drv6 = this.kernel.iptablesDriver6;
    if (ip6) await step('ip6tables nat', () => ip6.apply({ table: 'nat', chains: new Map(), jumps: [] }, { owned: ownsProxyChain }));
    if (ip6) await step('ip6tables mangle', () => ip6.apply({ table: 'mangle', chains: new Map(), jumps: [] }, { owned: ownsProxyChain }));
    if (drv6) await step('ip6tables filter', () => new ServicesFilter(drv6).cleanup());
    await step('dsr rules', () => this.dsr.apply(noDsr(), true));
    await step('iptables filter', () => new ServicesFilter(this.kernel.iptablesDriver).cleanup());
    await step('ipset', () => ipset.destroyStale([], { owned: (n) => PROXY_SETS.includes(n) }));
    ipvs.close();
    rtnl.close();
    if (errors.length > 0) throw new KubeRouterError('KR_ERR_KERNEL', `proxy cleanup: ${errors.join('; ')}`);
  }
}

/** The kernel subsystem or its tool is missing (not a failure of cleanup). */
function isAbsent(e: unknown): boolean {
  const msg = errorMessage(e);
  const code = (e as NodeJS.ErrnoException).code;
  return msg === IPVS_FAMILY_MISSING || code === 'ENOENT' || /ENOENT|not found|command not found/i.test(msg);
}

function filterRules(permitAll: boolean, family: IpFamilyName): { rules: readonly string[]; jump: string } {
  const f = desiredFilter({ permitAll, family });
  return { rules: f.chains.get(CHAIN_SERVICES) ?? [], jump: f.jumps[0].rule };
}
