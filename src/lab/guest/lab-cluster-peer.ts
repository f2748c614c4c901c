// configure()'s external peer: a scenario with `externalPeer: true` gets the
// topology's `peer` namespace with BIRD peering with every node (bird-peer.ts);
// one without has none (removed if the previous file had it). BIRD announces
// every node's pod CIDR (which the agents must reject: a cluster pod CIDR
// from an external peer) and PEER_OTHER_PREFIX (which they accept).

import { existsSync } from 'node:fs';
import type { ObjectStore } from '../apiserver/types.js';
import { errorMessage } from '../../errors.js';
import { NODE_ASN, PEER_OTHER_PREFIX, PEER_OTHER_PREFIX6, startBird } from './bird-peer.js';
import { labError, type HostTopology, type LabClusterHost } from './lab-cluster-host.js';

export const BIRD_BINARY = '/usr/sbin/bird';

interface NodeView {
  metadata: { name: string };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
}

/** The pod CIDRs of the topology's nodes, as their Node objects hold them (IPv6 ones only with `withIpv6`). */
export function nodePodCidrs(store: ObjectStore, nodeNames: readonly string[], withIpv6 = false): string[] {
  const out = new Set<string>();
  for (const o of store.list('Node').items as unknown as NodeView[]) {
    if (!nodeNames.includes(o.metadata.name)) continue;
    for (const c of o.spec?.podCIDRs ?? (o.spec?.podCIDR ? [o.spec.podCIDR] : [])) if (withIpv6 || !c.includes(':')) out.add(c);
  }
  return [...out].sort();
}

export async function configurePeer(host: LabClusterHost, topo: HostTopology, want: boolean, store: () => ObjectStore): Promise<void> {
  if (!want) {
    if (topo.peer !== undefined) {
      host.log?.('lab-cluster: removing the external peer');
      await topo.removePeer?.();
    }
    return;
  }
  if (topo.peer !== undefined) return;
  if (topo.addPeer === undefined) throw labError('cluster: externalPeer: this topology cannot add a peer namespace', { field: 'cluster.externalPeer' });
  if (!existsSync(BIRD_BINARY)) {
    throw labError(`cluster: externalPeer needs BIRD 2 (${BIRD_BINARY} is missing: apt-get install bird2, or run ./scripts/setup)`, { field: 'cluster.externalPeer' });
  }
  const peer = await topo.addPeer();
  const nodeNames = topo.nodes.map((n) => n.name);
  const v6 = peer.ip6 !== undefined;
  const announce = [...nodePodCidrs(store(), nodeNames, v6), PEER_OTHER_PREFIX, ...(v6 ? [PEER_OTHER_PREFIX6] : [])];
  try {
    await startBird((argv) => topo.argvFor({ kind: 'node', name: peer.name }, argv), {
      routerId: peer.ip,
      ...(v6 ? { ip6: peer.ip6 } : {}),
      asn: peer.asn,
      neighbors: topo.nodes.map((n) => ({ name: n.name, ip: n.ip, asn: NODE_ASN })),
      announce,
    });
  } catch (err) {
    await topo.removePeer?.().catch(() => undefined);
    throw labError(`cluster: starting BIRD in the peer namespace: ${errorMessage(err)}`, { field: 'cluster.externalPeer' }, err);
  }
  host.log?.(`lab-cluster: external peer ${peer.ip} AS ${peer.asn} (BIRD) peers with ${nodeNames.join(', ')}; announces ${announce.join(', ')}`);
}
