// Pure diff of desired vs actual BGP state into the minimal, ordered list of
// gobgpd operations. The gobgpd is the agent's own (it starts it), so
// anything in it that is not desired is removed.
//
// Policies are versioned by content: a desired policy `kube_router_export`
// lives in gobgpd as `kube_router_export-v<hash8>` with its statements renamed
// `<statement>-v<hash8>` (gobgpd statement names are global). A changed policy
// is thus a new name: add it, SetPolicyAssignment (one atomic switch of the
// assignment's policy list), then delete the old one; routes are never
// evaluated against a half-built policy.
//
// Order of the operations (each step only depends on earlier ones):
//   start-bgp, defined-set creations and member additions, new policies,
//   policy assignments, old policy deletions, member removals and set
//   deletions, peer deletions, peer additions/updates, path deletions, path additions.
import { createHash } from 'node:crypto';
import { decodeCommunity, encodeCommunity } from './codec.js';
import { neighborCidr, peerFamilies } from './codec-config.js';
import { canonicalIp, parseCidr } from './ip.js';
import type { BgpPath, DefinedSet, GlobalConfig, PeerSpec, Policy, PolicyAssignment, PolicyDirection, PrefixSetEntry } from './types.js';

export interface BgpState {
  global: GlobalConfig;
  peers: PeerSpec[];
  definedSets: DefinedSet[];
  /** Desired: logical names. Actual: names as in gobgpd (versioned). */
  policies: Policy[];
  /** Desired: logical policy names. Actual: gobgpd's names. */
  assignments: PolicyAssignment[];
  /** Locally originated paths only. */
  paths: BgpPath[];
}

export type BgpOp =
  | { op: 'stop-bgp' }
  | { op: 'start-bgp'; global: GlobalConfig }
  | { op: 'add-defined-set'; set: DefinedSet }
  | { op: 'delete-defined-set'; set: DefinedSet; all: boolean }
  | { op: 'add-policy'; policy: Policy }
  | { op: 'set-policy-assignment'; assignment: PolicyAssignment }
  | { op: 'delete-policy'; name: string }
  | { op: 'add-peer'; peer: PeerSpec }
  | { op: 'update-peer'; peer: PeerSpec }
  | { op: 'delete-peer'; address: string }
  | { op: 'add-path'; path: BgpPath }
  | { op: 'delete-path'; path: BgpPath };

export const EMPTY_STATE: BgpState = {
  global: { asn: 0, routerId: '', listenPort: 0, listenAddresses: [] },
  peers: [],
  definedSets: [],
  policies: [],
  assignments: [],
  paths: [],
};

const VERSION_RE = /^(.*)-v([0-9a-f]{8})$/;

/** A gobgpd policy name back to its logical name (`kube_router_export-v1234abcd` -> `kube_router_export`). */
export function logicalPolicyName(name: string): string {
  return VERSION_RE.exec(name)?.[1] ?? name;
}

/** The policy as stored in gobgpd: name and statement names suffixed with a hash of its content. */
export function versionPolicy(p: Policy): Policy {
  const content = JSON.stringify(p.statements.map((s) => ({ ...s, actions: normalizeActions(s.actions) })));
  const h = createHash('sha256').update(`${p.name}\n${content}`).digest('hex').slice(0, 8);
  return { name: `${p.name}-v${h}`, statements: p.statements.map((s) => ({ ...s, name: `${s.name}-v${h}` })) };
}

function normalizeActions(a: Policy['statements'][number]['actions']): Policy['statements'][number]['actions'] {
  if (!a.community) return a;
  return { ...a, community: { ...a.community, communities: a.community.communities.map(canonicalCommunityText) } };
}

function canonicalCommunityText(c: string): string {
  try {
    return decodeCommunity(encodeCommunity(c));
  } catch {
    return c;
  }
}

// ---- normalisation (gobgpd's defaults made explicit on both sides) ----

const DEFAULT_HOLD_TIME = 90;
const DEFAULT_CONNECT_RETRY = 120;
const BGP_PORT = 179;

