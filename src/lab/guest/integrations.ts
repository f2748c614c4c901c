// INTEGRATION POINTS with the lab components other work builds: the lab API
// server, the controller-manager, the kubelet and the scenario runner's guest
// side. Each is loaded with a dynamic import so that the supervisor builds and
// boots before the module exists; when it is missing the supervisor says so in
// its log and /v1/status ("components": {"kubelet": "not built yet"}).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabApiServer, LabApiServerOptions, StoredObject } from '../apiserver/types.js';
import type { Topology } from '../topology/topology.js';
import type { GuestContext, Stoppable } from './context.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Imports dist/src/lab/<rel> if it was built; undefined otherwise. */
async function optionalModule(rel: string): Promise<Record<string, unknown> | undefined> {
  const path = join(here, '..', rel);
  if (!existsSync(path)) return undefined;
  return (await import(path)) as Record<string, unknown>;
}

export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';

/** The lab API server (src/lab/apiserver/index.ts: startLabApiServer). */
export async function startApiServer(opts: LabApiServerOptions): Promise<LabApiServer | 'missing'> {
  const mod = await optionalModule('apiserver/index.js');
  const start = mod?.startLabApiServer as ((o: LabApiServerOptions) => LabApiServer | Promise<LabApiServer>) | undefined;
  if (start === undefined) return 'missing';
  return await start(opts);
}

/**
 * The controller-manager (src/lab/cluster/controller-manager/index.ts:
 * startControllerManager). It registers the Node objects, allocates podCIDRs,
 * ClusterIPs and NodePorts and maintains EndpointSlices. The options passed
 * here are what the supervisor knows; adjust to the module's real signature
 * when it lands. Without it, registerNodesFallback() creates the Node objects.
 */
export async function startControllerManager(ctx: GuestContext): Promise<Stoppable | 'missing'> {
  const mod = await optionalModule('cluster/controller-manager/index.js');
  const start = mod?.startControllerManager as ((o: Record<string, unknown>) => Stoppable | Promise<Stoppable>) | undefined;
  if (start === undefined) return 'missing';
  return await start({
    store: ctx.api.store,
    clusterCidr: CLUSTER_CIDR,
    serviceCidr: SERVICE_CIDR,
    nodePortRange: '30000-32767',
    nodes: ctx.topology.nodes.map((n) => ({ name: n.name, internalIP: n.ip })),
  });
}

/** Until the controller-manager exists: Node objects with InternalIP/Hostname and a podCIDR, so kubectl and the agents see the nodes. */
export function registerNodesFallback(ctx: GuestContext): void {
  for (const n of ctx.topology.nodes) {
    if (ctx.api.store.get('Node', undefined, n.name) !== undefined) continue;
    const cidr = `10.244.${n.index - 1}.0/24`;
    const node: StoredObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' } },
      spec: { podCIDR: cidr, podCIDRs: [cidr] },
      status: {
        addresses: [
          { type: 'InternalIP', address: n.ip },
          { type: 'Hostname', address: n.name },
        ],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }],
      },
    };
    ctx.api.store.create('Node', node);
  }
}

/** The part of src/lab/cluster/kubelet's Kubelet the supervisor uses. */
interface KubeletLike extends Stoppable {
  podNetns(namespace: string, name: string): string | undefined;
}

/**
 * One kubelet per node (src/lab/cluster/kubelet/index.ts: startKubelet), run
 * in the supervisor process; commands go into the node with nsenter. The
 * kubelets answer the topology's pod lookups for `exec ns/pod`.
 */
export async function startKubelets(ctx: GuestContext): Promise<Map<string, KubeletLike> | 'missing'> {
  const mod = await optionalModule('cluster/kubelet/index.js');
  const start = mod?.startKubelet as ((o: Record<string, unknown>) => KubeletLike | Promise<KubeletLike>) | undefined;
  if (start === undefined) return 'missing';
  const kubelets = new Map<string, KubeletLike>();
  for (const n of ctx.topology.nodes) {
    const k = await start({
      store: ctx.api.store,
      nodeName: n.name,
      nodeIP: n.ip,
      nodeCommandPrefix: ctx.topology.argvFor({ kind: 'node', name: n.name }, ['true']).slice(0, -1),
      cniTemplatePath: join(ctx.config.checkout, 'cni', '10-kuberouter.conflist'),
    });
    kubelets.set(n.name, k);
  }
  installPodResolver(ctx.topology, kubelets);
  return kubelets;
}

function installPodResolver(topology: Topology, kubelets: Map<string, KubeletLike>): void {
  topology.setPodResolver((namespace, name) => {
    for (const [node, k] of kubelets) {
      const netns = k.podNetns(namespace, name);
      if (netns !== undefined) return { node, netns };
    }
    return undefined;
  });
}

/**
 * The scenario runner's guest side (src/lab/scenario/guest.ts, when it
 * exists): `registerGuestRoutes(ctx)` adds its streaming endpoints to
 * ctx.control (e.g. POST /v1/scenario/run answering JSON lines).
 */
export async function registerScenarioRoutes(ctx: GuestContext): Promise<boolean> {
  const mod = await optionalModule('scenario/guest.js');
  const register = mod?.registerGuestRoutes as ((c: GuestContext) => void | Promise<void>) | undefined;
  if (register === undefined) return false;
  await register(ctx);
  return true;
}
