// The agent: wires the shared informer cache, the enabled controllers, the
// health and metrics servers and graceful shutdown (kube-router's
// pkg/cmd/kube-router.go). Order:
//   1. node name; controllers constructed (their `kinds` decide what is watched)
//   2. --cleanup-config: every enabled controller's cleanup(), no API server; exit
//   3. kubeconfig + shared cache over the UNION of the controllers' kinds
//   4. health and metrics servers (a bind failure exits 1 naming the flag)
//   5. cache start, waitForSync(--cache-sync-timeout), only then controllers start
//   6. SIGTERM/SIGINT: stop controllers (kernel state untouched), stop the
//      watches, close the servers; return 0 within the shutdown deadline.
// Returns the process exit code; the bin sets process.exitCode from it.

import os from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CONTROLLER_FLAGS, type Controller, type ControllerName } from '../controllers/controller.js';
import { BUILT_IN_FACTORIES, enabledControllers, notBuiltMessage, planControllers, type ControllerFactories } from '../controllers/registry.js';
import { errorMessage } from '../errors.js';
import { startHealthServer, type HealthServer } from '../health/server.js';
import type { HealthEntry } from '../health/evaluate.js';
import type { SharedCache } from '../informers/cache.js';
import { loadApiConnection } from '../informers/kubeconfig.js';
import { createSharedCache } from '../informers/shared-cache.js';
import type { ResourceKind } from '../informers/types.js';
import { createAgentRegistry } from '../metrics/registry.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { CacheHandle } from './agent-cache.js';
import { shutdownTrigger, type SignalSource } from './agent-shutdown.js';
import { resolveNodeName } from './options/node-name.js';
import type { AgentOptions } from './options/types.js';
import { packageVersion } from './options/version.js';

export interface CacheFactoryParams {
  kinds: readonly ResourceKind[];
  options: AgentOptions;
  logger: Logger;
  metrics: Registry;
}

export type CacheFactory = (params: CacheFactoryParams) => SharedCache | Promise<SharedCache>;

/** Production cache: kubeconfig (--kubeconfig/--master semantics) + reflectors. */
export const defaultCacheFactory: CacheFactory = async ({ kinds, options, logger, metrics }) => {
  const conn = await loadApiConnection({ kubeconfig: options.kubeconfig, master: options.master });
  logger.info({ apiServer: conn.describe() }, 'API server connection');
  return createSharedCache({ kubeConfig: conn, kinds, logger: logger.child({ component: 'informer' }), metrics });
};

export interface AgentInfo {
  nodeName: string;
  /** Controllers started, in start order. */
  controllers: ControllerName[];
  healthUrl?: string;
  metricsUrl?: string;
}

export interface RunAgentParams {
  options: AgentOptions;
  logger: Logger;
  /** Controller implementations (default: the built-in ones). */
  factories?: ControllerFactories;
  /** Default: kubeconfig + createSharedCache. */
  createCache?: CacheFactory;
  /** Default: a fresh registry with default metrics and build info. */
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
  hostname?: () => string;
  /** Aborting asks for a graceful shutdown (tests). */
  signal?: AbortSignal;
  /** Default `process`; null installs no signal handlers. */
  signals?: SignalSource | null;
  /**
   * Hard exit for a second signal and for a shutdown that overruns its
   * deadline. Default process.exit (and then a lingering process after a
   * graceful shutdown is also ended); tests inject a recorder.
   */
  exit?: (code: number) => void;
  /** Deadline for the graceful shutdown (default 1500 ms, inside the 2 s promise). */
  shutdownTimeoutMs?: number;
  /** Called once every controller has started. */
  onReady?: (info: AgentInfo) => void;
}

interface Built {
  name: ControllerName;
  controller: Controller;
  started: boolean;
}

function unionKinds(controllers: Built[]): ResourceKind[] {
  const kinds = new Set<ResourceKind>();
  for (const b of controllers) for (const k of b.controller.kinds) kinds.add(k);
  return [...kinds].sort();
}

