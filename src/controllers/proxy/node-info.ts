// This node as the proxy needs it: its Node object's addresses and the
// addresses on its local links (for --nodeport-bindon-all-ip and
// kube-router-local-ips), read once per full sync.

import type { Node } from '../../informers/types.js';
import type { Rtnl } from '../../kernel/rtnl/types.js';
import { isIpv6LinkLocal } from '../../kernel/rtnl/types.js';
import type { NodeInfo } from './model.js';
import { parseIp } from './validate-ip.js';

export const DUMMY_LINK = 'kube-dummy-if';
/** The Node label kube-proxy reads for topology hints (v1.LabelTopologyZone). */
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** kube-router's GetAllLocalIPs skips these links (VIP holders and bridges). */
export function skipLocalLink(name: string): boolean {
  return name.startsWith('dummy') || name.startsWith('kube') || name.startsWith('docker');
}

/** Every address on the node's links except kube-dummy-if, kube-bridge, docker* and IPv6 link-local; sorted. */
export async function readLocalIPs(rtnl: Rtnl): Promise<string[]> {
  const out = new Set<string>();
  for (const l of await rtnl.listLinks()) {
    if (skipLocalLink(l.name)) continue;
    for (const a of await rtnl.listAddresses(l.index)) {
      if (!isIpv6LinkLocal(a.address)) out.add(a.address);
    }
  }
  return [...out].sort();
}

export function nodeInfoFrom(name: string, node: Node | undefined, localIPs: readonly string[]): NodeInfo {
  const nodeIPs: NodeInfo['nodeIPs'] = {};
  const primaryIPs: NodeInfo['primaryIPs'] = {};
  const addrs = node?.status?.addresses ?? [];
  // InternalIP first (kube-router's GetPrimaryNodeIP), then ExternalIP.
  for (const type of ['InternalIP', 'ExternalIP'] as const) {
    for (const a of addrs) {
      if (a.type !== type) continue;
      const ip = parseIp(a.address);
      if (!ip) continue;
      (nodeIPs[ip.family] ??= []).push(ip.addr);
      primaryIPs[ip.family] ??= ip.addr;
    }
  }
  return { name, zone: node?.metadata.labels?.[LABEL_ZONE] ?? '', primaryIPs, nodeIPs, localIPs: [...localIPs] };
}

/** The Node's own IPv6 pod CIDR, '' when none. */
export function nodePodCidrV6(node: Node | undefined): string {
  const list = node?.spec.podCIDRs ?? (node?.spec.podCIDR ? [node.spec.podCIDR] : []);
  return list.find((c) => c.includes(':')) ?? '';
}

/** The Node's own pod CIDR (IPv4), '' when none. */
export function nodePodCidrV4(node: Node | undefined): string {
  const list = node?.spec.podCIDRs ?? (node?.spec.podCIDR ? [node.spec.podCIDR] : []);
  return list.find((c) => !c.includes(':')) ?? '';
}

/** MTU of the link holding `ip` (the node's primary IP), 1500 when not found. */
export async function readLinkMtu(rtnl: Rtnl, ip: string | undefined): Promise<number> {
  if (ip === undefined) return 1500;
  for (const l of await rtnl.listLinks()) {
    if (skipLocalLink(l.name)) continue;
    for (const a of await rtnl.listAddresses(l.index)) if (a.address === ip) return l.mtu;
  }
  return 1500;
}
