// The routing controller (--run-router): kube-router's
// NetworkRoutingController wired from the tested pieces.
//   start: gobgpd supervised (restart => full re-push), best-path watch,
//          cache handlers, the sync runner, the route re-assert timer;
//   sync:  node setup (kube-bridge, br_netfilter, CNI conf), pod egress,
//          compileRouting(cache) -> reconcileBgp, peer metrics, route sync;
//   routes: best paths -> planRoutes -> rtnetlink (protocol 0x11 only).
// stop() leaves the kernel as it is (and gobgpd running with graceful
// restart); cleanup() removes our routes, tunnels, rules, ipsets and chains.

import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GobgpdSupervisor } from '../../bgp/gobgpd.js';
import { reconcileBgp } from '../../bgp/state.js';
import type { IpFamily } from '../../bgp/types.js';
import { errorMessage, KubeRouterError } from '../../errors.js';
import { execLocal, type Exec } from '../../kernel/exec.js';
import { LinuxRtnl } from '../../kernel/rtnl/linux.js';
import type { Rtnl } from '../../kernel/rtnl/types.js';
import { ProcSysctl, type Sysctl } from '../../kernel/sysctl.js';
import { BoundedFrequencyRunner } from '../../runner/bounded-frequency-runner.js';
import { controllerHealth, type Controller, type ControllerDeps, type ControllerHealth } from '../controller.js';
import { BestPaths } from './best-paths.js';
import { cniConfPath } from './cni-conf.js';
import { compileRouting, type RoutingDesired } from './compile.js';
import { applyRoutePlan, removeOwnedRoutes } from './kernel-routes.js';
import { createRoutingMetrics, recordPeers, type RoutingMetrics } from './metrics.js';
import { ensureBridge, ensureBridgeNetfilter, ensureCniConf, readNodeAddresses, type NodeAddresses } from './node-setup.js';
import { createPodEgress, type PodEgress } from './pod-egress.js';
import { planRoutes } from './routes-plan.js';
import { WarnOnce } from './warn-once.js';
import { nodeChanged } from './relevance.js';
import type { RoutingNode } from './model.js';

/** What the controller needs of gobgpd's supervisor (GobgpdSupervisor; faked in tests). */
export type BgpDaemon = Pick<GobgpdSupervisor, 'client' | 'start' | 'stop' | 'on' | 'off'>;

export interface RoutingKernel {
  rtnl: Rtnl;
  sysctl: Sysctl;
  exec: Exec;
  egress: PodEgress;
}

export interface RoutingControllerDeps extends ControllerDeps {
  kernel?: Partial<RoutingKernel>;
  gobgpd?: BgpDaemon;
  /** Default $KUBE_ROUTER_CNI_CONF_FILE or /etc/cni/net.d/10-kuberouter.conflist. */
  cniConfPath?: string;
  /** Runner intervals (tests). */
  minSyncIntervalMs?: number;
  retryIntervalMs?: number;
  /** Kernel route passes: wait this long after a change for more (default ROUTE_COALESCE_MS). */
  routeCoalesceMs?: number;
}

/**
 * A kernel route pass starts this long after the change that asks for it, so
 * a burst of best-path events (gobgpd's watch sends one message per path)
 * is installed by one pass, not one per event.
 */
export const ROUTE_COALESCE_MS = 20;

/** Longest wait after a start before stale routes are removed even if some peer is not up. */
export const ROUTE_GRACE_MS = 90_000;