function delay(ms: number): { promise: Promise<'timeout'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

async function cleanupAll(built: Built[], logger: Logger): Promise<number> {
  let failed = 0;
  for (const b of [...built].reverse()) {
    try {
      await b.controller.cleanup();
      logger.info({ controller: b.name }, 'cleanup done');
    } catch (err) {
      failed++;
      logger.error({ controller: b.name, err }, `cleanup of controller ${b.name} failed: ${errorMessage(err)}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

export async function runAgent(params: RunAgentParams): Promise<number> {
  const { options, logger } = params;
  const env = params.env ?? process.env;
  const exit = params.exit ?? ((code: number) => process.exit(code));
  const shutdownTimeoutMs = params.shutdownTimeoutMs ?? 1500;

  const nodeName = resolveNodeName(options, env, (params.hostname ?? os.hostname)()).trim();
  if (nodeName === '') {
    logger.error('cannot determine the node name: give --hostname-override or set NODE_NAME');
    return 1;
  }
  const registry = params.registry ?? createAgentRegistry({ version: packageVersion() });
  const plan = planControllers(options, params.factories ?? BUILT_IN_FACTORIES);
  for (const m of plan.missing) logger.warn({ controller: m.name, flag: m.flag }, notBuiltMessage(m.name, m.flag));

  const handle = new CacheHandle();
  const built: Built[] = [];
  for (const { name, factory } of plan.build) {
    try {
      const controller = factory({ cache: handle, options, nodeName, logger: logger.child({ controller: name }), metrics: registry });
      built.push({ name, controller, started: false });
    } catch (err) {
      logger.error({ controller: name, err }, `cannot create controller ${name}: ${errorMessage(err)}`);
      return 1;
    }
  }

  if (options.cleanupConfig) {
    logger.info({ controllers: built.map((b) => b.name) }, 'cleaning up kernel state (--cleanup-config)');
    return cleanupAll(built, logger);
  }

  const kinds = unionKinds(built);
  let cache: SharedCache;
  try {
    cache = await (params.createCache ?? defaultCacheFactory)({ kinds, options, logger, metrics: registry });
  } catch (err) {
    logger.error({ err }, `cannot set up the API server connection: ${errorMessage(err)}`);
    return 1;
  }
  handle.bind(cache);

  const healthEntries = (): HealthEntry[] =>
    enabledControllers(options).map((name): HealthEntry => {
      const b = built.find((x) => x.name === name);
      if (!b) return { name, running: false, note: `enabled (${CONTROLLER_FLAGS[name]}) but not built yet` };
      try {
        return { name, running: true, kinds: b.controller.kinds, health: b.controller.health() };
      } catch (err) {
        return { name, running: true, kinds: b.controller.kinds, health: { name, periodMs: 0, lastError: `health() failed: ${errorMessage(err)}` } };
      }
    });

  let health: HealthServer | undefined;
  let metrics: MetricsServer | undefined;
  const closeServers = async (): Promise<void> => {
    await Promise.all([health?.close(), metrics?.close()]);
  };
  try {
    if (options.healthPort > 0) {
      health = await startHealthServer({
        host: options.healthAddr,
        port: options.healthPort,
        source: { cacheSynced: () => cache.hasSynced(), resourceVersion: () => cache.resourceVersion(), controllers: healthEntries },
      });
      logger.info({ url: `${health.url}/healthz` }, 'health server listening');
    }
    if (options.metricsPort > 0) {
      metrics = await startMetricsServer({ host: options.metricsAddr, port: options.metricsPort, path: options.metricsPath, registry });
      logger.info({ url: metrics.url }, 'metrics server listening');
    }
  } catch (err) {
    logger.error({ err }, errorMessage(err));
    await closeServers();
    return 1;
  }

  const trigger = shutdownTrigger({
    signals: params.signals === null ? undefined : (params.signals ?? process),
    abort: params.signal,
    logger,
    exitNow: exit,
  });

  const teardown = async (): Promise<void> => {
    await Promise.all(
      built
        .filter((b) => b.started)
        .map(async (b) => {
          try {
            await b.controller.stop();
          } catch (err) {
            logger.warn({ controller: b.name, err }, `stopping controller ${b.name} failed: ${errorMessage(err)}`);
          }
        }),
    );
    try {
      await cache.stop();
    } catch (err) {
      logger.warn({ err }, `stopping the informer cache failed: ${errorMessage(err)}`);
    }
    await closeServers();
  };

  /** Tears down within the deadline; a hung teardown ends the process. */
  const finish = async (code: number): Promise<number> => {
    const deadline = delay(shutdownTimeoutMs);
    const outcome = await Promise.race([teardown().then(() => 'done' as const), deadline.promise]);
    deadline.cancel();
    trigger.dispose();
    if (outcome === 'timeout') {
      logger.warn({ timeoutMs: shutdownTimeoutMs }, 'shutdown did not finish in time; exiting anyway');
      exit(code);
    } else if (params.exit === undefined) {
      // Whatever keeps the event loop alive after this (a stray socket) must not delay the exit.
      setTimeout(() => exit(code), shutdownTimeoutMs).unref();
    }
    logger.info({ code }, 'agent stopped');
    return code;
  };

  try {
    await cache.start();
    logger.info({ kinds, nodeName }, 'waiting for the informer caches to sync');
    const syncing = cache.waitForSync(options.cacheSyncTimeout).then(() => 'synced' as const);
    syncing.catch(() => {}); // a rejection after a shutdown request won the race below is moot
    const synced = await Promise.race([syncing, trigger.requested]);
    if (synced !== 'synced') return await finish(0);
  } catch (err) {
    logger.error({ err }, `informer caches did not sync (--cache-sync-timeout=${options.cacheSyncTimeout}ms): ${errorMessage(err)}`);
    return finish(1);
  }
  logger.info({ resourceVersion: cache.resourceVersion() }, 'informer caches synced');

  for (const b of built) {
    if (trigger.isRequested()) break;
    try {
      await b.controller.start();
      b.started = true;
      logger.info({ controller: b.name }, 'controller started');
    } catch (err) {
      logger.error({ controller: b.name, err }, `controller ${b.name} failed to start: ${errorMessage(err)}`);
      return finish(1);
    }
  }
  if (!trigger.isRequested()) {
    const info: AgentInfo = { nodeName, controllers: built.map((b) => b.name), healthUrl: health?.url, metricsUrl: metrics?.url };
    logger.info(info, 'agent running');
    params.onReady?.(info);
  }
  await trigger.requested;
  return finish(0);
}
