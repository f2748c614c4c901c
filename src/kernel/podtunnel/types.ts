// The DSR tunnel inside an endpoint pod's network namespace (kube-router's
// kube-tunnel-if): an IP-in-IP link whose local address is the pod IP, the
// DSR VIPs on it, rp_filter off on it and on `all` (the decapsulated packet
// arrives on the tunnel from a client routed through eth0). Interface and
// the pure plan here; linux.ts (nsenter + ip) and fake.ts implement it.

import { compareAddr } from '../rtnl/inet.js';

export const TUNNEL_LINK = 'kube-tunnel-if';

/** What the pod's namespace holds now. */
export interface PodTunnelState {
  present: boolean;
  /** The link's local address ('' when absent or any). */
  local: string;
  up: boolean;
  /** IPv4 addresses on the link (canonical, sorted). */
  addresses: string[];
  /** rp_filter of the link and of `all` (-1 when unknown, e.g. no link). */
  rpFilterLink: number;
  rpFilterAll: number;
}

/** What the pod's namespace should hold: VIPs on a tunnel from `local`; no VIP means no tunnel. */
export interface PodTunnelSpec {
  local: string;
  vips: string[];
}

export interface PodTunnel {
  read(netns: string): Promise<PodTunnelState>;
  /** Applies `plan` (from planPodTunnel) in the namespace; rejects with a KR_ERR_KERNEL error naming the namespace. */
  write(netns: string, plan: PodTunnelPlan): Promise<void>;
}

export interface PodTunnelPlan {
  /** `ip -batch` lines, in order. */
  ip: string[];
  /** Links whose rp_filter is set to 0 after the ip lines (`all` included). */
  rpFilterOff: string[];
}

export const ABSENT: PodTunnelState = Object.freeze({ present: false, local: '', up: false, addresses: [], rpFilterLink: -1, rpFilterAll: -1 }) as PodTunnelState;

/** The writes that take `cur` to `want`; empty lists when it is there already. */
export function planPodTunnel(cur: PodTunnelState, want: PodTunnelSpec): PodTunnelPlan {
  const ip: string[] = [];
  const vips = [...new Set(want.vips)].sort(compareAddr);
  if (vips.length === 0) {
    if (cur.present) ip.push(`link del ${TUNNEL_LINK}`);
    return { ip, rpFilterOff: [] };
  }
  let have = new Set(cur.addresses);
  let fresh = false;
  if (!cur.present || cur.local !== want.local) {
    if (cur.present) ip.push(`link del ${TUNNEL_LINK}`);
    ip.push(`link add ${TUNNEL_LINK} type ipip local ${want.local}`);
    have = new Set();
    fresh = true;
  }
  if (fresh || !cur.up) ip.push(`link set ${TUNNEL_LINK} up`);
  for (const v of vips) if (!have.has(v)) ip.push(`addr add ${v}/32 dev ${TUNNEL_LINK}`);
  for (const a of [...have].sort(compareAddr)) if (!vips.includes(a)) ip.push(`addr del ${a}/32 dev ${TUNNEL_LINK}`);
  const rpFilterOff: string[] = [];
  if (fresh || cur.rpFilterLink !== 0) rpFilterOff.push(TUNNEL_LINK);
  if (cur.rpFilterAll !== 0) rpFilterOff.push('all');
  return { ip, rpFilterOff };
}

export function planIsEmpty(p: PodTunnelPlan): boolean {
  return p.ip.length === 0 && p.rpFilterOff.length === 0;
}