export class RoutingController implements Controller {
  readonly name = 'routing' as const;
  readonly kinds = ['Node', 'Service', 'EndpointSlice'] as const;
  private readonly deps: RoutingControllerDeps;
  private readonly k: RoutingKernel;
  private readonly gobgpd: BgpDaemon;
  private readonly runner: BoundedFrequencyRunner;
  private readonly metrics: RoutingMetrics;
  private readonly warnings: WarnOnce;
  private readonly families: IpFamily[];
  private readonly bestPaths: BestPaths;
  private unsubscribe: (() => void)[] = [];
  private reassertTimer: NodeJS.Timeout | undefined;
  private self: RoutingNode | undefined;
  private addresses: NodeAddresses = { connectedSubnets: [] };
  private routeQueue: Promise<void> = Promise.resolve();
  private routePending = false;
  /** When the last kernel route pass ended and how long it took (performance.now() ms). */
  private routePassEnd = 0;
  private routePassMs = 0;
  /** Ends the wait before a queued pass at once (stop()). */
  private routeWaitEnd: (() => void) | undefined;
  private started = false;
  private startedAt = 0;
  /** Stale routes are removed only once BGP has converged after start (see routesConverged). */
  private converged = false;
  private allEstablishedAt: number | undefined;
  /** Peers of the last successful BGP reconcile. */
  private desiredPeers: number | undefined;
  private convergeTimer: NodeJS.Timeout | undefined;
  private gobgpdUp = false;
  private asn: number | undefined;
  private readonly onRestarted = (): void => {
    this.deps.logger.warn('gobgpd was restarted: pushing the whole BGP configuration again; routes are kept until BGP has converged again');
    // The new gobgpd knows no paths yet: what the kernel holds stays until
    // every peer is back (or ROUTE_GRACE_MS), as after an agent start.
    this.awaitConvergence();
    this.bestPaths.restart();
    this.runner.run();
  };

  constructor(deps: RoutingControllerDeps) {
    this.deps = deps;
    const o = deps.options;
    this.k = {
      rtnl: deps.kernel?.rtnl ?? new LinuxRtnl(),
      sysctl: deps.kernel?.sysctl ?? new ProcSysctl(),
      exec: deps.kernel?.exec ?? execLocal,
      egress: deps.kernel?.egress ?? createPodEgress({ enableEgress: o.enablePodEgress }),
    };
    this.families = [...(o.enableIpv4 ? (['ipv4'] as const) : []), ...(o.enableIpv6 ? (['ipv6'] as const) : [])];
    this.gobgpd =
      deps.gobgpd ??
      new GobgpdSupervisor({
        apiPort: o.gobgpAdminPort,
        apiHost: o.gobgpAdminAddress || '127.0.0.1',
        logFile: join(tmpdir(), `kube-router-gobgpd-${deps.nodeName}-${o.gobgpAdminPort}.log`),
        logger: deps.logger,
      });
    this.metrics = createRoutingMetrics(deps.metrics);
    this.warnings = new WarnOnce(deps.logger);
    this.runner = new BoundedFrequencyRunner({
      name: 'routing',
      fn: async () => this.sync(),
      minIntervalMs: deps.minSyncIntervalMs ?? 1000,
      maxIntervalMs: o.routesSyncPeriod,
      retryIntervalMs: deps.retryIntervalMs ?? 5000,
      metrics: deps.metrics,
      logger: deps.logger,
      resourceVersion: () => deps.cache.resourceVersion(),
    });
    this.bestPaths = new BestPaths({
      client: this.gobgpd.client,
      families: this.families,
      onChange: () => this.scheduleRoutes(false),
      onReceived: (n) => this.metrics.advertisementsReceived.inc(n),
      logger: deps.logger,
    });
  }

  async start(): Promise<void> {
    const { cache, options } = this.deps;
    this.started = true;
    this.awaitConvergence();
    this.unsubscribe.push(
      cache.on('Node', (e) => {
        if (e.type !== 'update' || !e.old || nodeChanged(e.old, e.obj)) this.runner.run();
      }),
      cache.on('Service', () => this.runner.run()),
      cache.on('EndpointSlice', () => this.runner.run()),
    );
    this.runner.start();
    this.reassertTimer = setInterval(() => {
      this.bestPaths
        .resync()
        .catch((err: unknown) => this.deps.logger.warn({ err }, `re-reading gobgpd's best paths failed: ${errorMessage(err)}`))
        .finally(() => this.scheduleRoutes(true));
      void this.refreshPeerMetrics();
    }, options.injectedRoutesSyncPeriod);
    this.reassertTimer.unref();
  }

