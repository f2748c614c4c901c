// The LabCluster interface: everything the scenario runner needs from a lab
// cluster, and nothing more. The guest supervisor (src/lab/guest/) implements
// it against the real VM; src/lab/scenario/fake-cluster.ts implements it in
// memory for the runner's unit tests.
//
// The runner resolves every scenario target (`x/a`, `service:ns/name`, ...)
// to addresses itself, through get/list/nodes, so an implementation only ever
// sees IPs, ports and the place a probe or command runs from.

import type { StoredObject } from '../apiserver/types.js';
import type { IpFamily } from './family.js';

/** The `cluster:` section of a scenario file, defaults applied. */
export interface ClusterSpec {
  /** node1..nodeN. */
  nodes: number;
  /** The last node sits in a second subnet behind a router namespace. */
  secondSubnet: boolean;
  /** Extra flags for every agent. */
  agentArgs: string[];
  /** An FRR or BIRD router namespace on the underlay, AS 64513. */
  externalPeer: boolean;
  /** IPv6 next to IPv4 (underlay, pod and Service CIDRs); present only when true. */
  dualStack?: boolean;
}

export const DEFAULT_CLUSTER_SPEC: Readonly<ClusterSpec> = Object.freeze({
  nodes: 3,
  secondSubnet: false,
  agentArgs: [],
  externalPeer: false,
});

export function sameClusterSpec(a: ClusterSpec, b: ClusterSpec): boolean {
  return (
    a.nodes === b.nodes &&
    a.secondSubnet === b.secondSubnet &&
    a.externalPeer === b.externalPeer &&
    (a.dualStack ?? false) === (b.dualStack ?? false) &&
    a.agentArgs.length === b.agentArgs.length &&
    a.agentArgs.every((arg, i) => arg === b.agentArgs[i])
  );
}

/** Where a probe, a held connection or a command runs: a node's (or router's) namespace, or a pod's. */
export type Place = { kind: 'node'; name: string } | { kind: 'pod'; namespace: string; name: string };

export function placeName(p: Place): string {
  return p.kind === 'node' ? p.name : `${p.namespace}/${p.name}`;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

export interface ProbeRequest {
  from: Place;
  toIP: string;
  port: number;
  protocol: Protocol;
  /** How long to wait for a connection (TCP, SCTP) or a reply (UDP). */
  timeoutMs: number;
}

export interface ProbeResult {
  /** TCP/SCTP: the connection was established; UDP: a reply datagram arrived. */
  connected: boolean;
  /** What the responder sent back (`<namespace>/<name>` for lab pods), if anything. */
  body?: string;
  /** The client address the responder saw (`ip:port`), when it said. Body patterns may match `<body> client=<ip>:<port>`. */
  client?: string;
  /** Why it did not connect, for the report (e.g. `timeout`, `ECONNREFUSED`). */
  error?: string;
  /** Time the probe took. */
  ms?: number;
}

export interface ExecResult {
  exitCode: number;
  /** stdout and stderr, interleaved as they came. */
  output: string;
}

export interface HoldResult {
  /** The connection failed (reset, closed, or a line was not echoed) at some point while held. */
  broken: boolean;
  /** Longest time between two successful exchanges while held. */
  maxGapMs: number;
  error?: string;
}

export interface SettleResult {
  settled: boolean;
  /** What was still pending when the timeout hit, e.g. `agent node2 at rv 120 < 131`, `pod x/a Pending`. */
  pending: string[];
}

export interface NodeInfo {
  name: string;
  /** The node's InternalIP (first) and any other addresses. */
  ips: string[];
  /** The node's IPv6 underlay address in a dual-stack lab (fd00:56::1x, fd00:57::1x behind the router); absent otherwise. */
  ip6?: string;
  /** `node` for cluster nodes; `router` / `peer` for the other namespaces a probe may run from. */
  role: 'node' | 'router' | 'peer';
}

export interface LabCluster {
  /**
   * Brings the cluster to this shape. Restarts agents (and re-creates nodes,
   * the router and the external peer) only when the spec differs from the
   * current one; otherwise returns at once. With `family: 'ipv6'` (a
   * `--family ipv6` run) the spec is taken as that run's: dual-stack, agents
   * with IPv6 enabled and their IPv4 ranges extended with their IPv6 twins;
   * rejects when the lab is not dual-stack.
   */
  configure(spec: ClusterSpec, family?: IpFamily): Promise<void>;
  /** Deletes every object created through apply() since the last reset (pods are gone, not just terminating, when it resolves). */
  reset(): Promise<void>;
  /** Creates or replaces each object, in order. Throws (a KubeRouterError naming the object) when the API server rejects one. */
  apply(objects: StoredObject[]): Promise<void>;
  /** Deletes the objects; a missing object is not an error. */
  delete(refs: ObjectRef[]): Promise<void>;
  get(kind: string, namespace: string | undefined, name: string): Promise<StoredObject | undefined>;
  list(kind: string, namespace?: string): Promise<StoredObject[]>;
  /** Waits until every running agent has synced the latest resourceVersion and every pod is Running with an IP. */
  settle(timeoutMs: number): Promise<SettleResult>;
  /** Runs every probe in parallel; results in request order. */
  probe(batch: ProbeRequest[]): Promise<ProbeResult[]>;
  exec(on: Place, cmd: string, timeoutMs: number): Promise<ExecResult>;
  /**
   * Opens a TCP connection that exchanges a line every 100 ms until release().
   * Resolves once connected; rejects if the connection cannot be opened.
   */
  hold(name: string, from: Place, toIP: string, port: number): Promise<void>;
  release(name: string): Promise<HoldResult>;
  /** Sends the signal to the node's agent, waits for it to exit, starts it again with the same flags. */
  restartAgent(node: string, signal: 'TERM' | 'KILL'): Promise<void>;
  /** SIGTERM, then waits for the agent to exit. */
  stopAgent(node: string): Promise<void>;
  /**
   * Starts the node's agent with the cluster's flags plus `args`. With
   * `wait: 'exit'` (a one-off run such as --cleanup-config) resolves with its
   * exit status; with `'running'` once it is up (resolves with null).
   */
  startAgent(node: string, args: string[], wait: 'exit' | 'running'): Promise<number | null>;
  /** Stops the API server, waits, starts it again (same store, same port). */
  restartApiServer(downForMs: number): Promise<void>;
  /** The nodes (node1..nodeN), then the router and the external peer when present. */
  nodes(): Promise<NodeInfo[]>;
}
