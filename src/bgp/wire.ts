// TypeScript shapes of the apipb messages in proto/, as @grpc/proto-loader
// hands them over with the options of client.ts (keepCase, enums: String,
// longs: Number, defaults: true, oneofs: true, json: true). Field names are
// the upstream snake_case ones. Reads are typed loosely (a field may be absent
// or null) because the wire may omit anything; codec*.ts narrows them.
// Only codec*.ts, client.ts and watch-decode.ts import this module.

export type Opt<T> = T | null | undefined;

export type WireAfi = 'AFI_UNKNOWN' | 'AFI_IP' | 'AFI_IP6';
export type WireSafi = 'SAFI_UNKNOWN' | 'SAFI_UNICAST';
export interface WireFamily {
  afi?: WireAfi | number;
  safi?: WireSafi | number;
}

/** A google.protobuf.Any in proto-loader's json form: '@type' plus the packed message's fields. */
export interface WireAny {
  '@type'?: string;
  type_url?: string;
  value?: Uint8Array;
  [field: string]: unknown;
}

export interface WireTimestamp {
  seconds?: number;
  nanos?: number;
}

export interface WireGracefulRestart {
  enabled?: boolean;
  restart_time?: number;
  helper_only?: boolean;
  deferral_time?: number;
  peer_restart_time?: number;
  peer_restarting?: boolean;
  local_restarting?: boolean;
}

export interface WireGlobal {
  asn?: number;
  router_id?: string;
  listen_port?: number;
  listen_addresses?: string[];
  graceful_restart?: Opt<WireGracefulRestart>;
}

export type WireSessionState =
  | 'UNKNOWN'
  | 'IDLE'
  | 'CONNECT'
  | 'ACTIVE'
  | 'OPENSENT'
  | 'OPENCONFIRM'
  | 'ESTABLISHED';

export interface WireMessageCounters {
  notification?: number;
  update?: number;
  open?: number;
  keepalive?: number;
  refresh?: number;
  discarded?: number;
  total?: number;
  withdraw_update?: number;
  withdraw_prefix?: number;
}

export interface WirePeer {
  conf?: Opt<{
    auth_password?: string;
    description?: string;
    local_asn?: number;
    neighbor_address?: string;
    peer_asn?: number;
    type?: 'INTERNAL' | 'EXTERNAL';
  }>;
  ebgp_multihop?: Opt<{ enabled?: boolean; multihop_ttl?: number }>;
  route_reflector?: Opt<{ route_reflector_client?: boolean; route_reflector_cluster_id?: string }>;
  state?: Opt<{
    description?: string;
    local_asn?: number;
    messages?: Opt<{ received?: Opt<WireMessageCounters>; sent?: Opt<WireMessageCounters> }>;
    neighbor_address?: string;
    peer_asn?: number;
    type?: 'INTERNAL' | 'EXTERNAL';
    session_state?: WireSessionState | number;
    admin_state?: 'UP' | 'DOWN' | 'PFX_CT' | number;
    flops?: number;
    router_id?: string;
  }>;
  timers?: Opt<{
    config?: Opt<{ connect_retry?: number; hold_time?: number; keepalive_interval?: number }>;
    state?: Opt<{
      connect_retry?: number;
      hold_time?: number;
      keepalive_interval?: number;
      negotiated_hold_time?: number;
      uptime?: Opt<WireTimestamp>;
      downtime?: Opt<WireTimestamp>;
    }>;
  }>;
  transport?: Opt<{
    local_address?: string;
    local_port?: number;
    passive_mode?: boolean;
    remote_address?: string;
    remote_port?: number;
  }>;
  graceful_restart?: Opt<WireGracefulRestart>;
  afi_safis?: WireAfiSafi[];
}

export interface WireAfiSafi {
  mp_graceful_restart?: Opt<{
    config?: Opt<{ enabled?: boolean }>;
    state?: Opt<{ enabled?: boolean; received?: boolean; advertised?: boolean }>;
  }>;
  config?: Opt<{ family?: Opt<WireFamily>; enabled?: boolean }>;
  state?: Opt<{
    family?: Opt<WireFamily>;
    enabled?: boolean;
    received?: number;
    accepted?: number;
    advertised?: number;
  }>;
}

export type WireTableType = 'GLOBAL' | 'LOCAL' | 'ADJ_IN' | 'ADJ_OUT';

export interface WirePath {
  nlri?: Opt<WireAny>;
  pattrs?: WireAny[];
  age?: Opt<WireTimestamp>;
  best?: boolean;
  is_withdraw?: boolean;
  family?: Opt<WireFamily>;
  source_asn?: number;
  source_id?: string;
  filtered?: boolean;
  stale?: boolean;
  is_from_external?: boolean;
  neighbor_ip?: string;
  uuid?: Uint8Array;
  is_nexthop_invalid?: boolean;
}

export interface WireDestination {
  prefix?: string;
  paths?: WirePath[];
}

export type WireDefinedType = 'PREFIX' | 'NEIGHBOR';

export interface WireDefinedSet {
  defined_type?: WireDefinedType | number;
  name?: string;
  list?: string[];
  prefixes?: { ip_prefix?: string; mask_length_min?: number; mask_length_max?: number }[];
}

export type WireMatchType = 'ANY' | 'ALL' | 'INVERT';
export type WireRouteAction = 'NONE' | 'ACCEPT' | 'REJECT';

export interface WireStatement {
  name?: string;
  conditions?: Opt<{
    prefix_set?: Opt<{ type?: WireMatchType | number; name?: string }>;
    neighbor_set?: Opt<{ type?: WireMatchType | number; name?: string }>;
  }>;
  actions?: Opt<{
    route_action?: WireRouteAction | number;
    community?: Opt<{ type?: 'ADD' | 'REMOVE' | 'REPLACE' | number; communities?: string[] }>;
    as_prepend?: Opt<{ asn?: number; repeat?: number; use_left_most?: boolean }>;
    nexthop?: Opt<{ address?: string; self?: boolean; unchanged?: boolean }>;
  }>;
}

export interface WirePolicy {
  name?: string;
  statements?: WireStatement[];
}

export type WirePolicyDirection = 'UNKNOWN' | 'IMPORT' | 'EXPORT';

export interface WirePolicyAssignment {
  name?: string;
  direction?: WirePolicyDirection | number;
  policies?: WirePolicy[];
  default_action?: WireRouteAction | number;
}

export interface WireWatchEventResponse {
  event?: 'peer' | 'table';
  peer?: Opt<{ type?: 'UNKNOWN' | 'INIT' | 'END_OF_INIT' | 'STATE' | number; peer?: Opt<WirePeer> }>;
  table?: Opt<{ paths?: WirePath[] }>;
}
