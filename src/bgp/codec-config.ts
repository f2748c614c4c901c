// Config codec: GlobalConfig, PeerSpec/PeerStatus, DefinedSet, Policy and
// PolicyAssignment <-> their apipb wire shapes (see wire.ts).
import { encodeCommunity, decodeCommunity, familyFromWire, wireFamily } from './codec.js';
import { canonicalIp, ipFamily } from './ip.js';
import type {
  DefinedSet,
  GlobalConfig,
  IpFamily,
  MatchType,
  PeerFamilyStatus,
  PeerSpec,
  PeerStatus,
  Policy,
  PolicyAssignment,
  PolicyDirection,
  RouteAction,
  SessionState,
  Statement,
} from './types.js';
import type {
  WireDefinedSet,
  WireGlobal,
  WireMatchType,
  WirePeer,
  WirePolicy,
  WirePolicyAssignment,
  WirePolicyDirection,
  WireRouteAction,
  WireStatement,
} from './wire.js';

function n(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

function enumName(v: unknown, names: readonly string[]): string {
  return typeof v === 'number' ? (names[v] ?? String(v)) : String(v ?? names[0]);
}

// ---- global ----

export function encodeGlobal(g: GlobalConfig): WireGlobal {
  const w: WireGlobal = {
    asn: g.asn,
    router_id: g.routerId,
    listen_port: g.listenPort,
    listen_addresses: g.listenAddresses,
  };
  if (g.gracefulRestart) {
    w.graceful_restart = {
      enabled: g.gracefulRestart.enabled,
      restart_time: g.gracefulRestart.restartTime,
      deferral_time: g.gracefulRestart.deferralTime,
      local_restarting: g.gracefulRestart.localRestarting ?? false,
    };
  }
  return w;
}

export function decodeGlobal(w: WireGlobal | null | undefined): GlobalConfig {
  const g: GlobalConfig = {
    asn: n(w?.asn),
    routerId: w?.router_id ?? '',
    listenPort: n(w?.listen_port),
    listenAddresses: [...(w?.listen_addresses ?? [])],
  };
  const gr = w?.graceful_restart;
  if (gr && gr.enabled) {
    g.gracefulRestart = {
      enabled: true,
      restartTime: n(gr.restart_time),
      deferralTime: n(gr.deferral_time),
      localRestarting: gr.local_restarting === true,
    };
  }
  return g;
}

// ---- peers ----

/** The families of a peer spec, defaulting to the family of its address. */
export function peerFamilies(p: PeerSpec): IpFamily[] {
  if (p.families && p.families.length > 0) return [...p.families];
  return [ipFamily(p.neighborAddress) ?? 'ipv4'];
}

export function encodePeer(p: PeerSpec): WirePeer {
  const gr = p.gracefulRestart?.enabled === true;
  const w: WirePeer = {
    conf: {
      neighbor_address: p.neighborAddress,
      peer_asn: p.peerAsn,
      local_asn: p.localAsn ?? 0,
      description: p.description ?? '',
      auth_password: p.authPassword ?? '',
    },
    transport: {
      local_address: p.localAddress ?? '',
      remote_port: p.remotePort ?? 0,
      passive_mode: p.passive ?? false,
    },
    timers: {
      config: {
        hold_time: p.holdTime ?? 0,
        keepalive_interval: p.keepaliveInterval ?? 0,
        connect_retry: p.connectRetry ?? 0,
      },
    },
    afi_safis: peerFamilies(p).map((f) => ({
      config: { family: wireFamily(f), enabled: true },
      mp_graceful_restart: { config: { enabled: gr } },
    })),
  };
  if (p.ebgpMultihopTtl !== undefined) w.ebgp_multihop = { enabled: true, multihop_ttl: p.ebgpMultihopTtl };
  if (p.routeReflectorClient) {
    w.route_reflector = {
      route_reflector_client: true,
      route_reflector_cluster_id: p.routeReflectorClusterId ?? '',
    };
  }
  if (p.gracefulRestart) {
    w.graceful_restart = {
      enabled: p.gracefulRestart.enabled,
      restart_time: p.gracefulRestart.restartTime,
      deferral_time: p.gracefulRestart.deferralTime ?? 0,
    };
  }
  return w;
}

const SESSION_STATES = ['UNKNOWN', 'IDLE', 'CONNECT', 'ACTIVE', 'OPENSENT', 'OPENCONFIRM', 'ESTABLISHED'];

/** Decodes a ListPeer entry: the configuration as gobgpd holds it, plus its state. */
export function decodePeer(w: WirePeer): PeerStatus {
  const conf = w.conf ?? {};
  const spec: PeerSpec = {
    neighborAddress: canonicalIp(conf.neighbor_address ?? '') ?? conf.neighbor_address ?? '',
    peerAsn: n(conf.peer_asn),
  };
  if (n(conf.local_asn) !== 0) spec.localAsn = n(conf.local_asn);
  if (conf.description) spec.description = conf.description;
  if (conf.auth_password) spec.authPassword = conf.auth_password;
  const t = w.transport ?? {};
  // gobgpd renders "no local address" as the unspecified address of the family.
  const local = canonicalIp(t.local_address ?? '') ?? t.local_address ?? '';
  if (local !== '' && local !== '0.0.0.0' && local !== '::') spec.localAddress = local;
  if (n(t.remote_port) !== 0) spec.remotePort = n(t.remote_port);
  if (t.passive_mode) spec.passive = true;
  const tc = w.timers?.config ?? {};
  if (n(tc.hold_time) !== 0) spec.holdTime = n(tc.hold_time);
  if (n(tc.keepalive_interval) !== 0) spec.keepaliveInterval = n(tc.keepalive_interval);
  if (n(tc.connect_retry) !== 0) spec.connectRetry = n(tc.connect_retry);
  const families: IpFamily[] = [];
  const famStatus: PeerFamilyStatus[] = [];
  for (const a of w.afi_safis ?? []) {
    const f = familyFromWire(a.config?.family ?? a.state?.family);
    if (f === undefined) continue;
    if (a.config?.enabled !== false) families.push(f);
    famStatus.push({
      family: f,
      received: n(a.state?.received),
      accepted: n(a.state?.accepted),
      advertised: n(a.state?.advertised),
    });
  }
  spec.families = families;
  if (w.ebgp_multihop?.enabled) spec.ebgpMultihopTtl = n(w.ebgp_multihop.multihop_ttl);
  if (w.route_reflector?.route_reflector_client) {
    spec.routeReflectorClient = true;
    if (w.route_reflector.route_reflector_cluster_id) {
      spec.routeReflectorClusterId = w.route_reflector.route_reflector_cluster_id;
    }
  }
  if (w.graceful_restart?.enabled) {
    spec.gracefulRestart = {
      enabled: true,
      restartTime: n(w.graceful_restart.restart_time),
      deferralTime: n(w.graceful_restart.deferral_time),
    };
  }
  const st = w.state ?? {};
  const rx = st.messages?.received ?? {};
  const tx = st.messages?.sent ?? {};
  return {
    spec,
    sessionState: enumName(st.session_state, SESSION_STATES).toLowerCase() as SessionState,
    adminDown: enumName(st.admin_state, ['UP', 'DOWN', 'PFX_CT']) !== 'UP',
    uptime: n(w.timers?.state?.uptime?.seconds),
    routerId: st.router_id ?? '',
    families: famStatus,
    messages: {
      receivedTotal: n(rx.total),
      sentTotal: n(tx.total),
      receivedUpdates: n(rx.update),
      sentUpdates: n(tx.update),
    },
  };
}

// ---- defined sets ----

/** gobgpd 3.10 wants neighbor set members as CIDRs: a bare address becomes /32 or /128. */
export function neighborCidr(member: string): string {
  if (member.includes('/')) return member;
  const f = ipFamily(member);
  if (f === undefined) return member;
  return `${canonicalIp(member)}/${f === 'ipv4' ? 32 : 128}`;
}

export function encodeDefinedSet(s: DefinedSet): WireDefinedSet {
  if (s.type === 'neighbor') {
    return { defined_type: 'NEIGHBOR', name: s.name, list: s.neighbors.map(neighborCidr), prefixes: [] };
  }
  return {
    defined_type: 'PREFIX',
    name: s.name,
    list: [],
    prefixes: s.prefixes.map((p) => ({
      ip_prefix: p.prefix,
      mask_length_min: p.maskLengthMin ?? 0,
      mask_length_max: p.maskLengthMax ?? 0,
    })),
  };
}

export function decodeDefinedSet(w: WireDefinedSet): DefinedSet | undefined {
  const type = enumName(w.defined_type, ['PREFIX', 'NEIGHBOR']);
  const name = w.name ?? '';
  if (type === 'NEIGHBOR') return { type: 'neighbor', name, neighbors: [...(w.list ?? [])] };
  if (type !== 'PREFIX') return undefined;
  return {
    type: 'prefix',
    name,
    prefixes: (w.prefixes ?? []).map((p) => ({
      prefix: p.ip_prefix ?? '',
      maskLengthMin: n(p.mask_length_min),
      maskLengthMax: n(p.mask_length_max),
    })),
  };
}

// ---- policies ----

const MATCH_TYPES: readonly WireMatchType[] = ['ANY', 'ALL', 'INVERT'];
const ROUTE_ACTIONS: readonly WireRouteAction[] = ['NONE', 'ACCEPT', 'REJECT'];
const COMMUNITY_ACTIONS = ['ADD', 'REMOVE', 'REPLACE'] as const;

function encodeStatement(s: Statement): WireStatement {
  const c = s.conditions;
  const a = s.actions;
  const w: WireStatement = {
    name: s.name,
    conditions: {},
    actions: { route_action: a.routeAction.toUpperCase() as WireRouteAction },
  };
  if (c.prefixSet) w.conditions!.prefix_set = { name: c.prefixSet.name, type: c.prefixSet.match.toUpperCase() as WireMatchType };
  if (c.neighborSet) {
    w.conditions!.neighbor_set = { name: c.neighborSet.name, type: c.neighborSet.match.toUpperCase() as WireMatchType };
  }
  if (a.community) {
    w.actions!.community = {
      type: a.community.type.toUpperCase() as (typeof COMMUNITY_ACTIONS)[number],
      communities: a.community.communities,
    };
  }
  if (a.asPrepend) {
    w.actions!.as_prepend = { asn: a.asPrepend.asn, repeat: a.asPrepend.repeat, use_left_most: a.asPrepend.useLeftMost ?? false };
  }
  if (a.nextHop) {
    w.actions!.nexthop = {
      self: a.nextHop.self ?? false,
      address: a.nextHop.address ?? '',
      unchanged: a.nextHop.unchanged ?? false,
    };
  }
  return w;
}

/** Canonical text of a community as gobgpd lists it back ("high:low"). */
function canonicalCommunity(c: string): string {
  try {
    return decodeCommunity(encodeCommunity(c));
  } catch {
    return c; // a regexp or a name we do not know: compared as given
  }
}

function decodeStatement(w: WireStatement): Statement {
  const s: Statement = { name: w.name ?? '', conditions: {}, actions: { routeAction: 'none' } };
  const ps = w.conditions?.prefix_set;
  if (ps && ps.name) s.conditions.prefixSet = { name: ps.name, match: enumName(ps.type, MATCH_TYPES).toLowerCase() as MatchType };
  const ns = w.conditions?.neighbor_set;
  if (ns && ns.name) s.conditions.neighborSet = { name: ns.name, match: enumName(ns.type, MATCH_TYPES).toLowerCase() as MatchType };
  const a = w.actions;
  s.actions.routeAction = enumName(a?.route_action, ROUTE_ACTIONS).toLowerCase() as RouteAction;
  if (a?.community && (a.community.communities ?? []).length > 0) {
    s.actions.community = {
      type: enumName(a.community.type, COMMUNITY_ACTIONS).toLowerCase() as 'add' | 'remove' | 'replace',
      communities: (a.community.communities ?? []).map(canonicalCommunity),
    };
  }
  if (a?.as_prepend && n(a.as_prepend.repeat) > 0) {
    s.actions.asPrepend = { asn: n(a.as_prepend.asn), repeat: n(a.as_prepend.repeat) };
    if (a.as_prepend.use_left_most) s.actions.asPrepend.useLeftMost = true;
  }
  const nh = a?.nexthop;
  if (nh && (nh.self || nh.unchanged || nh.address)) {
    s.actions.nextHop = {};
    if (nh.self) s.actions.nextHop.self = true;
    if (nh.unchanged) s.actions.nextHop.unchanged = true;
    if (nh.address) s.actions.nextHop.address = nh.address;
  }
  return s;
}

export function encodePolicy(p: Policy): WirePolicy {
  return { name: p.name, statements: p.statements.map(encodeStatement) };
}

export function decodePolicy(w: WirePolicy): Policy {
  return { name: w.name ?? '', statements: (w.statements ?? []).map(decodeStatement) };
}

export function encodeDirection(d: PolicyDirection): WirePolicyDirection {
  return d === 'import' ? 'IMPORT' : 'EXPORT';
}

export function encodeAssignment(a: PolicyAssignment): WirePolicyAssignment {
  return {
    name: a.name,
    direction: encodeDirection(a.direction),
    policies: a.policies.map((name) => ({ name })),
    default_action: a.defaultAction.toUpperCase() as WireRouteAction,
  };
}

export function decodeAssignment(w: WirePolicyAssignment): PolicyAssignment | undefined {
  const dir = enumName(w.direction, ['UNKNOWN', 'IMPORT', 'EXPORT']);
  if (dir !== 'IMPORT' && dir !== 'EXPORT') return undefined;
  return {
    name: w.name ?? '',
    direction: dir === 'IMPORT' ? 'import' : 'export',
    policies: (w.policies ?? []).map((p) => p.name ?? ''),
    defaultAction: enumName(w.default_action, ROUTE_ACTIONS).toLowerCase() as RouteAction,
  };
}
