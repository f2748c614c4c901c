// The BGP peers this node wants (kube-router's routing/bgp_peers.go
// syncInternalPeers, connectToExternalBGPPeers and pkg/bgp/peer_config.go):
// iBGP with the other nodes (full mesh, same-ASN, route reflection) and the
// external peers from the flags or, when no --peer-router-ips is given, from
// this node's annotations.

import { canonicalIp, ipFamily } from '../../bgp/ip.js';
import type { IpFamily, PeerSpec } from '../../bgp/types.js';
import type { AgentOptions } from '../../cmd/options/types.js';
import { FlagError, type KubeRouterError } from '../../errors.js';
import { compareAddr } from '../../kernel/rtnl/inet.js';
import type { ExternalPeerConfig, RoutingNode } from './model.js';
import { decodeBase64 } from './peers-annotations.js';

export type PeerFlags = Pick<
  AgentOptions,
  | 'nodesFullMesh'
  | 'enableIbgp'
  | 'bgpPort'
  | 'bgpHoldtime'
  | 'bgpGracefulRestart'
  | 'bgpGracefulRestartTime'
  | 'bgpGracefulRestartDeferralTime'
  | 'enableIpv4'
  | 'enableIpv6'
  | 'peerRouterIps'
  | 'peerRouterAsns'
  | 'peerRouterPasswords'
  | 'peerRouterPorts'
  | 'peerRouterMultihopTtl'
>;

/** Families negotiated on every session: one session carries both when dual-stack. */
export function sessionFamilies(flags: Pick<AgentOptions, 'enableIpv4' | 'enableIpv6'>): IpFamily[] {
  const out: IpFamily[] = [];
  if (flags.enableIpv4) out.push('ipv4');
  if (flags.enableIpv6) out.push('ipv6');
  return out.length > 0 ? out : ['ipv4'];
}

/** This node's address for a session with `remote`: the primary IP if of the same family, else its first IP of that family. */
export function localAddressFor(self: RoutingNode, remote: string): string | undefined {
  const f = ipFamily(remote);
  if (f === undefined) return undefined;
  if (self.primaryIp !== undefined && ipFamily(self.primaryIp) === f) return self.primaryIp;
  return self.ips[f][0];
}

function basePeer(address: string, peerAsn: number, flags: PeerFlags): PeerSpec {
  const p: PeerSpec = {
    neighborAddress: address,
    peerAsn,
    holdTime: Math.round(flags.bgpHoldtime / 1000),
    families: sessionFamilies(flags),
  };
  if (flags.bgpGracefulRestart) {
    p.gracefulRestart = {
      enabled: true,
      restartTime: Math.round(flags.bgpGracefulRestartTime / 1000),
      deferralTime: Math.round(flags.bgpGracefulRestartDeferralTime / 1000),
    };
  }
  return p;
}

/**
 * iBGP peers of `self` among `nodes` (which may include `self`):
 * - none without --enable-ibgp;
 * - an rr.client peers only with nodes carrying rr.server;
 * - without --nodes-full-mesh only with nodes whose node.asn equals `asn`;
 * - an rr.server marks rr.client nodes as route-reflector clients with its cluster id.
 * Sessions: peer ASN = `asn`, local address = this node's IP, remote port --bgp-port.
 */
export function ibgpPeers(self: RoutingNode, nodes: readonly RoutingNode[], asn: number, flags: PeerFlags): PeerSpec[] {
  if (!flags.enableIbgp) return [];
  const out: PeerSpec[] = [];
  for (const n of nodes) {
    if (n.name === self.name || n.primaryIp === undefined || n.primaryIp === self.primaryIp) continue;
    if (self.annotations.rrClient !== undefined && n.annotations.rrServer === undefined) continue;
    if (!flags.nodesFullMesh && n.annotations.asn !== asn) continue;
    const p = basePeer(n.primaryIp, asn, flags);
    const local = localAddressFor(self, n.primaryIp);
    if (local !== undefined) p.localAddress = local;
    if (flags.bgpPort !== 179) p.remotePort = flags.bgpPort;
    if (self.annotations.rrServer !== undefined && n.annotations.rrClient !== undefined) {
      p.routeReflectorClient = true;
      p.routeReflectorClusterId = self.annotations.rrServer;
    }
    out.push(p);
  }
  return out.sort((a, b) => compareAddr(a.neighborAddress, b.neighborAddress));
}

/** The external peers from --peer-router-ips/asns/passwords/ports (passwords base64-decoded). */
export function flagPeers(flags: PeerFlags, passwordsFromFile: readonly string[] = []): { peers: ExternalPeerConfig[]; errors: KubeRouterError[] } {
  const errors: KubeRouterError[] = [];
  const passwords = flags.peerRouterPasswords.length > 0 ? flags.peerRouterPasswords : passwordsFromFile;
  const peers: ExternalPeerConfig[] = [];
  flags.peerRouterIps.forEach((ipText, i) => {
    const ip = canonicalIp(ipText);
    const asn = flags.peerRouterAsns[i];
    if (ip === undefined || asn === undefined) return; // the option parser already rejected these
    const peer: ExternalPeerConfig = { remoteIp: ip, remoteAsn: asn };
    const port = flags.peerRouterPorts[i];
    if (port !== undefined && port !== 0) peer.port = port;
    const b64 = passwords[i];
    if (b64 !== undefined && b64.trim() !== '') {
      const pw = decodeBase64(b64.trim());
      if (pw === undefined) {
        errors.push(new FlagError('--peer-router-passwords', `<password ${i}>`, `base64 (peer ${ip} is skipped)`));
        return;
      }
      if (pw !== '') peer.password = pw;
    }
    peers.push(peer);
  });
  return { peers, errors };
}

/** Peer specs for external peers: GR, hold time, eBGP multihop (TTL >= 2), MD5 password, local address. */
export function externalPeerSpecs(self: RoutingNode, configs: readonly ExternalPeerConfig[], flags: PeerFlags): PeerSpec[] {
  const out: PeerSpec[] = [];
  for (const c of configs) {
    if (out.some((p) => p.neighborAddress === c.remoteIp)) continue;
    const p = basePeer(c.remoteIp, c.remoteAsn, flags);
    const local = c.localIp ?? localAddressFor(self, c.remoteIp);
    if (local !== undefined) p.localAddress = local;
    if (c.port !== undefined && c.port !== 179) p.remotePort = c.port;
    if (c.password !== undefined) p.authPassword = c.password;
    if (flags.peerRouterMultihopTtl >= 2) p.ebgpMultihopTtl = flags.peerRouterMultihopTtl;
    out.push(p);
  }
  return out.sort((a, b) => compareAddr(a.neighborAddress, b.neighborAddress));
}
