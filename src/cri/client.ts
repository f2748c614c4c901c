// PodSandboxLookup over the CRI gRPC API (runtime.v1) on a unix socket:
// ListPodSandbox by kubelet's pod labels (ready sandboxes, newest first),
// then a verbose PodSandboxStatus for the namespace path (sandbox-netns.ts).
// The socket is --runtime-endpoint (containerd's by default).

import * as grpc from '@grpc/grpc-js';
import { access } from 'node:fs/promises';
import { KubeRouterError, errorMessage } from '../errors.js';
import { criServiceDefinition } from './proto.js';
import type { WireListPodSandboxRequest, WireListPodSandboxResponse, WirePodSandboxStatusRequest, WirePodSandboxStatusResponse, WireVersionResponse } from './proto.js';
import { netnsCandidates } from './sandbox-netns.js';
import { DEFAULT_RUNTIME_ENDPOINT, LABEL_POD_NAME, LABEL_POD_NAMESPACE, type PodNetns, type PodSandboxLookup } from './types.js';

/** `unix:///path`, `unix:/path` or `/path` → grpc-js's `unix:///path`; anything else is refused (kube-router supports unix sockets only). */
export function runtimeTarget(endpoint: string): string {
  const e = endpoint.trim() === '' ? DEFAULT_RUNTIME_ENDPOINT : endpoint.trim();
  let path: string | undefined;
  if (e.startsWith('unix://')) path = e.slice('unix://'.length);
  else if (e.startsWith('unix:')) path = e.slice('unix:'.length);
  else if (e.startsWith('/')) path = e;
  if (path === undefined || !path.startsWith('/')) {
    throw new KubeRouterError('KR_ERR_FLAG', `invalid value "${endpoint}" for flag --runtime-endpoint: expected a unix socket (unix:///run/containerd/containerd.sock)`, {
      field: '--runtime-endpoint',
      value: endpoint,
    });
  }
  return `unix://${path}`;
}

export interface CriClientOptions {
  endpoint: string;
  timeoutMs?: number;
}

export class CriClient implements PodSandboxLookup {
  readonly target: string;
  private readonly client: grpc.Client;
  private readonly def = criServiceDefinition();
  private readonly timeoutMs: number;

  constructor(opts: CriClientOptions) {
    this.target = runtimeTarget(opts.endpoint);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.client = new grpc.Client(this.target, grpc.credentials.createInsecure());
  }

  private call<Req extends object, Res>(method: 'Version' | 'ListPodSandbox' | 'PodSandboxStatus', req: Req, subject: string): Promise<Res> {
    const m = this.def[method];
    const call = `runtime.v1.RuntimeService/${method}`;
    return new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest<Req, Res>(
        m.path,
        (x: Req) => m.requestSerialize(x),
        (b: Buffer) => m.responseDeserialize(b) as Res,
        req,
        { deadline: Date.now() + this.timeoutMs },
        (err, res) => {
          if (err || res === undefined) {
            const why = err ? `${grpc.status[err.code] ?? err.code}: ${err.details || errorMessage(err)}` : 'empty response';
            reject(new KubeRouterError('KR_ERR_CRI', `${subject}: ${call} on ${this.target}: ${why}`, { object: subject, call, endpoint: this.target }, { cause: err ?? undefined }));
          } else resolve(res);
        },
      );
    });
  }

  /** runtime name and version (a reachability check). */
  async version(): Promise<WireVersionResponse> {
    return this.call<{ version: string }, WireVersionResponse>('Version', { version: 'v1' }, 'runtime');
  }

  async podNetns(namespace: string, name: string): Promise<PodNetns> {
    const pod = `${namespace}/${name}`;
    const req: WireListPodSandboxRequest = {
      filter: { state: { state: 'SANDBOX_READY' }, label_selector: { [LABEL_POD_NAMESPACE]: namespace, [LABEL_POD_NAME]: name } },
    };
    const list = await this.call<WireListPodSandboxRequest, WireListPodSandboxResponse>('ListPodSandbox', req, `Pod ${pod}`);
    const ready = (list.items ?? [])
      .filter((s) => s.state === 'SANDBOX_READY' && s.id)
      .sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0));
    if (ready.length === 0) {
      throw new KubeRouterError('KR_ERR_CRI', `Pod ${pod}: no ready sandbox on ${this.target} (runtime.v1.RuntimeService/ListPodSandbox)`, {
        object: `Pod ${pod}`,
        call: 'runtime.v1.RuntimeService/ListPodSandbox',
      });
    }
    const id = ready[0].id as string;
    const status = await this.call<WirePodSandboxStatusRequest, WirePodSandboxStatusResponse>('PodSandboxStatus', { pod_sandbox_id: id, verbose: true }, `Pod ${pod}`);
    const candidates = netnsCandidates(pod, status);
    for (const path of candidates) {
      try {
        await access(path);
        return { pod, sandboxId: id, path };
      } catch {
        // next candidate
      }
    }
    throw new KubeRouterError('KR_ERR_CRI', `Pod ${pod}: sandbox ${id}: none of its network namespace paths exists here (${candidates.join(', ')}); does the agent run with hostPID?`, {
      object: `Pod ${pod}`,
      call: 'runtime.v1.RuntimeService/PodSandboxStatus',
    });
  }

  close(): void {
    this.client.close();
  }
}
