// Learned best paths -> the kernel routes, overlay tunnels and policy rules
// this node wants (kube-router's injectRoute in
// pkg/controllers/routing/network_routes_controller.go, pkg/routes/pbr.go,
// pkg/tunnels). Pure; the rtnl reconciler applies the plan.
//
// For each learned path (prefix via next hop):
//   - tunnel when --enable-overlay and (--overlay-type=full, or the next hop
//     is not on a directly connected subnet): `prefix dev tun-xxx src nodeIP`
//     proto 0x11, the tunnel (ipip / ip6ip6, local nodeIP, remote next hop)
//     and `nextHop dev tun-xxx` in table 77;
//   - direct route when the next hop is on a connected subnet and no tunnel
//     applies: `prefix via nextHop` proto 0x11;
//   - otherwise (overlay off, next hop in another subnet) NO route: kube-router
//     says "let BGP do its thing, nothing to do here" and deletes any route it
//     had injected for the prefix, so the traffic follows the node's default
//     route to its gateway (which does not know the pod CIDR unless it peers).
// With the overlay on, `from <local pod CIDR> lookup 77` rules make traffic
// from local pods to a tunnelled peer node leave through its tunnel whatever
// rp_filter says (pbr.go); with it off there are no rules (kube-router's
// disablePolicyBasedRouting removes them).

import { canonicalIp, ipFamily, parseCidr, type Cidr } from '../../bgp/ip.js';
import type { IpFamily } from '../../bgp/types.js';
import { AF_INET, AF_INET6, addrToBytes, compareAddr, familyOf, ipv4Value, type AddressFamily } from '../../kernel/rtnl/inet.js';
import { tunnelName } from './tunnel-name.js';

/** kube-router's route protocol (zebra, 0x11). */
export const ROUTE_PROTOCOL = 0x11;
export const MAIN_TABLE = 254;
/** Table 77 `kube-router` (added to rt_tables by the reconciler). */
export const PBR_TABLE = 77;
export const PBR_TABLE_NAME = 'kube-router';
/**
 * kube-router runs `ip rule add from <cidr> lookup 77` without a preference:
 * the kernel then takes the preference just below the first non-zero rule,
 * 32765 on a default rule list. We pin it so that rules are identifiable.
 */
export const PBR_RULE_PRIORITY = 32765;
export const SCOPE_LINK = 253;

export interface LearnedPath {
  /** Destination CIDR, e.g. another node's pod CIDR. */
  prefix: string;
  nextHop: string;
}

export interface RoutePlanInput {
  paths: readonly LearnedPath[];
  /** This node's IP per family (the tunnel source and route `src`). */
  nodeIps: Partial<Record<IpFamily, string>>;
  /** Directly connected subnets (CIDRs of the node's addresses, e.g. "192.168.1.10/24"). */
  connectedSubnets: readonly string[];
  /** This node's pod CIDRs (sources of the table 77 rules). */
  podCidrs: readonly string[];
  enableOverlay: boolean;
  overlayType: 'subnet' | 'full';
}

/** Field names as src/kernel/rtnl RouteSpec (structurally compatible). */
export interface PlannedRoute {
  dst: string;
  table: number;
  protocol: number;
  gateway?: string;
  /** Output link name (a tunnel). */
  oif?: string;
  src?: string;
  scope?: number;
}

export interface PlannedTunnel {
  name: string;
  mode: 'ipip' | 'ip6ip6';
  local: string;
  remote: string;
}

/** Field names as src/kernel/rtnl RuleSpec. */
export interface PlannedRule {
  family: AddressFamily;
  priority: number;
  table: number;
  src: string;
}

export type SkipReason = 'other-subnet-no-overlay' | 'own-next-hop' | 'family-mismatch' | 'no-node-ip' | 'invalid';

export interface RoutePlan {
  /** Main-table routes (proto 0x11), sorted by destination. */
  routes: PlannedRoute[];
  /** `<peer node IP> dev tun-xxx` in table 77, sorted. */
  pbrRoutes: PlannedRoute[];
  tunnels: PlannedTunnel[];
  rules: PlannedRule[];
  /** Paths that get no route, with why. */
  skipped: { prefix: string; nextHop: string; reason: SkipReason }[];
}

