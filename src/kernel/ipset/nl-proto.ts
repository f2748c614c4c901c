// The kernel's ipset netlink protocol (include/uapi/linux/netfilter/ipset/
// ip_set.h, Linux 6.1): nfnetlink subsystem 6, commands, attribute numbers,
// flags and the ipset-specific errnos with the reasons `ipset` prints for
// them. Message type = (NFNL_SUBSYS_IPSET << 8) | command; every message
// starts with a struct nfgenmsg and carries IPSET_ATTR_PROTOCOL.

export const NFNL_SUBSYS_IPSET = 6;
export const NFNETLINK_V0 = 0;
/**
 * Sent in every request. The minimum protocol every ipset kernel accepts
 * (kernels with protocol 7 take 6 too; older ones only 6).
 */
export const IPSET_PROTOCOL = 6;

export const Cmd = {
  PROTOCOL: 1,
  CREATE: 2,
  DESTROY: 3,
  FLUSH: 4,
  RENAME: 5,
  SWAP: 6,
  LIST: 7,
  SAVE: 8,
  ADD: 9,
  DEL: 10,
  TEST: 11,
  HEADER: 12,
  TYPE: 13,
} as const;

/** Command-level attributes. */
export const Attr = {
  PROTOCOL: 1,
  SETNAME: 2,
  TYPENAME: 3,
  SETNAME2: 3,
  REVISION: 4,
  FAMILY: 5,
  FLAGS: 6,
  DATA: 7,
  ADT: 8,
  LINENO: 9,
  REVISION_MIN: 10,
} as const;

/** Attributes of an element (inside IPSET_ATTR_DATA of add/del and of a dump's ADT). */
export const Elem = {
  IP: 1,
  CIDR: 3,
  PORT: 4,
  TIMEOUT: 6,
  PROTO: 7,
  CADT_FLAGS: 8,
  LINENO: 9,
  NAME: 18,
  NAMEREF: 19,
  IP2: 20,
  CIDR2: 21,
} as const;

/** Attributes of a set header (inside IPSET_ATTR_DATA of create and of a dump). */
export const Head = {
  TIMEOUT: 6,
  HASHSIZE: 18,
  MAXELEM: 19,
  SIZE: 23,
  ELEMENTS: 24,
  REFERENCES: 25,
} as const;

/** Inside IPSET_ATTR_IP / IP2. */
export const IPADDR_IPV4 = 1;
export const IPADDR_IPV6 = 2;

/** IPSET_ATTR_CADT_FLAGS bits. */
export const IPSET_FLAG_NOMATCH = 1 << 2;

/** Address families of IPSET_ATTR_FAMILY (NFPROTO_*). */
export const NFPROTO_UNSPEC = 0;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

export const IPPROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, udplite: 136 };
export const PROTO_NAME: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite' };

/** Message type of a command. */
export function msgType(cmd: number): number {
  return (NFNL_SUBSYS_IPSET << 8) | cmd;
}

// Reasons as `ipset restore` words them, so callers (and operators) see the
// same text from the netlink driver as from the binary.
const GENERIC: Readonly<Record<number, string>> = {
  4097: 'Kernel error received: ipset protocol error',
  4098: 'Kernel error received: set type not supported',
  4099: 'Kernel error received: maximal number of sets reached, cannot create more',
  4100: 'Set cannot be destroyed: it is in use by a kernel component',
  4101: 'Set cannot be created: set with the same name already exists',
  4102: 'The sets cannot be swapped: their type does not match',
  4104: 'The value of the CIDR parameter of the IP address is invalid',
  4105: 'The value of the netmask parameter is invalid',
  4106: 'Protocol family not supported by the set type',
  4107: 'Timeout cannot be used: set was created without timeout support',
  4108: 'Set cannot be destroyed: it is in use by a kernel component',
  4109: 'An IPv4 address is expected, but not received',
  4110: 'An IPv6 address is expected, but not received',
};

const HASH: Readonly<Record<number, string>> = {
  4352: 'Hash is full, cannot add more elements',
  4353: 'Null-valued element, cannot be stored in a hash type of set',
  4354: 'Invalid protocol specified',
  4355: 'Protocol missing, but must be specified',
};

const LIST: Readonly<Record<number, string>> = {
  4352: 'Set to be added/deleted/tested as element does not exist',
  4353: 'Sets with list:set type cannot be added to the set',
  4355: 'Set to be added/deleted/tested as element does not exist',
  4356: 'The list:set is full, cannot add more elements',
  4357: "Element cannot be added to the set: it's already added",
};

/** The reason `ipset` prints for an errno of a command (`cmd`) on a set of `type` (when known). */
export function ipsetReason(errno: number, cmd: number, type?: string): string {
  if (errno === 4103) return cmd === Cmd.DEL ? "Element cannot be deleted from the set: it's not added" : "Element cannot be added to the set: it's already added";
  if (errno >= 4352) {
    const table = type === 'list:set' ? LIST : HASH;
    return table[errno] ?? `Kernel error received: type-specific error ${errno}`;
  }
  const r = GENERIC[errno];
  if (r) return r;
  switch (errno) {
    case 2:
      return 'The set with the given name does not exist';
    case 16:
      return 'Set cannot be destroyed: it is in use by a kernel component';
    case 17:
      return 'Set cannot be created: set with the same name already exists';
    case 1:
      return 'Kernel error received: Operation not permitted';
    case 22:
      return 'Kernel error received: Invalid argument';
    default:
      return `Kernel error received: errno ${errno}`;
  }
}
