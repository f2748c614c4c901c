// The lab components the supervisor runs in-process: the lab API server
// (src/lab/apiserver), the controller-manager (src/lab/cluster/controller-manager),
// the scheduler and one kubelet per node (src/lab/cluster/kubelet), and the
// scenario runner's guest routes (src/lab/scenario/guest.ts).

import { join } from 'node:path';
import { startLabApiServer } from '../apiserver/index.js';
import type { LabApiServer, LabApiServerOptions } from '../apiserver/types.js';
import { startControllerManager as startCm, type ControllerManager, type LabNodeSpec } from '../cluster/controller-manager/index.js';
import { startKubelet, startScheduler, type Kubelet } from '../cluster/kubelet/index.js';
import { labCriDir, startCriServer } from '../cluster/kubelet/cri-server.js';
import { registerGuestRoutes } from '../scenario/guest.js';
import { UNDERLAY } from '../topology/types.js';
import type { GuestContext, Stoppable } from './context.js';
import { fileLogger } from './file-logger.js';

export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';
/** The IPv6 halves of a dual-stack lab: a /64 per node out of the /56, and a /112 of ClusterIPs. */
export const CLUSTER_CIDR6 = 'fd00:10:244::/56';
export const SERVICE_CIDR6 = 'fd00:10:96::/112';

export function startApiServer(opts: LabApiServerOptions): Promise<LabApiServer> {
  return startLabApiServer(opts);
}

/** The lab nodes as the controller-manager registers them (InternalIP, labels from the guest config). */
export function labNodeSpecs(ctx: GuestContext): LabNodeSpec[] {
  return ctx.topology.nodes.map((n) => {
    const labels = ctx.config.nodeLabels?.[n.name];
    return { name: n.name, internalIP: n.ip, ...(n.ip6 !== undefined ? { internalIP6: n.ip6 } : {}), ...(labels !== undefined ? { labels } : {}) };
  });
}

/**
 * Registers the nodes (InternalIP, labels), allocates podCIDRs, ClusterIPs
 * and NodePorts (inside the API server's writes, through its admission
 * hooks: a created Service comes back with its ClusterIP), maintains
 * EndpointSlices and the `kubernetes` Service pointing at the API server on
 * the underlay bridge.
 */
export function startControllerManager(ctx: GuestContext): Promise<ControllerManager> {
  return startCm({
    store: ctx.api.store,
    nodes: labNodeSpecs(ctx),
    clusterCidr: ctx.config.dualStack ? [CLUSTER_CIDR, CLUSTER_CIDR6] : CLUSTER_CIDR,
    serviceCidr: ctx.config.dualStack ? [SERVICE_CIDR, SERVICE_CIDR6] : SERVICE_CIDR,
    nodePortRange: [30000, 32767],
    apiServerEndpoint: { ip: UNDERLAY.bridgeIp, port: ctx.config.apiPort },
    logger: fileLogger(join(ctx.config.logsDir, 'controller-manager.log')),
  });
}

/** The scheduler (pods without spec.nodeName, round-robin) and one kubelet per node, in this process; commands enter the node with nsenter. */
export async function startKubelets(ctx: GuestContext): Promise<Map<string, Stoppable>> {
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
  // Each node's CRI endpoint (DSR finds pod namespaces through it), at
  // /run/containerd/containerd.sock in the node's mount namespace.
  for (const k of kubelets) {
    const cri = await startCriServer(join(labCriDir(k.nodeName), 'containerd.sock'), () => k.sandboxes());
    started.set(`cri/${k.nodeName}`, cri);
  }
  installPodResolver(ctx, kubelets);
  return started;
}

/** `exec ns/pod` and the scenario runner find pods through the kubelets (hostNetwork pods resolve to their node). */
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

/** The scenario runner's endpoints (POST /v1/scenario/run) on the control API. */
export function registerScenarioRoutes(ctx: GuestContext): void {
  registerGuestRoutes(ctx);
}