  async sync(): Promise<void> {
    const t0 = performance.now();
    const { cache, options, nodeName } = this.deps;
    const passwordsFile = options.peerRouterPasswordsFile;
    let peerRouterPasswordsFromFile: string[] | undefined;
    if (passwordsFile !== '' && options.peerRouterPasswords.length === 0) {
      try {
        peerRouterPasswordsFromFile = (await readFile(passwordsFile, 'utf8')).trim().split(',').map((x) => x.trim());
      } catch (err) {
        this.warnings.warnKey('passwords-file', `cannot read --peer-router-passwords-file ${passwordsFile}: ${errorMessage(err)}`);
      }
    }
    const desired: RoutingDesired = compileRouting({
      ...(peerRouterPasswordsFromFile ? { peerRouterPasswordsFromFile } : {}),
      nodeName,
      nodes: cache.store('Node').list(),
      services: cache.store('Service').list(),
      endpointSlices: cache.store('EndpointSlice').list(),
      flags: options,
    });
    this.warnings.report(desired.warnings);
    this.self = desired.self;
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(`${what}: ${errorMessage(err)}`);
      }
    };
    if (desired.self?.primaryIp === undefined) {
      // Nothing is set up (no bridge, rules or gobgpd) on a node that is not
      // (yet) in the Node list or has no IP: compileRouting's warning said so;
      // its Node event brings the next sync.
      return;
    }
    await step('node setup', () => this.setupNode(desired));
    await step('pod egress', () => this.k.egress.apply(desired.nodes, this.families));
    if (desired.bgp) {
      const bgp = desired.bgp;
      await step('BGP', async () => {
        await this.ensureGobgpd();
        const res = await reconcileBgp(this.gobgpd.client, bgp, this.families);
        for (const op of res.applied) {
          if (op.op === 'add-path') this.metrics.advertisementsSent.inc({ type: 'pod-route' });
          else if (op.op === 'delete-path') this.metrics.advertisementsSent.inc({ type: 'withdraw' });
        }
        if (res.failed.length === 0) this.desiredPeers = bgp.peers.length;
        if (res.failed.length > 0) throw new KubeRouterError('KR_ERR_BGP', res.failed.map((f) => `${f.op.op}: ${f.error.message}`).join('; '));
      });
      this.asn = bgp.global.asn;
      await step('BGP peers', () => this.refreshPeerMetrics());
    }
    this.scheduleRoutes(false);
    this.metrics.controllerRoutesSyncTime.observe((performance.now() - t0) / 1000);
    if (errors.length > 0) throw new KubeRouterError('KR_ERR_KERNEL', `routing sync on node ${nodeName}: ${errors.join('; ')}`, { object: `Node ${nodeName}` });
  }

  /**
   * Whether routes and tunnels the plan no longer has may be removed: not
   * right after a start, when gobgpd has not re-learned the paths yet (the
   * kernel still routes pod traffic with what the previous run installed).
   * Converged once every peer has been Established for 2 s, or after
   * ROUTE_GRACE_MS whatever the peers say (a node that is gone never comes up).
   */
  private async routesConverged(): Promise<boolean> {
    if (this.converged) return true;
    const now = Date.now();
    if (now - this.startedAt >= ROUTE_GRACE_MS) return (this.converged = true);
    if (!this.gobgpdUp) return false;
    try {
      if (this.desiredPeers === undefined) return false; // not reconciled yet
      const peers = await this.gobgpd.client.listPeers();
      if (peers.length < this.desiredPeers || peers.some((p) => p.sessionState !== 'established')) {
        this.allEstablishedAt = undefined;
        return false;
      }
    } catch {
      return false;
    }
    this.allEstablishedAt ??= now;
    if (now - this.allEstablishedAt < 2000) return false;
    this.deps.logger.info({ afterMs: now - this.startedAt }, 'BGP converged: stale routes and tunnels are removed from now on');
    return (this.converged = true);
  }

  /** From now until BGP has converged, stale routes and tunnels are kept (checked every second). */
  private awaitConvergence(): void {
    this.converged = false;
    this.allEstablishedAt = undefined;
    this.startedAt = Date.now();
    clearInterval(this.convergeTimer);
    this.convergeTimer = setInterval(() => {
      void this.routesConverged().then((ok) => {
        if (!ok) return;
        clearInterval(this.convergeTimer);
        this.scheduleRoutes(false);
      });
    }, 1000);
    this.convergeTimer.unref();
  }

  /** Starts (or adopts) gobgpd and the best-path watch, once this node is known. */
  private async ensureGobgpd(): Promise<void> {
    if (this.gobgpdUp || !this.started) return;
    await this.gobgpd.start();
    this.gobgpdUp = true;
    this.gobgpd.on('restarted', this.onRestarted);
    this.bestPaths.start();
  }

  /** kube_router_bgp_peer_info from ListPeer (each sync and each re-assert period). */
  private async refreshPeerMetrics(): Promise<void> {
    if (this.asn === undefined) return;
    try {
      recordPeers(this.metrics, await this.gobgpd.client.listPeers(), this.asn);
    } catch (err) {
      this.warnings.warnKey('peers', `listing BGP peers on node ${this.deps.nodeName} failed: ${errorMessage(err)}`);
    }
  }

  private async setupNode(desired: RoutingDesired): Promise<void> {
    const o = this.deps.options;
    const self = desired.self;
    this.addresses = await readNodeAddresses(this.k.rtnl, self?.primaryIp);
    const mtu = o.autoMtu && this.addresses.nodeIfMtu !== undefined ? this.addresses.nodeIfMtu - (o.enableOverlay ? 20 : 0) : undefined;
    await ensureBridge(this.k.rtnl, this.k.exec, mtu);
    try {
      await ensureBridgeNetfilter(this.k.sysctl, this.k.exec, o.enableIpv6);
    } catch (err) {
      this.warnings.warnKey('bridge-nf', `bridge netfilter: ${errorMessage(err)}`);
    }
    if (o.enableCni && self && self.podCidrs.length > 0) {
      const path = this.deps.cniConfPath ?? cniConfPath();
      const written = await ensureCniConf({
        path,
        podCidrs: self.podCidrs,
        autoMtu: o.autoMtu,
        enableOverlay: o.enableOverlay,
        ...(this.addresses.nodeIfMtu !== undefined ? { nodeIfMtu: this.addresses.nodeIfMtu } : {}),
      });
      if (written) this.deps.logger.info({ path, podCIDRs: self.podCidrs }, 'wrote the CNI config');
    }
  }

  /**
   * Queues a kernel route sync: one at a time, and coalesced. A pass starts
   * ROUTE_COALESCE_MS after the change that asked for it, and no sooner
   * after the previous pass than that pass took: while paths stream in, at
   * most about half of the time goes to passes (each plans, reads back and
   * diffs every route), the rest to receiving paths; every change arriving
   * meanwhile is taken by the next pass.
   */
  private scheduleRoutes(force: boolean): void {
    if (this.routePending && !force) return;
    this.routePending = true;
    this.routeQueue = this.routeQueue.then(async () => {
      const coalesce = this.deps.routeCoalesceMs ?? ROUTE_COALESCE_MS;
      const wait = Math.max(coalesce, this.routePassEnd + this.routePassMs - performance.now());
      if (wait > 0 && this.started) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.routeWaitEnd = undefined;
            resolve();
          }, wait);
          this.routeWaitEnd = () => {
            clearTimeout(timer);
            this.routeWaitEnd = undefined;
            resolve();
          };
        });
      }
      this.routePending = false;
      if (!this.started) return;
      const t0 = performance.now();
      try {
        await this.syncRoutes(force);
      } catch (err) {
        this.deps.logger.error({ err }, `kernel route sync on node ${this.deps.nodeName} failed: ${errorMessage(err)}`);
      } finally {
        this.routePassEnd = performance.now();
        this.routePassMs = this.routePassEnd - t0;
      }
    });
  }

  /** Runs a route sync now and waits for it (tests, and after the queue). */
  async syncRoutes(force = false): Promise<void> {
    const t0 = performance.now();
    const o = this.deps.options;
    const self = this.self;
    const nodeIps: Partial<Record<IpFamily, string>> = {};
    if (self?.ips.ipv4[0]) nodeIps.ipv4 = self.ips.ipv4[0];
    if (self?.ips.ipv6[0]) nodeIps.ipv6 = self.ips.ipv6[0];
    const plan = planRoutes({
      paths: this.bestPaths.paths(),
      nodeIps,
      connectedSubnets: this.addresses.connectedSubnets,
      podCidrs: self?.podCidrs ?? [],
      enableOverlay: o.enableOverlay,
      overlayType: o.overlayType,
    });
    const res = await applyRoutePlan(this.k.rtnl, plan, force, this.converged || !this.started);
    this.metrics.routesAdded.inc(res.added);
    this.metrics.routesRemoved.inc(res.removed);
    this.metrics.routesSynced.set(res.synced);
    this.metrics.hostRoutesSyncTime.observe((performance.now() - t0) / 1000);
    if (res.added + res.removed + res.tunnelsAdded + res.tunnelsRemoved > 0) {
      this.deps.logger.info({ added: res.added, removed: res.removed, tunnelsAdded: res.tunnelsAdded, tunnelsRemoved: res.tunnelsRemoved, routes: res.synced }, 'kernel routes synced');
    }
    for (const e of res.errors) this.warnings.warnKey(`route:${e.message}`, e.message);
  }

  /** Waits for queued route syncs (tests). */
  async routesIdle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.routeQueue;
      await q;
    } while (q !== this.routeQueue);
  }

  /** The learned best paths (tests). */
  learned(): BestPaths {
    return this.bestPaths;
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    clearInterval(this.reassertTimer);
    clearInterval(this.convergeTimer);
    this.bestPaths.stop();
    this.routeWaitEnd?.();
    await this.runner.stop();
    await this.routeQueue;
    this.gobgpd.off('restarted', this.onRestarted);
    if (this.gobgpdUp) await this.gobgpd.stop({ detach: this.deps.options.bgpGracefulRestart });
    this.gobgpdUp = false;
    this.k.rtnl.close();
  }

  async cleanup(): Promise<void> {
    const errors: string[] = [];
    try {
      const res = await removeOwnedRoutes(this.k.rtnl);
      this.deps.logger.info({ routes: res.removed, tunnels: res.tunnelsRemoved }, 'removed the routes and tunnels of the routing controller');
      errors.push(...res.errors.map((e) => e.message));
    } catch (err) {
      errors.push(`routes: ${errorMessage(err)}`);
    }
    try {
      await this.k.egress.cleanup();
    } catch (err) {
      errors.push(`pod egress: ${errorMessage(err)}`);
    }
    this.k.rtnl.close();
    if (errors.length > 0) throw new KubeRouterError('KR_ERR_KERNEL', `routing cleanup on node ${this.deps.nodeName}: ${errors.join('; ')}`);
  }

  health(): ControllerHealth {
    return controllerHealth(this.name, this.runner.health());
  }
}

export function createRoutingController(deps: ControllerDeps): Controller {
  return new RoutingController(deps);
}