/** Whether `ip` lies in one of the (already parsed) subnets. */
function inSubnet(ip: string, subnets: readonly Cidr[]): boolean {
  const f = ipFamily(ip);
  for (const c of subnets) {
    if (c.family !== f) continue;
    const n = parseCidr(`${ip}/${c.length}`);
    if (n && n.address === c.address) return true;
  }
  return false;
}

/**
 * Sorts routes by destination (family, address bytes, prefix length, as
 * compareAddr orders them): the address compared once per route up front
 * (orderKey), not twice per comparison.
 */
function sortByDst(routes: PlannedRoute[]): void {
  const keyed = routes.map((r) => {
    const slash = r.dst.indexOf('/');
    return { key: `${orderKey(r.dst.slice(0, slash))}/${r.dst.slice(slash + 1).padStart(3, '0')}`, r };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  keyed.forEach((k, i) => (routes[i] = k.r));
}

/** A text whose order is compareAddr's: IPv4 before IPv6, each by its bytes (fixed-width hex). */
function orderKey(address: string): string {
  const v4 = ipv4Value(address);
  if (v4 >= 0) return `4${v4.toString(16).padStart(8, '0')}`;
  if (familyOf(address) === AF_INET6) return `6${addrToBytes(address).toString('hex')}`;
  return `0${address}`;
}

export function planRoutes(input: RoutePlanInput): RoutePlan {
  const plan: RoutePlan = { routes: [], pbrRoutes: [], tunnels: [], rules: [], skipped: [] };
  const own = new Set(Object.values(input.nodeIps).filter((ip): ip is string => ip !== undefined));
  const seen = new Set<string>();
  const subnets = input.connectedSubnets.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  /** Next hop -> on a connected subnet (many prefixes share a next hop). */
  const connected = new Map<string, boolean>();
  const tunnels = new Set<string>();
  for (const path of input.paths) {
    const c = parseCidr(path.prefix);
    const nextHop = canonicalIp(path.nextHop.trim());
    const skip = (reason: SkipReason): void => {
      plan.skipped.push({ prefix: path.prefix, nextHop: path.nextHop, reason });
    };
    if (!c || nextHop === undefined) {
      skip('invalid');
      continue;
    }
    const dst = `${c.address}/${c.length}`;
    if (seen.has(dst)) continue; // one best path per prefix
    seen.add(dst);
    if (ipFamily(nextHop) !== c.family) {
      skip('family-mismatch');
      continue;
    }
    if (own.has(nextHop)) {
      skip('own-next-hop');
      continue;
    }
    let sameSubnet = connected.get(nextHop);
    if (sameSubnet === undefined) connected.set(nextHop, (sameSubnet = inSubnet(nextHop, subnets)));
    const tunnel = input.enableOverlay && (input.overlayType === 'full' || !sameSubnet);
    if (tunnel) {
      const local = input.nodeIps[c.family];
      if (local === undefined) {
        skip('no-node-ip');
        continue;
      }
      const name = tunnelName(nextHop);
      if (!tunnels.has(name)) {
        tunnels.add(name);
        plan.tunnels.push({ name, mode: c.family === 'ipv4' ? 'ipip' : 'ip6ip6', local, remote: nextHop });
        const host = `${nextHop}/${c.family === 'ipv4' ? 32 : 128}`;
        plan.pbrRoutes.push({ dst: host, table: PBR_TABLE, protocol: ROUTE_PROTOCOL, oif: name, scope: SCOPE_LINK });
      }
      plan.routes.push({ dst, table: MAIN_TABLE, protocol: ROUTE_PROTOCOL, oif: name, src: local, scope: SCOPE_LINK });
    } else if (sameSubnet) {
      plan.routes.push({ dst, table: MAIN_TABLE, protocol: ROUTE_PROTOCOL, gateway: nextHop });
    } else {
      skip('other-subnet-no-overlay');
    }
  }
  if (input.enableOverlay) {
    for (const text of input.podCidrs) {
      const c = parseCidr(text);
      if (!c) continue;
      const src = `${c.address}/${c.length}`;
      const family = c.family === 'ipv4' ? AF_INET : AF_INET6;
      if (!plan.rules.some((r) => r.src === src)) plan.rules.push({ family, priority: PBR_RULE_PRIORITY, table: PBR_TABLE, src });
    }
  }
  sortByDst(plan.routes);
  sortByDst(plan.pbrRoutes);
  plan.tunnels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  plan.rules.sort((a, b) => a.family - b.family || compareAddr(a.src.split('/')[0], b.src.split('/')[0]));
  return plan;
}