/** The peer with gobgpd's defaults filled in, for comparison. */
export function normalizePeer(p: PeerSpec, globalAsn: number): PeerSpec {
  const holdTime = p.holdTime || DEFAULT_HOLD_TIME;
  const out: PeerSpec = {
    neighborAddress: canonicalIp(p.neighborAddress) ?? p.neighborAddress,
    peerAsn: p.peerAsn,
    localAsn: p.localAsn || globalAsn,
    holdTime,
    keepaliveInterval: p.keepaliveInterval || Math.floor(holdTime / 3),
    connectRetry: p.connectRetry || DEFAULT_CONNECT_RETRY,
    families: [...new Set(peerFamilies(p))].sort(),
  };
  if (p.description) out.description = p.description;
  if (p.authPassword) out.authPassword = p.authPassword;
  if (p.localAddress) {
    const local = canonicalIp(p.localAddress) ?? p.localAddress;
    if (local !== '0.0.0.0' && local !== '::') out.localAddress = local;
  }
  if (p.remotePort && p.remotePort !== BGP_PORT) out.remotePort = p.remotePort;
  if (p.passive) out.passive = true;
  if (p.ebgpMultihopTtl) out.ebgpMultihopTtl = p.ebgpMultihopTtl;
  if (p.routeReflectorClient) out.routeReflectorClient = true;
  if (p.routeReflectorClient && p.routeReflectorClusterId) out.routeReflectorClusterId = p.routeReflectorClusterId;
  if (p.gracefulRestart?.enabled) {
    out.gracefulRestart = { enabled: true, restartTime: p.gracefulRestart.restartTime, deferralTime: p.gracefulRestart.deferralTime ?? 0 };
  }
  return out;
}

function peerEqual(desired: PeerSpec, actual: PeerSpec): boolean {
  const a = { ...actual };
  // gobgpd fills in a cluster id (its router id) when none is given.
  if (desired.routeReflectorClusterId === undefined) delete a.routeReflectorClusterId;
  // A GR deferral time left at 0 is filled in by gobgpd.
  if (desired.gracefulRestart && a.gracefulRestart && desired.gracefulRestart.deferralTime === 0) {
    a.gracefulRestart = { ...a.gracefulRestart, deferralTime: 0 };
  }
  return JSON.stringify(desired) === JSON.stringify(a);
}

function prefixEntryKey(e: PrefixSetEntry): string {
  const c = parseCidr(e.prefix);
  const prefix = c ? `${c.address}/${c.length}` : e.prefix;
  let min = e.maskLengthMin ?? 0;
  let max = e.maskLengthMax ?? 0;
  // gobgpd lists an exact-match entry as 0..0.
  if (c && min === 0 && max === 0) min = max = c.length;
  return `${prefix} ${min}..${max}`;
}

function setKey(s: DefinedSet): string {
  return `${s.type}/${s.name}`;
}

/** The members of a set by their canonical key. */
function members(s: DefinedSet): Map<string, DefinedSet> {
  const out = new Map<string, DefinedSet>();
  if (s.type === 'prefix') {
    for (const e of s.prefixes) out.set(prefixEntryKey(e), { type: 'prefix', name: s.name, prefixes: [e] });
  } else {
    for (const n of s.neighbors) out.set(neighborCidr(canonicalIp(n) ?? n), { type: 'neighbor', name: s.name, neighbors: [n] });
  }
  return out;
}

function mergeMembers(name: string, type: DefinedSet['type'], parts: DefinedSet[]): DefinedSet {
  if (type === 'prefix') return { type, name, prefixes: parts.flatMap((p) => (p.type === 'prefix' ? p.prefixes : [])) };
  return { type, name, neighbors: parts.flatMap((p) => (p.type === 'neighbor' ? p.neighbors : [])) };
}

/** The path with canonical prefix, next hop and communities, for comparison. */
export function normalizePath(p: BgpPath): BgpPath {
  const c = parseCidr(p.prefix);
  const out: BgpPath = {
    prefix: c ? `${c.address}/${c.length}` : p.prefix,
    family: p.family,
    nextHop: canonicalIp(p.nextHop) ?? p.nextHop,
    origin: p.origin,
    isWithdraw: false,
  };
  if (p.asPath && p.asPath.length > 0) out.asPath = p.asPath;
  if (p.communities && p.communities.length > 0) out.communities = p.communities.map(canonicalCommunityText);
  if (p.localPref !== undefined) out.localPref = p.localPref;
  if (p.med !== undefined) out.med = p.med;
  return out;
}

function pathKey(p: BgpPath): string {
  return JSON.stringify([p.prefix, p.nextHop, p.origin, p.asPath ?? [], p.communities ?? [], p.localPref ?? null, p.med ?? null]);
}

function assignmentKey(name: string, d: PolicyDirection): string {
  return `${name}/${d}`;
}

// ---- the diff ----

