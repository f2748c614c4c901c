// Where a sandbox's network namespace is, read from a PodSandboxStatus
// response. Pure. The CRI message itself only says the namespace mode; the
// runtimes put the details in the verbose `info` map under "info" (JSON):
// containerd and CRI-O give the sandbox `pid` and the OCI `runtimeSpec`,
// whose linux.namespaces entry of type "network" has the namespace's path.
// kube-router enters `/proc/<pid>/ns/net` (its DaemonSet runs with hostPID);
// the spec path works when /var/run/netns is mounted. Both are offered, pid
// first; the client uses the first that exists.

import { KubeRouterError } from '../errors.js';
import type { WirePodSandboxStatusResponse } from './proto.js';

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Candidate paths of the sandbox's network namespace, best first; throws when the pod has none of its own. */
export function netnsCandidates(pod: string, resp: WirePodSandboxStatusResponse): string[] {
  const call = 'runtime.v1.RuntimeService/PodSandboxStatus';
  const status = resp.status;
  if (!status) throw new KubeRouterError('KR_ERR_CRI', `pod ${pod}: ${call} returned no status`, { object: `Pod ${pod}`, call });
  if (status.linux?.namespaces?.options?.network === 'NODE') {
    throw new KubeRouterError('KR_ERR_CRI', `pod ${pod}: uses the host network (sandbox ${status.id ?? ''}): it has no network namespace of its own`, {
      object: `Pod ${pod}`,
      call,
    });
  }
  const raw = resp.info?.info;
  if (raw === undefined || raw === '') {
    throw new KubeRouterError('KR_ERR_CRI', `pod ${pod}: ${call} verbose response has no "info" entry (runtime does not report the sandbox pid or spec)`, {
      object: `Pod ${pod}`,
      call,
    });
  }
  let info: Record<string, unknown> | undefined;
  try {
    info = rec(JSON.parse(raw));
  } catch (e) {
    throw new KubeRouterError('KR_ERR_CRI', `pod ${pod}: ${call} "info" is not JSON: ${(e as Error).message}`, { object: `Pod ${pod}`, call });
  }
  const out: string[] = [];
  const pid = info?.pid;
  if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) out.push(`/proc/${pid}/ns/net`);
  const namespaces = rec(rec(info?.runtimeSpec)?.linux)?.namespaces;
  if (Array.isArray(namespaces)) {
    for (const n of namespaces) {
      const ns = rec(n);
      if (ns?.type === 'network' && typeof ns.path === 'string' && ns.path !== '') out.push(ns.path);
    }
  }
  if (out.length === 0) {
    throw new KubeRouterError('KR_ERR_CRI', `pod ${pod}: ${call} "info" has neither a pid nor a network namespace path`, { object: `Pod ${pod}`, call });
  }
  return out;
}
