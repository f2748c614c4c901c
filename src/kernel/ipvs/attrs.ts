// Constants of the kernel's `IPVS` generic-netlink family, transcribed from
// /usr/include/linux/ip_vs.h (attribute types from the nla_policy tables of
// net/netfilter/ipvs/ip_vs_ctl.c). No JS library covers IPVS, so the codec on
// top of these is hand-written.

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

export const Cmd = {
  UNSPEC: 0,
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;
export type CmdName = keyof typeof Cmd;

/** `IPVS_CMD_NEW_SERVICE` etc., for error messages and error contexts. */
export function cmdName(cmd: number): string {
  for (const [k, v] of Object.entries(Cmd)) if (v === cmd) return `IPVS_CMD_${k}`;
  return `IPVS_CMD_${cmd}`;
}

/** `IPVS_CMD_ATTR_*`: top-level attributes of every message. */
export const CmdAttr = {
  SERVICE: 1, // nested IPVS_SVC_ATTR_*
  DEST: 2, // nested IPVS_DEST_ATTR_*
  DAEMON: 3, // nested IPVS_DAEMON_ATTR_*
  TIMEOUT_TCP: 4, // u32 seconds
  TIMEOUT_TCP_FIN: 5, // u32 seconds
  TIMEOUT_UDP: 6, // u32 seconds
} as const;

/** `IPVS_SVC_ATTR_*`. */
export const SvcAttr = {
  AF: 1, // u16
  PROTOCOL: 2, // u16
  ADDR: 3, // 16 bytes, union nf_inet_addr
  PORT: 4, // u16, network order
  FWMARK: 5, // u32
  SCHED_NAME: 6, // NUL-terminated, <= 16 bytes
  FLAGS: 7, // struct ip_vs_flags { u32 flags; u32 mask; }
  TIMEOUT: 8, // u32 seconds (persistence)
  NETMASK: 9, // u32, network order (IPv6: prefix length)
  STATS: 10, // nested IPVS_STATS_ATTR_*
  PE_NAME: 11, // NUL-terminated, <= 16 bytes
  STATS64: 12, // nested IPVS_STATS_ATTR_*, all u64
} as const;

/** `IPVS_DEST_ATTR_*`. */
export const DestAttr = {
  ADDR: 1, // 16 bytes, union nf_inet_addr
  PORT: 2, // u16, network order
  FWD_METHOD: 3, // u32, IP_VS_CONN_F_* & 7
  WEIGHT: 4, // u32 (s32 in the kernel)
  U_THRESH: 5, // u32
  L_THRESH: 6, // u32
  ACTIVE_CONNS: 7, // u32, read-only
  INACT_CONNS: 8, // u32, read-only
  PERSIST_CONNS: 9, // u32, read-only
  STATS: 10, // nested
  ADDR_FAMILY: 11, // u16
  STATS64: 12, // nested
  TUN_TYPE: 13, // u8
  TUN_PORT: 14, // u16, network order
  TUN_FLAGS: 15, // u16
} as const;

/** `IPVS_STATS_ATTR_*`. In STATS the byte counters are u64 and the rest u32; in STATS64 all u64. */
export const StatsAttr = {
  CONNS: 1,
  INPKTS: 2,
  OUTPKTS: 3,
  INBYTES: 4,
  OUTBYTES: 5,
  CPS: 6,
  INPPS: 7,
  OUTPPS: 8,
  INBPS: 9,
  OUTBPS: 10,
  PAD: 11,
} as const;

/** `IPVS_INFO_ATTR_*`. */
export const InfoAttr = {
  VERSION: 1, // u32, 0x010201 = 1.2.1
  CONN_TAB_SIZE: 2, // u32
} as const;

/** `IP_VS_SVC_F_*` service flags. */
export const SvcFlag = {
  PERSISTENT: 0x1,
  HASHED: 0x2, // set by the kernel on every dumped service; never ours to set
  ONEPACKET: 0x4,
  SCHED1: 0x8, // sh-fallback, mh-fallback
  SCHED2: 0x10, // sh-port, mh-port
  SCHED3: 0x20,
} as const;

/** `IP_VS_CONN_F_*` forwarding methods (`& IP_VS_CONN_F_FWD_MASK`). */
export const FwdMethodCode = {
  masq: 0,
  local: 1,
  tunnel: 2,
  route: 3,
  bypass: 4,
} as const;
export const FWD_MASK = 0x7;

/** `IP_VS_CONN_F_TUNNEL_TYPE_*`. */
export const TunType = { ipip: 0, gue: 1, gre: 2 } as const;

export const IP_VS_SCHEDNAME_MAXLEN = 16;
export const IP_VS_PENAME_MAXLEN = 16;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
