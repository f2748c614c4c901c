// Overlay tunnel interface names, as kube-router's pkg/tunnels
// GenerateTunnelName: "tun-" + the first 11 hex characters of the SHA-256 of
// the peer IP with '.' and ':' removed (15 characters, the IFNAMSIZ limit).
// Pre-v2.0 kube-router used "tun-<ip without dots>"; those are not ours.

import { createHash } from 'node:crypto';

export const TUNNEL_PREFIX = 'tun-';

export function tunnelName(peerIp: string): string {
  const stripped = peerIp.replaceAll('.', '').replaceAll(':', '');
  return TUNNEL_PREFIX + createHash('sha256').update(stripped).digest('hex').slice(0, 11);
}

/** Whether a link name has the shape of one of our tunnels (`tun-` + 11 lowercase hex). */
export function isTunnelName(name: string): boolean {
  return /^tun-[0-9a-f]{11}$/.test(name);
}
