// The kubelet's CNI glue for one node: which config a pod's ADD uses (the
// node's, or the cni/ template installed with the node's podCIDR when there
// is none) and the runtime arguments of a pod's plugin calls.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ObjectStore, StoredObject } from '../../apiserver/types.js';
import { KubeRouterError } from '../../../errors.js';
import { installCniTemplate, loadCniConfig, type CniRuntime, type LoadedCniConfig } from './cni.js';
import type { PortDecl } from './responder.js';
import type { NodeRunner } from './runner.js';
import type { PodRecord } from './state.js';
import type { LabLogger } from './types.js';

export interface PodSpecView {
  nodeName?: string;
  hostNetwork?: boolean;
  containers?: { name: string; ports?: (PortDecl & { hostPort?: number; hostIP?: string })[] }[];
}

export function specOf(pod: StoredObject): PodSpecView {
  return (pod.spec ?? {}) as PodSpecView;
}

/** <checkout>/cni/10-kuberouter.conflist, found from src/ or dist/src/. */
export function defaultCniTemplatePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'cni', '10-kuberouter.conflist');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new KubeRouterError('KR_ERR_LAB', 'cannot find cni/10-kuberouter.conflist of this checkout: pass cniTemplatePath');
}

export interface NodeCniContext {
  runner: NodeRunner;
  store: ObjectStore;
  nodeName: string;
  confDir: string;
  templatePath?: string;
  ipamDataDir?: string;
  podCIDRs?: () => string[] | undefined;
  /** `ns/name` of the pod asking, for errors. */
  pod: string;
  log: LabLogger;
}

/** The node's CNI config; installs the template with the node's podCIDR(s) first when the node has none. */
export async function nodeCniConfig(c: NodeCniContext): Promise<LoadedCniConfig> {
  const found = await loadCniConfig(c.runner, c.confDir);
  if (found) return found;
  const node = c.store.get('Node', undefined, c.nodeName);
  const spec = (node?.spec ?? {}) as { podCIDR?: string; podCIDRs?: string[] };
  const cidrs = c.podCIDRs?.() ?? (spec.podCIDRs?.length ? spec.podCIDRs : spec.podCIDR ? [spec.podCIDR] : []);
  if (cidrs.length === 0) {
    throw new KubeRouterError('KR_ERR_LAB', `pod ${c.pod}: node ${c.nodeName} has no CNI config in ${c.confDir} and no podCIDR yet`, {
      object: `Node ${c.nodeName}`,
      field: 'spec.podCIDR',
    });
  }
  const file = await installCniTemplate(c.runner, c.confDir, c.templatePath ?? defaultCniTemplatePath(), cidrs, c.ipamDataDir);
  c.log.info({ node: c.nodeName, file: `${c.confDir}/${file}`, podCIDRs: cidrs }, 'installed CNI config template');
  const loaded = await loadCniConfig(c.runner, c.confDir);
  if (!loaded) throw new KubeRouterError('KR_ERR_LAB', `CNI config ${c.confDir}/${file} not readable after install`);
  return loaded;
}

/** CNI_* arguments of a pod's plugin calls; hostPorts become the portMappings capability. */
export function cniRuntimeFor(rec: PodRecord, binDir: string, pod?: StoredObject): CniRuntime {
  const portMappings = pod
    ? (specOf(pod).containers ?? []).flatMap((c) =>
        (c.ports ?? [])
          .filter((p) => p.hostPort)
          .map((p) => ({
            hostPort: p.hostPort,
            containerPort: p.containerPort,
            protocol: (p.protocol ?? 'TCP').toLowerCase(),
            ...(p.hostIP ? { hostIP: p.hostIP } : {}),
          })),
      )
    : [];
  return {
    containerID: rec.containerID ?? rec.uid,
    netnsPath: `/run/netns/${rec.netns}`,
    ifName: 'eth0',
    binDir,
    pod: { namespace: rec.namespace, name: rec.name },
    ...(portMappings.length ? { capabilityArgs: { portMappings } } : {}),
  };
}
