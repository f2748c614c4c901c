// What the topology is made of, as data: the nodes' and the router's
// addresses and the `ip -batch` lines that set them up (in the guest root,
// the router and each node). Pure, so that the plan of a topology (the
// second subnet of a dual-stack lab in particular) is checked without
// namespaces; topology.ts runs it.

import { join } from 'node:path';
import { LabError } from '../vm/proc.js';
import { nodeName, UNDERLAY, type LabNode, type LabRouter, type TopologyOptions } from './types.js';

/** The options with their defaults, refused when no topology can hold them. */
export function checkedOptions(opts: TopologyOptions): Required<TopologyOptions> {
  if (opts.nodes < 1 || opts.nodes > 40) throw new LabError('topology', `nodes must be 1..40, got ${opts.nodes}`);
  if (opts.secondSubnet && opts.nodes < 2) throw new LabError('topology', 'secondSubnet needs at least 2 nodes');
  return { nodes: opts.nodes, secondSubnet: opts.secondSubnet ?? false, dualStack: opts.dualStack ?? false };
}

/** node1..nodeN; with secondSubnet the last one sits behind the router (192.168.57.1N, and fd00:57::1N with dualStack). */
export function planNodes(options: Required<TopologyOptions>): LabNode[] {
  const { nodes, secondSubnet, dualStack } = options;
  const out: LabNode[] = [];
  for (let i = 1; i <= nodes; i++) {
    const second = secondSubnet && i === nodes;
    const name = nodeName(i);
    const v6 = second ? UNDERLAY.v6.second : undefined;
    out.push({
      name,
      index: i,
      ip: `${second ? UNDERLAY.second.prefix : UNDERLAY.prefix}.${10 + i}`,
      subnet: second ? UNDERLAY.second.subnet : UNDERLAY.subnet,
      gateway: second ? UNDERLAY.second.routerIp2 : UNDERLAY.bridgeIp,
      // The same host number in both families: node3 is .13 and ::13 on either subnet.
      ...(dualStack ? { ip6: `${v6?.prefix ?? UNDERLAY.v6.prefix}${10 + i}`, gateway6: v6?.routerIp2 ?? UNDERLAY.v6.bridgeIp } : {}),
      netnsPath: `/run/netns/${name}`,
      mntPin: join(UNDERLAY.pinDir, `${name}.mnt`),
      utsPin: join(UNDERLAY.pinDir, `${name}.uts`),
    });
  }
  return out;
}

/** The router between the subnets (secondSubnet only), with its IPv6 addresses in a dual-stack lab. */
export function planRouter(options: Required<TopologyOptions>): LabRouter | undefined {
  if (!options.secondSubnet) return undefined;
  const s = UNDERLAY.second;
  const s6 = UNDERLAY.v6.second;
  return {
    name: 'router',
    ips: [s.routerIp1, s.routerIp2],
    ...(options.dualStack ? { ips6: [s6.routerIp1, s6.routerIp2] as [string, string] } : {}),
    netnsPath: '/run/netns/router',
  };
}

/** Is the node on the first subnet (lab-br0), where the second one is reached through the router? */
function onFirstSubnet(n: LabNode): boolean {
  return n.subnet === UNDERLAY.subnet;
}

