// The DSR tunnel inside an endpoint pod's network namespace, one per family
// as kube-router has them: IPv4 `kube-tunnel-if`, an ipip link whose local
// address is the pod's IPv4 address, with rp_filter off on it and on `all`
// (the decapsulated packet arrives on the tunnel from a client routed through
// eth0); IPv6 `kube-tunnel-v6`, an ip6tnl link in ip6ip6 mode from the pod's
// IPv6 address (IPVS tunnels IPv6 services in IPv6, next header 41; IPv6 has
// no rp_filter). The DSR VIPs of the family are on the link (IPv6 ones
// without duplicate address detection: a tentative VIP would not answer).
// Interface and the pure plan here; linux.ts (nsenter + ip) and fake.ts
// implement it.

import { compareAddr } from '../rtnl/inet.js';

export type TunnelFamily = 'IPv4' | 'IPv6';

/** kube-router's KubeTunnelIfv4 / KubeTunnelIfv6. */
export const TUNNEL_LINK = 'kube-tunnel-if';
export const TUNNEL_LINK_V6 = 'kube-tunnel-v6';

export function tunnelLink(family: TunnelFamily): string {
  return family === 'IPv6' ? TUNNEL_LINK_V6 : TUNNEL_LINK;
}

/** What the pod's namespace holds now (for one family's link). */
export interface PodTunnelState {
  present: boolean;
  /** The link's local address ('' when absent or any). */
  local: string;
  up: boolean;
  /** Addresses of the family on the link (canonical, sorted; IPv6 link-local ones left out). */
  addresses: string[];
  /** IPv4: rp_filter of the link and of `all` (-1 when unknown, e.g. no link). IPv6 has none: 0. */
  rpFilterLink: number;
  rpFilterAll: number;
}

/** What the pod's namespace should hold: VIPs of `family` on a tunnel from `local`; no VIP means no tunnel. */
export interface PodTunnelSpec {
  family: TunnelFamily;
  local: string;
  vips: string[];
}

export interface PodTunnel {
  /** The state of `family`'s tunnel link in the namespace. */
  read(netns: string, family: TunnelFamily): Promise<PodTunnelState>;
  /** Applies `plan` (from planPodTunnel) in the namespace; rejects with a KR_ERR_KERNEL error naming the namespace. */
  write(netns: string, plan: PodTunnelPlan): Promise<void>;
}

export interface PodTunnelPlan {
  family: TunnelFamily;
  /** `ip -batch` lines, in order. */
  ip: string[];
  /** Links whose IPv4 rp_filter is set to 0 after the ip lines (`all` included). */
  rpFilterOff: string[];
}

export const ABSENT: PodTunnelState = Object.freeze({ present: false, local: '', up: false, addresses: [], rpFilterLink: -1, rpFilterAll: -1 }) as PodTunnelState;

/** The writes that take `cur` to `want`; empty lists when it is there already. */
export function planPodTunnel(cur: PodTunnelState, want: PodTunnelSpec): PodTunnelPlan {
  const { family } = want;
  const link = tunnelLink(family);
  const v6 = family === 'IPv6';
  const ip: string[] = [];
  const vips = [...new Set(want.vips)].sort(compareAddr);
  if (vips.length === 0) {
    if (cur.present) ip.push(`link del ${link}`);
    return { family, ip, rpFilterOff: [] };
  }
  let have = new Set(cur.addresses);
  let fresh = false;
  if (!cur.present || cur.local !== want.local) {
    if (cur.present) ip.push(`link del ${link}`);
    ip.push(v6 ? `link add ${link} type ip6tnl mode ip6ip6 local ${want.local}` : `link add ${link} type ipip local ${want.local}`);
    have = new Set();
    fresh = true;
  }
  if (fresh || !cur.up) ip.push(`link set ${link} up`);
  for (const v of vips) if (!have.has(v)) ip.push(v6 ? `addr add ${v}/128 dev ${link} nodad` : `addr add ${v}/32 dev ${link}`);
  for (const a of [...have].sort(compareAddr)) if (!vips.includes(a)) ip.push(`addr del ${a}/${v6 ? 128 : 32} dev ${link}`);
  const rpFilterOff: string[] = [];
  if (!v6) {
    if (fresh || cur.rpFilterLink !== 0) rpFilterOff.push(link);
    if (cur.rpFilterAll !== 0) rpFilterOff.push('all');
  }
  return { family, ip, rpFilterOff };
}

export function planIsEmpty(p: PodTunnelPlan): boolean {
  return p.ip.length === 0 && p.rpFilterOff.length === 0;
}
