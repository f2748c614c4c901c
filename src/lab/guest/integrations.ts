// The lab components the supervisor runs in-process: the lab API server
// (src/lab/apiserver), the controller-manager (src/lab/cluster/controller-manager),
// the scheduler and one kubelet per node (src/lab/cluster/kubelet), and the
// scenario runner's guest routes (loaded only if built).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabApiServer, LabApiServerOptions } from '../apiserver/types.js';
import type { ControllerManager } from '../cluster/controller-manager/index.js';
import type { Kubelet } from '../cluster/kubelet/index.js';
import { UNDERLAY } from '../topology/types.js';
import type { GuestContext, Stoppable } from './context.js';
import { fileLogger } from './file-logger.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Loads a lab component (path relative to dist/src/lab/) at run time, so that
 * one component failing to load (another engineer's work in progress) costs
 * only that component: the supervisor reports it and carries on.
 */
export class ComponentLoadError extends Error {}

async function load<T>(rel: string): Promise<T> {
  const path = join(here, '..', rel);
  if (!existsSync(path)) throw new ComponentLoadError(`${rel} is not built`);
  try {
    return (await import(path)) as T;
  } catch (e) {
    throw new ComponentLoadError(`${rel} does not load: ${(e as Error).message.split('\n')[0]}`);
  }
}

export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';

export async function startApiServer(opts: LabApiServerOptions): Promise<LabApiServer> {
  const mod = await load<typeof import('../apiserver/index.js')>('apiserver/index.js');
  return mod.startLabApiServer(opts);
}

/**
 * Registers the nodes (InternalIP), allocates podCIDRs, ClusterIPs and
 * NodePorts, maintains EndpointSlices, the `kubernetes` Service pointing at
 * the API server on the underlay bridge. (Its admission hooks allocate
 * synchronously on create; the API server has no option to take them yet, so
 * allocation happens through the controller's watch.)
 */
export async function startControllerManager(ctx: GuestContext): Promise<ControllerManager & Stoppable> {
  const { startControllerManager: startCm } = await load<typeof import('../cluster/controller-manager/index.js')>('cluster/controller-manager/index.js');
  const cm = await startCm({
    store: ctx.api.store,
    nodes: ctx.topology.nodes.map((n) => ({ name: n.name, internalIP: n.ip })),
    clusterCidr: CLUSTER_CIDR,
    serviceCidr: SERVICE_CIDR,
    nodePortRange: [30000, 32767],
    apiServerEndpoint: { ip: UNDERLAY.bridgeIp, port: ctx.config.apiPort },
    logger: fileLogger(join(ctx.config.logsDir, 'controller-manager.log')),
  });
  return Object.assign(cm, {
    stop: async () => {
      cm.stop();
    },
  }) as ControllerManager & Stoppable;
}

/** The scheduler (pods without spec.nodeName, round-robin) and one kubelet per node, in this process; commands enter the node with nsenter. */
export async function startKubelets(ctx: GuestContext): Promise<Map<string, Stoppable>> {
  const { startKubelet, startScheduler } = await load<typeof import('../cluster/kubelet/index.js')>('cluster/kubelet/index.js');
  const started = new Map<string, Stoppable>();
  const logger = fileLogger(join(ctx.config.logsDir, 'kubelet.log'));
  const scheduler = startScheduler(ctx.api.store, { nodes: () => ctx.topology.nodes.map((n) => n.name), logger });
  started.set('scheduler', { stop: async () => scheduler.stop() });
  const kubelets = await Promise.all(
    ctx.topology.nodes.map((n) =>
      startKubelet({
        store: ctx.api.store,
        nodeName: n.name,
        nodeIP: n.ip,
        nodeCommandPrefix: ctx.topology.argvFor({ kind: 'node', name: n.name }, ['true']).slice(0, -1),
        logger,
      }),
    ),
  );
  for (const k of kubelets) started.set(`kubelet/${k.nodeName}`, { stop: () => k.stop() });
  installPodResolver(ctx, kubelets);
  return started;
}

function installPodResolver(ctx: GuestContext, kubelets: Kubelet[]): void {
  ctx.kubelets = kubelets;
  ctx.topology.setPodResolver((namespace, name) => {
    for (const k of kubelets) {
      const loc = k.locate(namespace, name);
      if (loc !== undefined) return loc;
    }
    return undefined;
  });
}

/**
 * INTEGRATION POINT (scenario runner): src/lab/scenario/guest.ts, when it
 * exists, exports `registerGuestRoutes(ctx)` adding its endpoints to
 * ctx.control (e.g. POST /v1/scenario/... answering JSON lines).
 */
export async function registerScenarioRoutes(ctx: GuestContext): Promise<boolean> {
  if (!existsSync(join(here, '..', 'scenario', 'guest.js'))) return false;
  const mod = await load<{ registerGuestRoutes?: (c: GuestContext) => void | Promise<void> }>('scenario/guest.js');
  if (mod.registerGuestRoutes === undefined) return false;
  await mod.registerGuestRoutes(ctx);
  return true;
}
