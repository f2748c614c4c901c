// The small part of the CRI RuntimeService (runtime.v1) the agent needs,
// served by the lab kubelet on a unix socket per node: Version,
// ListPodSandbox (filters by id, state and labels, as kubelet sets them) and
// PodSandboxStatus, whose verbose `info` carries what containerd's does
// (the sandbox pid and the OCI runtime spec with the network namespace path).
// The node sees the socket at containerd's path (/run/containerd/
// containerd.sock, bound in by the node setup script), so the agent runs
// with its default --runtime-endpoint as on a real node. Same proto file as
// the agent's client (proto/cri/api.proto).

import * as grpc from '@grpc/grpc-js';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { criServiceDefinition } from '../../../cri/proto.js';
import type {
  WireListPodSandboxRequest,
  WireListPodSandboxResponse,
  WirePodSandbox,
  WirePodSandboxStatusRequest,
  WirePodSandboxStatusResponse,
  WireVersionResponse,
} from '../../../cri/proto.js';
import { LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from '../../../cri/types.js';
import type { LabSandbox } from './types.js';

/** Where a node's socket lives in the guest (the node setup binds the directory at /run/containerd). */
export function labCriDir(node: string): string {
  return `/run/lab-cri/${node}`;
}

function labels(s: LabSandbox): Record<string, string> {
  return { [LABEL_POD_NAMESPACE]: s.namespace, [LABEL_POD_NAME]: s.name, [LABEL_POD_UID]: s.uid };
}

function wire(s: LabSandbox): WirePodSandbox {
  return {
    id: s.id,
    metadata: { name: s.name, uid: s.uid, namespace: s.namespace, attempt: 0 },
    state: s.ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
    created_at: s.createdAtNs,
    labels: labels(s),
  };
}

/** containerd's verbose info: `{"pid": ..., "runtimeSpec": {"linux": {"namespaces": [...]}}}`. */
function verboseInfo(s: LabSandbox): string {
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (!s.hostNetwork && s.netnsPath) namespaces.push({ type: 'network', path: s.netnsPath });
  return JSON.stringify({ pid: s.pid ?? 0, processStatus: s.ready ? 'running' : 'created', runtimeSpec: { linux: { namespaces } } });
}

export function listSandboxes(all: readonly LabSandbox[], req: WireListPodSandboxRequest): WireListPodSandboxResponse {
  const f = req.filter;
  const items = all.filter((s) => {
    if (f?.id && f.id !== s.id) return false;
    if (f?.state && (f.state.state === 'SANDBOX_READY') !== s.ready) return false;
    const l = labels(s);
    for (const [k, v] of Object.entries(f?.label_selector ?? {})) if (l[k] !== v) return false;
    return true;
  });
  return { items: items.map(wire) };
}

export function sandboxStatus(all: readonly LabSandbox[], req: WirePodSandboxStatusRequest): WirePodSandboxStatusResponse | undefined {
  const s = all.find((x) => x.id === req.pod_sandbox_id);
  if (!s) return undefined;
  return {
    status: {
      ...wire(s),
      network: { ip: s.ips[0] ?? '', additional_ips: s.ips.slice(1).map((ip) => ({ ip })) },
      linux: { namespaces: { options: { network: s.hostNetwork ? 'NODE' : 'POD' } } },
    },
    info: req.verbose ? { info: verboseInfo(s) } : {},
  };
}

export interface CriServer {
  socket: string;
  stop(): Promise<void>;
}

/** Serves `sandboxes()` at `socket` (a stale socket file is replaced). */
export async function startCriServer(socket: string, sandboxes: () => LabSandbox[]): Promise<CriServer> {
  await mkdir(dirname(socket), { recursive: true });
  await rm(socket, { force: true });
  const server = new grpc.Server();
  type Cb<T> = grpc.sendUnaryData<T>;
  server.addService(criServiceDefinition(), {
    Version: (_call: grpc.ServerUnaryCall<unknown, WireVersionResponse>, cb: Cb<WireVersionResponse>) =>
      cb(null, { version: '0.1.0', runtime_name: 'kube-router-lab', runtime_version: '0.1.0', runtime_api_version: 'v1' }),
    ListPodSandbox: (call: grpc.ServerUnaryCall<WireListPodSandboxRequest, WireListPodSandboxResponse>, cb: Cb<WireListPodSandboxResponse>) =>
      cb(null, listSandboxes(sandboxes(), call.request)),
    PodSandboxStatus: (call: grpc.ServerUnaryCall<WirePodSandboxStatusRequest, WirePodSandboxStatusResponse>, cb: Cb<WirePodSandboxStatusResponse>) => {
      const res = sandboxStatus(sandboxes(), call.request);
      if (res) cb(null, res);
      else cb({ code: grpc.status.NOT_FOUND, details: `an error occurred when try to find sandbox "${call.request.pod_sandbox_id ?? ''}": not found` });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return {
    socket,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