export function diffBgp(desired: BgpState, actualIn: BgpState): BgpOp[] {
  const ops: BgpOp[] = [];
  let actual = actualIn;
  const g = desired.global;
  if (actual.global.asn === 0) {
    ops.push({ op: 'start-bgp', global: g });
    actual = { ...EMPTY_STATE, global: g };
  } else if (actual.global.asn !== g.asn || actual.global.routerId !== g.routerId || actual.global.listenPort !== g.listenPort) {
    // gobgpd cannot change its global config in place: stop and start again.
    // StopBgp clears everything (peers, paths, sets, policies, assignments: checked on 3.10).
    ops.push({ op: 'stop-bgp' }, { op: 'start-bgp', global: g });
    actual = { ...EMPTY_STATE, global: g };
  }

  // Defined sets: creations and member additions first.
  const actualSets = new Map(actual.definedSets.map((s) => [setKey(s), s]));
  const desiredSets = new Map(desired.definedSets.map((s) => [setKey(s), s]));
  const setRemovals: BgpOp[] = [];
  for (const [key, d] of desiredSets) {
    const a = actualSets.get(key);
    if (!a) {
      ops.push({ op: 'add-defined-set', set: d });
      continue;
    }
    const dm = members(d);
    const am = members(a);
    const added = [...dm].filter(([k]) => !am.has(k)).map(([, v]) => v);
    const removed = [...am].filter(([k]) => !dm.has(k)).map(([, v]) => v);
    if (added.length > 0) ops.push({ op: 'add-defined-set', set: mergeMembers(d.name, d.type, added) });
    if (removed.length > 0) setRemovals.push({ op: 'delete-defined-set', set: mergeMembers(d.name, d.type, removed), all: false });
  }
  for (const [key, a] of actualSets) {
    if (!desiredSets.has(key)) setRemovals.push({ op: 'delete-defined-set', set: a, all: true });
  }

  // Policies: new versions, then the assignments switch, then old versions go.
  const versions = new Map(desired.policies.map((p) => [p.name, versionPolicy(p)]));
  const actualPolicyNames = new Set(actual.policies.map((p) => p.name));
  const wanted = new Set([...versions.values()].map((p) => p.name));
  for (const v of versions.values()) {
    if (!actualPolicyNames.has(v.name)) ops.push({ op: 'add-policy', policy: v });
  }
  const actualAssign = new Map(actual.assignments.map((a) => [assignmentKey(a.name, a.direction), a]));
  const desiredAssign = new Map(desired.assignments.map((a) => [assignmentKey(a.name, a.direction), a]));
  for (const [key, d] of desiredAssign) {
    const want: PolicyAssignment = { ...d, policies: d.policies.map((n) => versions.get(n)?.name ?? n) };
    const a = actualAssign.get(key);
    if (!a || a.defaultAction !== want.defaultAction || a.policies.join('\n') !== want.policies.join('\n')) {
      ops.push({ op: 'set-policy-assignment', assignment: want });
    }
  }
  for (const [key, a] of actualAssign) {
    if (desiredAssign.has(key)) continue;
    if (a.policies.length > 0 || a.defaultAction === 'reject') {
      ops.push({ op: 'set-policy-assignment', assignment: { ...a, policies: [], defaultAction: 'accept' } });
    }
  }
  for (const p of actual.policies) {
    if (!wanted.has(p.name)) ops.push({ op: 'delete-policy', name: p.name });
  }
  ops.push(...setRemovals);

  // Peers.
  const actualPeers = new Map(actual.peers.map((p) => [canonicalIp(p.neighborAddress) ?? p.neighborAddress, p]));
  const desiredPeers = new Map(desired.peers.map((p) => [canonicalIp(p.neighborAddress) ?? p.neighborAddress, p]));
  for (const [addr, a] of actualPeers) {
    if (!desiredPeers.has(addr)) ops.push({ op: 'delete-peer', address: a.neighborAddress });
  }
  for (const [addr, d] of desiredPeers) {
    const a = actualPeers.get(addr);
    if (!a) ops.push({ op: 'add-peer', peer: d });
    else if (!peerEqual(normalizePeer(d, g.asn), normalizePeer(a, g.asn))) ops.push({ op: 'update-peer', peer: d });
  }

  // Local paths: one per prefix; a changed one is re-added (gobgpd replaces it).
  const actualPaths = new Map(actual.paths.map((p) => [normalizePath(p).prefix, p]));
  const desiredPaths = new Map(desired.paths.map((p) => [normalizePath(p).prefix, p]));
  for (const [prefix, a] of actualPaths) {
    if (!desiredPaths.has(prefix)) ops.push({ op: 'delete-path', path: a });
  }
  for (const [prefix, d] of desiredPaths) {
    const a = actualPaths.get(prefix);
    if (!a || pathKey(normalizePath(a)) !== pathKey(normalizePath(d))) ops.push({ op: 'add-path', path: d });
  }
  return ops;
}
