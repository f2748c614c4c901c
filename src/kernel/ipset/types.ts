// ipset: value types and the interfaces implemented by the Linux driver, the
// in-memory fake kernel, and the reconciler that diffs desired sets against
// the kernel and applies the minimum through ONE `ipset restore` per call.

export type IpsetFamily = 'inet' | 'inet6';

export type IpsetType = 'hash:ip' | 'hash:net' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'list:set';

export const IPSET_TYPES: readonly IpsetType[] = [
  'hash:ip',
  'hash:net',
  'hash:ip,port',
  'hash:ip,port,ip',
  'hash:ip,port,net',
  'list:set',
];

/** The kernel's limit (IPSET_MAXNAMELEN 32, including the NUL). */
export const IPSET_MAX_NAME_LEN = 31;

export interface IpsetOptions {
  /** Default entry timeout; kube-router creates its hash sets with `timeout 0` (permanent entries). */
  timeout?: number;
  /** Compared when set in the desired spec. */
  maxelem?: number;
  /** A creation hint only: never compared (the kernel grows it). */
  hashsize?: number;
  /** list:set only: creation hint, never compared. */
  size?: number;
}

/**
 * One set. Entries are in the kernel's canonical text form (what `ipset save`
 * prints, minus `timeout N`): `10.0.0.0/8`, `10.0.0.1` (a /32 net prints as an
 * address), `2001:db8::1`, `10.0.0.1,tcp:80`, `10.0.0.1,udp:53,10.0.0.2`,
 * and a trailing ` nomatch` for excluded nets. `normalizeEntry` turns looser
 * input (`10.1.2.3/8`, `10.0.0.1,80`, `2001:0DB8::0001`) into that form.
 * `family` is ignored for list:set.
 */
export interface IpsetSet {
  name: string;
  type: IpsetType;
  family: IpsetFamily;
  options: IpsetOptions;
  entries: Set<string>;
}

/** Which sets a read-back keeps. */
export interface IpsetSelector {
  /** Name prefixes (any). */
  prefixes?: readonly string[];
  /** Exact names. */
  names?: Iterable<string>;
  /** Arbitrary predicate (ORed with the above). */
  match?: (name: string) => boolean;
}

export interface IpsetApplyResult {
  /** Lines of the restore script run: 0 means nothing changed (and no process was started). */
  lines: number;
  created: string[];
  /** Changed member by member (small deltas; adds before deletes). */
  updated: string[];
  /** Replaced atomically through a TMP- set and `swap`. */
  swapped: string[];
  /** Destroyed and created again (type or family changed). */
  recreated: string[];
  unchanged: number;
  /** The desired sets as written (entries normalised): what the kernel now holds for them. */
  applied: IpsetSet[];
}

export interface IpsetDestroyResult {
  lines: number;
  destroyed: string[];
  /** Could not be destroyed (in use by iptables / a list:set, or already gone): kept, retried next sync. */
  kept: { name: string; reason: string }[];
}

export interface IpsetApplyOptions {
  /** Switch from add/del to a swap when more than max(this, |desired|/2) members change. Default 64. */
  swapThreshold?: number;
  /**
   * The sets as the caller last applied them (IpsetApplyResult.applied),
   * trusted instead of reading the kernel back. Only for a caller that owns
   * these sets and whose previous apply succeeded; a set missing from it is
   * created.
   */
  known?: ReadonlyMap<string, IpsetSet>;
}

export interface IpsetDestroyOptions {
  /** Sets this caller owns (name prefixes, usually). Only these are ever destroyed. */
  owned: (name: string) => boolean;
  /**
   * The sets the caller last wrote, trusted instead of reading the kernel:
   * the stale ones among them are destroyed, nothing is read back.
   */
  known?: Iterable<IpsetSet>;
}

/** High-level API used by the controllers. */
export interface Ipset {
  /** All selected sets, parsed, from ONE `ipset save`. */
  list(select: IpsetSelector): Promise<Map<string, IpsetSet>>;
  /**
   * Phase 1: create missing sets and bring existing ones to the desired
   * members and options, never leaving a live set empty. Call before writing
   * iptables rules that reference the sets.
   */
  applyCreatesAndUpdates(desired: readonly IpsetSet[], opts?: IpsetApplyOptions): Promise<IpsetApplyResult>;
  /**
   * Phase 2: destroy owned sets not in `desiredNames`. Call after iptables no
   * longer references them. Sets the kernel refuses to destroy are kept and reported.
   */
  destroyStale(desiredNames: Iterable<string>, opts: IpsetDestroyOptions): Promise<IpsetDestroyResult>;
}

/** The kernel side: what the Linux driver and the fake kernel both provide. */
export interface IpsetDriver {
  /** `ipset save` of every set. */
  save(): Promise<string>;
  /**
   * `ipset restore` of the script. Like the kernel, NOT transactional: lines
   * before a failing one stay applied. Throws an IpsetRestoreError naming the line.
   */
  restore(script: string): Promise<void>;
  /** The selected sets read directly (a netlink dump), when the driver can do better than `save` text. */
  read?(keep: (name: string) => boolean): Promise<Map<string, IpsetSet>>;
}
