// What the agent asks the container runtime (CRI, runtime.v1): where a pod's
// network namespace is. Used by DSR to configure the VIP inside endpoint
// pods. Two implementations: client.ts (gRPC to containerd, CRI-O or the lab
// kubelet) and fake.ts (in memory, for unit tests).

/** A pod's network namespace, as a path the agent can open (`/proc/<pid>/ns/net` or `/var/run/netns/...`). */
export interface PodNetns {
  /** `namespace/name`. */
  pod: string;
  sandboxId: string;
  path: string;
}

export interface PodSandboxLookup {
  /** The network namespace of the pod's ready sandbox; rejects with a KR_ERR_CRI error naming the pod and the call. */
  podNetns(namespace: string, name: string): Promise<PodNetns>;
  close(): void;
}

/** The sandbox labels kubelet sets (and the lab kubelet too): how a pod's sandbox is found. */
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';

/** containerd's socket: the default of --runtime-endpoint. */
export const DEFAULT_RUNTIME_ENDPOINT = 'unix:///run/containerd/containerd.sock';