/** The guest root's batch: namespaces, bridges, veths, and the root's route to the second subnet. */
export function underlayLines(options: Required<TopologyOptions>, nodes: readonly LabNode[], router: LabRouter | undefined): string[] {
  const root: string[] = [];
  for (const n of nodes) root.push(`netns add ${n.name}`);
  if (router) root.push(`netns add ${router.name}`);
  root.push(`link add ${UNDERLAY.bridge} type bridge`, `addr add ${UNDERLAY.bridgeIp}/24 dev ${UNDERLAY.bridge}`, `link set ${UNDERLAY.bridge} up`);
  // nodad: the address is usable at once (duplicate detection would hold it for a second or more).
  if (options.dualStack) root.push(`addr add ${UNDERLAY.v6.bridgeIp}/64 dev ${UNDERLAY.bridge} nodad`);
  if (router) {
    const s = UNDERLAY.second;
    root.push(`link add ${s.bridge} type bridge`, `link set ${s.bridge} up`);
    root.push(`link add veth-router0 type veth peer name eth0 netns ${router.name}`, `link set veth-router0 master ${UNDERLAY.bridge} up`);
    root.push(`link add veth-router1 type veth peer name eth1 netns ${router.name}`, `link set veth-router1 master ${s.bridge} up`);
    root.push(`route add ${s.subnet} via ${s.routerIp1}`);
    if (router.ips6) root.push(`route add ${UNDERLAY.v6.second.subnet} via ${router.ips6[0]}`);
  }
  for (const n of nodes) {
    const br = onFirstSubnet(n) ? UNDERLAY.bridge : UNDERLAY.second.bridge;
    root.push(`link add veth-${n.name} type veth peer name eth0 netns ${n.name}`, `link set veth-${n.name} master ${br} up`);
  }
  return root;
}

/** The router's batch: eth0 on lab-br0, eth1 on lab-br1, default route via the bridge (in each family it has). */
export function routerLines(router: LabRouter): string[] {
  const [ip1, ip2] = router.ips;
  const lines = ['link set lo up', `addr add ${ip1}/24 dev eth0`, 'link set eth0 up', `addr add ${ip2}/24 dev eth1`, 'link set eth1 up', `route add default via ${UNDERLAY.bridgeIp}`];
  if (router.ips6) {
    const [ip61, ip62] = router.ips6;
    lines.push(`addr add ${ip61}/64 dev eth0 nodad`, `addr add ${ip62}/64 dev eth1 nodad`, `route add default via ${UNDERLAY.v6.bridgeIp}`);
  }
  return lines;
}

/** The shell line (in the router's netns) that makes it forward between the subnets, IPv6 too in a dual-stack lab. */
export function routerForwardingScript(router: LabRouter): string {
  const lines = ['echo 1 > /proc/sys/net/ipv4/ip_forward'];
  if (router.ips6) lines.push('echo 1 > /proc/sys/net/ipv6/conf/all/forwarding');
  return lines.join('\n');
}

/** A node's batch: its addresses and default routes; on the first subnet, the route to the second via the router. */
export function nodeLines(n: LabNode, router: LabRouter | undefined): string[] {
  const lines = ['link set lo up', `addr add ${n.ip}/24 dev eth0`, 'link set eth0 up', `route add default via ${n.gateway}`];
  if (n.ip6 !== undefined) lines.push(`addr add ${n.ip6}/64 dev eth0 nodad`, `route add default via ${n.gateway6 ?? UNDERLAY.v6.bridgeIp}`);
  // A node on the first subnet reaches the second through the router, not its default gateway (the guest root).
  if (router && onFirstSubnet(n)) {
    lines.push(`route add ${UNDERLAY.second.subnet} via ${router.ips[0]}`);
    if (n.ip6 !== undefined && router.ips6) lines.push(`route add ${UNDERLAY.v6.second.subnet} via ${router.ips6[0]}`);
  }
  return lines;
}

/** What teardown removes in the guest root after the namespaces (-force: each line may already be gone). */
export function teardownLines(nodes: readonly LabNode[], router: LabRouter | undefined): string[] {
  const names = [...nodes.map((n) => n.name), ...(router ? [router.name] : [])];
  const lines = names.map((n) => `netns del ${n}`);
  lines.push(`link del ${UNDERLAY.bridge}`);
  if (router) lines.push(`link del ${UNDERLAY.second.bridge}`, `route del ${UNDERLAY.second.subnet}`);
  if (router?.ips6) lines.push(`route del ${UNDERLAY.v6.second.subnet}`);
  return lines;
}
