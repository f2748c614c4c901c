// Public types of the lab kubelet.

import type { ObjectStore } from '../../apiserver/types.js';
import type { ExecInNode, ExecResult, NodeRunner } from './runner.js';
import type { HoldHandle, ProbeResult, ProbeSpec } from './probe.js';

/** The subset of a pino logger the kubelet uses (a pino Logger fits). */
export interface LabLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: LabLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface KubeletOptions {
  store: ObjectStore;
  nodeName: string;
  /** The node's InternalIP (hostIP of its pods, podIP of hostNetwork pods). */
  nodeIP: string;
  /**
   * How to run commands in the node's net+mount namespaces: `runner` (e.g.
   * wrapRunner((argv) => topology.argvFor({kind: 'node', name}, argv))), or
   * `nodeCommandPrefix` (e.g. ['ip','netns','exec','node1'] on a host).
   * `execInNode`, if given, runs the short commands instead (stdin through
   * the environment); long-lived processes still use runner/prefix.
   */
  runner?: NodeRunner;
  nodeCommandPrefix?: string[];
  execInNode?: ExecInNode;
  /**
   * Where `ip netns add/del` of pod namespaces run. Default: the kubelet's own
   * namespaces, whose /run/netns must propagate into the node's view (a peer
   * in the lab's topology; a master of `ip netns exec`'s slave on a host). A
   * node entered with `ip netns exec` cannot create them itself: its mounts
   * do not propagate back.
   */
  netnsRunner?: NodeRunner;
  /** The node's podCIDR(s) when not read from the Node object (spec.podCIDRs / spec.podCIDR). */
  podCIDRs?: () => string[] | undefined;
  /** In the node's mount view. Default /etc/cni/net.d. */
  cniConfDir?: string;
  /** In the node's mount view. Default /usr/lib/cni (Debian's containernetworking-plugins). */
  cniBinDir?: string;
  /** Installed into cniConfDir when it has no config. Default <checkout>/cni/10-kuberouter.conflist. */
  cniTemplatePath?: string;
  /** host-local `dataDir` written into an installed template (tests; default host-local's /var/lib/cni/networks). */
  cniIpamDataDir?: string;
  /**
   * Where the kubelet keeps its per-pod records (kubelet's own mount view), so
   * a restarted kubelet adopts its pods. Default /run/kube-router-lab/kubelet/<nodeName>.
   */
  stateDir?: string;
  /** How often the kubelet relists its pods and checks adopted responders are alive (default 10 s). */
  resyncIntervalMs?: number;
  /** Pods set up at the same time (default 4). */
  concurrency?: number;
  logger?: LabLogger;
}

export interface PodRef {
  namespace: string;
  name: string;
}

/** Where a pod's network lives (the topology's PodResolver answer). */
export interface PodLocation {
  node: string;
  /** Network namespace name under /run/netns ('' for hostNetwork pods). */
  netns: string;
  hostNetwork?: boolean;
}

/** A pod's sandbox as the lab's CRI endpoint reports it (cri-server.ts). */
export interface LabSandbox {
  id: string;
  namespace: string;
  name: string;
  uid: string;
  /** Set up completely (CNI done, responder started). */
  ready: boolean;
  hostNetwork: boolean;
  createdAtNs: number;
  /** `/run/netns/<name>` (the same path in the guest and in every node's mount namespace). */
  netnsPath?: string;
  /** A process inside the pod's network namespace (its responder), when one runs. */
  pid?: number;
  ips: string[];
}

export interface Kubelet {
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly runner: NodeRunner;
  /** Network namespace name of a pod on this node (under /run/netns in the node's view); undefined for hostNetwork or unknown pods. */
  podNetns(namespace: string, name: string): string | undefined;
  /** The pod's node and netns, for the topology's exec helper (setPodResolver). */
  locate(namespace: string, name: string): PodLocation | undefined;
  /** Whether `source` (`ns/name` of a pod here, or this node's name) is served by this kubelet. */
  owns(source: string): boolean;
  /** The pods' sandboxes, for the lab's CRI endpoint. */
  sandboxes(): LabSandbox[];
  /** Runs argv in the pod's network namespace (the node's for hostNetwork pods). */
  execInPod(namespace: string, name: string, argv: string[], input?: string): Promise<ExecResult>;
  /** Runs one prober process from `source` (`ns/name` of a pod here, or the node's name) with all probes concurrently. */
  probeFrom(source: string, probes: ProbeSpec[]): Promise<ProbeResult[]>;
  /** Holds a TCP connection from `source`, exchanging a line every 100 ms. */
  hold(source: string, ip: string, port: number): Promise<HoldHandle>;
  /** Resolves when every pod bound here that is not terminating has been set up (or failed), and none is being torn down. */
  idle(timeoutMs?: number): Promise<void>;
  /**
   * Stops watching. Pods stay as they are (netns, responders) for a later
   * kubelet to adopt, unless `teardownPods`: then every pod here is removed
   * from the node (responder killed, CNI DEL, netns deleted), the API objects untouched.
   */
  stop(opts?: { teardownPods?: boolean }): Promise<void>;
}
