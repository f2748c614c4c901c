// DSR (`kube-router.io/service.dsr: tunnel`), kube-router's way: an external
// IP or LoadBalancer IP of the service is not put on kube-dummy-if; packets
// to VIP:port are marked in mangle with a per-tuple fwmark, an ip rule sends
// marked packets to table 78 (`local default dev lo`) so they are delivered
// locally, and an IPVS fwmark service forwards them in tunnel mode (IP-in-IP)
// to the endpoints. Each local endpoint pod holds the VIP on kube-tunnel-if,
// decapsulates and answers the client directly from the VIP.
//
// Pure: the fwmark is a hash of the tuple (kube-router's generateFWMark:
// FNV-1a 32 of `ip-proto-port`, 14 bits), so every node computes the same
// mark for the same tuple without coordination.

import { ObjectError } from '../../errors.js';
import { ipvsService, type IpvsDestination, type IpvsService } from '../../kernel/ipvs/types.js';
import { AF_INET, AF_INET6 } from '../../kernel/rtnl/inet.js';
import type { EndpointInfo } from './endpoints.js';
import type { DsrEntry, DsrPod, IpFamilyName, IpvsProtocol } from './model.js';

/** Marks DSR uses (kube-router's `& 0x3FFF`): fwmark services with a mark in 1..DSR_MARK_MASK are the proxy's. */
export const DSR_MARK_MASK = 0x3fff;
/** kube-router's routing table for DSR (`78 kube-router-dsr`) and the priority of its fwmark rules. */
export const DSR_TABLE = 78;
export const DSR_RULE_PRIORITY = 32764;
/** The ipip link inside a DSR endpoint pod (kube-router's KubeTunnelIfv4). */
export const DSR_TUNNEL_LINK = 'kube-tunnel-if';

const MAX_ATTEMPTS = 8;

function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The fwmark of a DSR tuple: FNV-1a 32 of `ip-proto-port` masked to 14 bits;
 * a zero mark, or one in `taken`, moves to `ip-proto-port-N` (N = 1..7).
 * undefined when every attempt collides.
 */
export function dsrFwmark(vip: string, protocol: IpvsProtocol, port: number, taken: ReadonlySet<number> = new Set()): number | undefined {
  const base = `${vip}-${protocol.toLowerCase()}-${port}`;
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const mark = fnv1a32(i === 0 ? base : `${base}-${i}`) & DSR_MARK_MASK;
    if (mark !== 0 && !taken.has(mark)) return mark;
  }
  return undefined;
}

/** Whether a kernel fwmark service is in the DSR mark space (the proxy's to delete when not desired). */
export function isDsrMark(fwmark: number): boolean {
  return fwmark > 0 && fwmark <= DSR_MARK_MASK;
}

/** One DSR tuple compiled: its fwmark virtual service and what the node and the pods need. */
export interface DsrCompiled {
  service: IpvsService;
  destinations: IpvsDestination[];
  entry: DsrEntry;
}

/**
 * Builds the DSR tuple `vip` `protocol`/`port` over `eps` (the endpoints that
 * take external traffic). Destinations use tunnel forwarding; the packet
 * keeps its destination port, so the endpoint port is the service port
 * (a different targetPort is warned about: the pod must listen on `port`).
 * Local endpoints whose address is one of the node's (hostNetwork pods) get
 * no tunnel interface: kube-router refuses them too.
 */
export function compileDsrTuple(
  ref: string,
  family: IpFamilyName,
  vip: string,
  protocol: IpvsProtocol,
  port: number,
  eps: readonly EndpointInfo[],
  shape: { scheduler: string; flags: number; timeout: number },
  taken: Set<number>,
  nodeAddrs: ReadonlySet<string>,
  warnings: ObjectError[],
): DsrCompiled | undefined {
  const field = 'metadata.annotations[kube-router.io/service.dsr]';
  const fwmark = dsrFwmark(vip, protocol, port, taken);
  if (fwmark === undefined) {
    warnings.push(new ObjectError(ref, field, `no free fwmark for ${vip} ${protocol}/${port} after ${MAX_ATTEMPTS} attempts; tuple not served`, vip));
    return undefined;
  }
  taken.add(fwmark);
  const service = ipvsService({
    fwmark,
    af: family === 'IPv6' ? AF_INET6 : AF_INET,
    scheduler: shape.scheduler,
    flags: shape.flags,
    timeout: shape.timeout,
  });
  const destinations: IpvsDestination[] = [];
  const pods: DsrPod[] = [];
  for (const e of eps) {
    if (e.port !== port) {
      warnings.push(
        new ObjectError(ref, field, `DSR does not remap ports: endpoint ${e.addr} listens on ${e.port}, clients use ${port}; the pod must also listen on ${port}`, String(e.port)),
      );
    }
    destinations.push({ address: e.addr, port, fwdMethod: 'tunnel', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunType: 0, tunPort: 0, tunFlags: 0 });
    if (!e.local) continue;
    if (nodeAddrs.has(e.addr)) {
      warnings.push(new ObjectError(ref, field, `endpoint ${e.addr} uses the host network: DSR needs a pod network namespace; not configured`, e.addr));
      continue;
    }
    if (e.pod === '') {
      warnings.push(new ObjectError(ref, field, `local endpoint ${e.addr} has no Pod targetRef: its network namespace cannot be found; not configured`, e.addr));
      continue;
    }
    pods.push({ pod: e.pod, ip: e.addr });
  }
  // Several ports of one endpoint give one destination per port; IPVS keys
  // destinations by address:port, and all use `port`: keep one per address.
  const seen = new Set<string>();
  const uniq = destinations.filter((d) => (seen.has(d.address) ? false : (seen.add(d.address), true)));
  const podSeen = new Set<string>();
  const localPods = pods
    .filter((p) => (podSeen.has(p.pod) ? false : (podSeen.add(p.pod), true)))
    .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
  return { service, destinations: uniq, entry: { family, vip, protocol, port, fwmark, localPods } };
}
