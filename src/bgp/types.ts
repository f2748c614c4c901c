// Plain typed values of the BGP layer: what the routing controller desires and
// what the state readers report. No protobuf or gRPC knowledge here (that is
// codec*.ts and client.ts).

export type IpFamily = 'ipv4' | 'ipv6';

/** BGP ORIGIN: 0 IGP, 1 EGP, 2 INCOMPLETE. */
export type Origin = 'igp' | 'egp' | 'incomplete';

export type AsSegmentType = 'as-set' | 'as-sequence' | 'as-confed-sequence' | 'as-confed-set';

export interface AsSegment {
  type: AsSegmentType;
  asns: number[];
}

/**
 * One unicast path, as the agent builds it (AddPath/DeletePath) and as it reads
 * it back (ListPath, WatchEvent). Communities are "high:low" strings.
 */
export interface BgpPath {
  /** CIDR with the host bits cleared, e.g. '10.244.1.0/24' or '2001:db8:1::/64'. */
  prefix: string;
  family: IpFamily;
  nextHop: string;
  origin: Origin;
  asPath?: AsSegment[];
  communities?: string[];
  localPref?: number;
  med?: number;
  isWithdraw: boolean;
  /** Read side only: gobgpd's best path for the prefix. */
  best?: boolean;
  /** Read side only: the peer it was learned from; absent for local paths. */
  neighborIp?: string;
  /** Read side only: seconds since the epoch at which gobgpd received it. */
  age?: number;
  /** Read side only: set by gobgpd on paths installed with AddPath. */
  uuid?: string;
  /** Read side only: rejected by import policy (ListPath with enableFiltered). */
  filtered?: boolean;
  /** Read side only: kept stale during a peer's graceful restart. */
  stale?: boolean;
}

export interface GracefulRestartConfig {
  enabled: boolean;
  /** Seconds. */
  restartTime: number;
  /** Seconds. */
  deferralTime: number;
  /** This speaker is restarting (kube-router sets it on start with GR on). */
  localRestarting?: boolean;
}

export interface GlobalConfig {
  asn: number;
  routerId: string;
  /** 0 means 179; negative means gobgpd does not listen. */
  listenPort: number;
  listenAddresses: string[];
  gracefulRestart?: GracefulRestartConfig;
}

export interface PeerSpec {
  neighborAddress: string;
  peerAsn: number;
  /** Local AS for this session; defaults to the global ASN. */
  localAsn?: number;
  description?: string;
  /** MD5 password in clear (never logged). */
  authPassword?: string;
  localAddress?: string;
  /** TCP port of the peer; default 179. */
  remotePort?: number;
  passive?: boolean;
  /** Seconds; default 90. */
  holdTime?: number;
  /** Seconds; default holdTime/3. */
  keepaliveInterval?: number;
  /** Seconds; default 120. */
  connectRetry?: number;
  /** Address families negotiated; default: the family of neighborAddress. */
  families?: IpFamily[];
  /** TTL for eBGP multihop; absent = direct. */
  ebgpMultihopTtl?: number;
  routeReflectorClient?: boolean;
  routeReflectorClusterId?: string;
  gracefulRestart?: { enabled: boolean; restartTime: number; deferralTime?: number };
}

export type SessionState = 'unknown' | 'idle' | 'connect' | 'active' | 'opensent' | 'openconfirm' | 'established';

export interface PeerFamilyStatus {
  family: IpFamily;
  received: number;
  accepted: number;
  advertised: number;
}

/** A peer as ListPeer reports it: its configuration plus its live state. */
export interface PeerStatus {
  spec: PeerSpec;
  sessionState: SessionState;
  adminDown: boolean;
  /** Seconds since the epoch at which the session came up (0 if never). */
  uptime: number;
  routerId: string;
  families: PeerFamilyStatus[];
  messages: { receivedTotal: number; sentTotal: number; receivedUpdates: number; sentUpdates: number };
}

export interface PrefixSetEntry {
  prefix: string;
  /** Defaults to the prefix length. */
  maskLengthMin?: number;
  /** Defaults to the prefix length. */
  maskLengthMax?: number;
}

export type DefinedSet =
  | { type: 'prefix'; name: string; prefixes: PrefixSetEntry[] }
  | { type: 'neighbor'; name: string; neighbors: string[] };

export type MatchType = 'any' | 'all' | 'invert';
export type RouteAction = 'none' | 'accept' | 'reject';

export interface Statement {
  name: string;
  conditions: {
    prefixSet?: { name: string; match: MatchType };
    neighborSet?: { name: string; match: MatchType };
  };
  actions: {
    routeAction: RouteAction;
    /** Communities ("high:low") to add / remove / replace with. */
    community?: { type: 'add' | 'remove' | 'replace'; communities: string[] };
    asPrepend?: { asn: number; repeat: number; useLeftMost?: boolean };
    nextHop?: { self?: boolean; address?: string; unchanged?: boolean };
  };
}

export interface Policy {
  name: string;
  statements: Statement[];
}

export type PolicyDirection = 'import' | 'export';

export interface PolicyAssignment {
  /** 'global' for the global RIB (the only one kube-router uses). */
  name: string;
  direction: PolicyDirection;
  /** Policy names, in evaluation order. */
  policies: string[];
  defaultAction: RouteAction;
}
