// iptables: value types and interfaces. The controllers describe the chains
// they own and the jumps they insert into built-in chains; the reconciler
// reads back only those, and applies the difference as ONE
// `iptables-restore --noflush` transaction per table and family.

export type IptablesTable = 'filter' | 'nat' | 'mangle' | 'raw';
export type IptablesFamily = 'ipv4' | 'ipv6';
export type IptablesBackend = 'nft' | 'legacy';

export const BUILTIN_CHAINS: Readonly<Record<IptablesTable, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** XT_EXTENSION_MAXNAMELEN (29) minus the NUL. */
export const MAX_CHAIN_NAME_LEN = 28;

/**
 * A rule we insert into a built-in chain. `rule` is the iptables-restore text
 * after the chain name (`-m set --match-set kube-router-svip dst -j KUBE-ROUTER-SERVICES`);
 * `comment` is for humans (`kube-router netpol - <hash>`). The rule is
 * written with ONE comment `kr:<hash> <comment>`, the hash being how we
 * recognise it after a restart with no memory.
 */
export interface JumpRule {
  fromChain: string;
  rule: string;
  /** 'first': our 'first' jumps are the first rules of the chain, in the given order; 'last': the last ones. */
  position: 'first' | 'last';
  comment: string;
}

/** Desired state of the chains we own in one table, plus our jumps into built-in chains. */
export interface IptablesDesired {
  table: IptablesTable;
  /** Chain name -> rules (text after `-A CHAIN`, in order). Every name must be owned. */
  chains: ReadonlyMap<string, readonly string[]>;
  jumps: readonly JumpRule[];
}

export interface IptablesApplyOptions {
  /** Chains this caller owns (name prefixes). Owned chains not desired are deleted. */
  owned: (chain: string) => boolean;
  /**
   * Rules in built-in chains without our `kr:` hash that are nevertheless ours
   * (e.g. written by kube-router: `--comment "kube-router netpol - ..."`):
   * they are deleted unless desired. Receives the saved rule text after `-A CHAIN `.
   */
  adoptJump?: (savedRule: string) => boolean;
  /** Rewrite every desired chain even when its hashes match (periodic drift repair). */
  forceRewrite?: boolean;
}

export interface IptablesApplyResult {
  /** Lines of the restore transaction between `*table` and COMMIT: 0 means nothing changed (no process started). */
  lines: number;
  created: string[];
  rewritten: string[];
  deleted: string[];
  jumpsInserted: number;
  jumpsDeleted: number;
  /** Stale owned chains the kernel refused to delete (still referenced by someone else's rule): kept, retried next sync. */
  keptStale: { chain: string; reason: string }[];
}

/** One owned chain as read back. */
export interface OwnedChainState {
  name: string;
  /** The `kr:` hash of each rule, in order; null for a rule without one. */
  hashes: (string | null)[];
  /** Saved text of each rule after `-A CHAIN `. */
  rules: string[];
}

/** One of our rules in a built-in chain, as read back. */
export interface BuiltinRuleState {
  /** 0-based position among ALL rules of the chain. */
  index: number;
  hash: string | null;
  /** Saved text after `-A CHAIN ` (usable with `-D CHAIN <spec>`). */
  spec: string;
}

/** A built-in chain as read back: its total rule count and our rules in it. */
export interface BuiltinChainState {
  total: number;
  ours: BuiltinRuleState[];
}

export interface OwnedTableState {
  table: IptablesTable;
  chains: Map<string, OwnedChainState>;
  builtins: Map<string, BuiltinChainState>;
}

/** High-level API used by the controllers. */
export interface Iptables {
  readonly family: IptablesFamily;
  /** Our chains and our jumps in one table (the rest of the table is skipped while parsing). */
  read(table: IptablesTable, owned: (chain: string) => boolean, adoptJump?: (savedRule: string) => boolean): Promise<OwnedTableState>;
  /** Brings our chains and jumps in `desired.table` to the desired state in one atomic transaction. */
  apply(desired: IptablesDesired, opts: IptablesApplyOptions): Promise<IptablesApplyResult>;
  /**
   * Without reading the kernel: writes the chains that differ from
   * `previous` (what the caller applied last), in one transaction.
   * Undefined when the jumps differ (use apply). Optional.
   */
  applyChains?(desired: IptablesDesired, previous: IptablesDesired, opts: Pick<IptablesApplyOptions, 'owned'>): Promise<IptablesApplyResult | undefined>;
}

/** The kernel side: the Linux driver (`*-save` / `*-restore --noflush`) and the fake kernel. */
export interface IptablesDriver {
  readonly family: IptablesFamily;
  /** `iptables-save -t <table>`. */
  save(table: IptablesTable): Promise<string>;
  /** `iptables-restore --noflush --wait` of a whole `*table ... COMMIT` script: all or nothing. Throws IptablesRestoreError. */
  restore(script: string): Promise<void>;
}
