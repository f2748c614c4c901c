// The lab's node topology inside the guest: N node namespaces on an underlay
// bridge, optionally the last one in a second subnet behind a router, and
// optionally an external BGP peer namespace on the underlay.

export interface TopologyOptions {
  /** node1..nodeN (default 3). */
  nodes: number;
  /** The last node in 192.168.57.0/24 behind a router namespace. */
  secondSubnet?: boolean;
  /** Also IPv6 on the underlay (fd00:56::/64, and fd00:57::/64 behind the router with secondSubnet): dual-stack nodes. */
  dualStack?: boolean;
}

export interface LabNode {
  name: string;
  /** 1-based. */
  index: number;
  /** Underlay address (eth0 in the node). */
  ip: string;
  /** IPv6 underlay address with dualStack (fd00:56::1x; fd00:57::1x behind the router), else undefined. */
  ip6?: string;
  /** Prefix of the node's subnet, e.g. 192.168.56.0/24. */
  subnet: string;
  gateway: string;
  /** The IPv6 default gateway with dualStack (lab-br0's fd00:56::1, or the router's fd00:57::1), else undefined. */
  gateway6?: string;
  /** /run/netns/<name>. */
  netnsPath: string;
  /** Pins of the node's own mount and UTS namespaces (enter with nsenter --mount= --uts=). */
  mntPin: string;
  utsPin: string;
}

export interface LabRouter {
  name: string;
  /** Addresses on the first and the second subnet. */
  ips: [string, string];
  /** IPv6 addresses on the first and the second subnet with dualStack (fd00:56::254, fd00:57::1), else undefined. */
  ips6?: [string, string];
  netnsPath: string;
}

/** The external BGP peer (BIRD) on the underlay, added while a scenario asks for it. */
export interface LabPeer {
  name: string;
  ip: string;
  /** Its IPv6 address in a dual-stack lab (fd00:56::254). */
  ip6?: string;
  asn: number;
  netnsPath: string;
}

/** Where a command runs: the guest root, a node (its net, mount and UTS namespaces), the router, or a pod. */
export type ExecTarget =
  | { kind: 'root' }
  | { kind: 'node'; name: string }
  | { kind: 'pod'; namespace: string; name: string };

/** Where a pod's network lives, as the kubelet recorded it. */
export interface PodLocation {
  /** Node the pod runs on. */
  node: string;
  /** Network namespace name under /run/netns (ignored when hostNetwork). */
  netns: string;
  hostNetwork?: boolean;
}

/** The kubelet registers this so that `exec ns/pod` finds the pod's namespace. */
export type PodResolver = (namespace: string, name: string) => PodLocation | undefined;

export const UNDERLAY = {
  bridge: 'lab-br0',
  bridgeIp: '192.168.56.1',
  subnet: '192.168.56.0/24',
  prefix: '192.168.56',
  second: { bridge: 'lab-br1', subnet: '192.168.57.0/24', prefix: '192.168.57', routerIp1: '192.168.56.254', routerIp2: '192.168.57.1' },
  /** The external peer's address (the router's on the first subnet: the two never coexist) and AS. */
  peer: { name: 'peer', ip: '192.168.56.254', ip6: 'fd00:56::254', asn: 64513 },
  /** The IPv6 underlay of a dual-stack lab: lab-br0 is ::1, node i is ::(10+i). */
  v6: {
    bridgeIp: 'fd00:56::1',
    prefix: 'fd00:56::',
    subnet: 'fd00:56::/64',
    /** The second subnet's IPv6 twin (dualStack with secondSubnet): the router is ::254 / ::1 as in IPv4, node i is fd00:57::(10+i). */
    second: { subnet: 'fd00:57::/64', prefix: 'fd00:57::', routerIp1: 'fd00:56::254', routerIp2: 'fd00:57::1' },
  },
  /** Where the node mount/UTS namespace pins live (a private bind mount). */
  pinDir: '/run/lab/ns',
} as const;

export function nodeName(i: number): string {
  return `node${i}`;
}

/** Parses `root`, `guest`, `nodeN`, `router`, `peer` or `ns/pod`. */
export function parseTarget(text: string): ExecTarget {
  if (text === 'root' || text === 'guest' || text === '') return { kind: 'root' };
  const slash = text.indexOf('/');
  if (slash > 0) return { kind: 'pod', namespace: text.slice(0, slash), name: text.slice(slash + 1) };
  return { kind: 'node', name: text };
}

export function targetName(t: ExecTarget): string {
  return t.kind === 'root' ? 'root' : t.kind === 'node' ? t.name : `${t.namespace}/${t.name}`;
}
