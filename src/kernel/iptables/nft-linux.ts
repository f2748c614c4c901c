// iptables-restore scripts applied over nf_tables netlink, in-process, for
// the iptables-nft backend: one nfnetlink batch (atomic, like the restore)
// after reading the rules of the chains it inserts into or deletes from.
// Why: under the lab's software emulation an `iptables-restore --noflush`
// of a new pod's chain (~110 rules) takes 120-270 ms parsing its input and
// reading the table, the whole of the firewall's p99 for a pod change
// (S6); the same batch over netlink is written directly. The rules are the
// expressions iptables-nft writes (nft-rule.ts), so iptables-nft-save and
// `iptables -D` read them as their own.
//
// The rules (handle, comment) of the chains it inserts into or deletes from
// are kept between transactions while the ruleset generation is the one our
// last batch left: each batch carries that generation (NFNL_BATCH_GENID), so
// the kernel refuses it if anything else changed the ruleset meanwhile, and
// the new rules' handles come back by NLM_F_ECHO. A pod joining the node then
// costs one generation query and one batch, not a dump of the top-level
// chains (which hold two rules per local pod).
//
// Chains the caller writes alone (`ownChains`: the firewall's KUBE-POD-FW-*,
// KUBE-NWPLCY-*, KUBE-ROUTER-INPUT/-FORWARD/-OUTPUT) keep their cached rules
// when another writer moves the generation (another controller's
// iptables-restore, this driver's own fallback, which forgets the chains its
// script named), as long as the table is the same one (its handle: a table
// deleted and re-created could reuse rule handles). A policy over a hundred
// local pods then inserts into a hundred pod chains without a dump of each
// (under the lab's emulation, 2-3 ms each). If one of those chains was
// changed by someone else after all, a handle the batch names is gone and
// the kernel refuses the batch (ENOENT), which then goes to iptables-restore;
// a foreign rule added to one of our chains is drift the periodic full
// resync rewrites.
//
// A script this writer cannot express, or one the kernel refuses (the batch
// is then aborted as a whole: nothing applied), is reported with a reason
// and the caller runs iptables-restore, which applies it or reports the
// failing line as before. Only an unknown outcome (no answer) throws.

import { KubeRouterError } from '../../errors.js';
import { AttrWriter } from '../netlink/attr-writer.js';
import { cstring, readAttrs } from '../netlink/attr-reader.js';
import { ChannelError, GenlChannel, type ChannelOptions } from '../netlink/channel.js';
import type { NfBatchMessage } from '../netlink/nf-batch.js';
import { Protocol } from 'netlink';
import { chainsToRead, parseRestoreScript, planNftMessages, type NftMessage, type NftRuleRef, type NftScript } from './nft-plan.js';
import { ruleSets, writeRuleExprs, type SetIndex } from './nft-rule.js';
import { Attr, NFNL_SUBSYS_IPSET } from '../ipset/nl-proto.js';
import type { IptablesFamily } from './types.js';

const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_DELCHAIN = 5;
const NFT_MSG_NEWRULE = 6;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_DELRULE = 8;
const NFT_MSG_GETTABLE = 1;
const NFT_MSG_GETGEN = 16;
const NFTA_GEN_ID = 1;
const NFTA_TABLE_NAME = 1;
const NFTA_TABLE_HANDLE = 4;
const NLM_F_ECHO = 0x8;
/** DELCHAIN: refuse a chain that still has rules, as iptables-nft's -X does. */
const NLM_F_NONREC = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_APPEND = 0x800;
const NFTA_RULE_TABLE = 1;
const NFTA_RULE_CHAIN = 2;
const NFTA_RULE_HANDLE = 3;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_RULE_POSITION = 6;
const NFTA_CHAIN_TABLE = 1;
const NFTA_CHAIN_NAME = 3;
/** The batch's generation is no longer the kernel's. */
const ERESTART = 85;
const NFPROTO: Record<IptablesFamily, number> = { ipv4: 2, ipv6: 10 };
/** ipset's GET_BYNAME: a set's kernel index, which x_tables' set match holds. It came with protocol 7. */
const IPSET_CMD_GET_BYNAME = 14;
const IPSET_PROTOCOL_GET_BYNAME = 7;
const IPSET_ATTR_INDEX = 11;
const GET_BYNAME_PER_DATAGRAM = 64;
/**
 * Transactions adding more rules than this go to iptables-restore. Its cost
 * is mostly fixed (a process that reads the ruleset once) and its per-rule
 * cost is C's, while ours is JavaScript's (parse, plan, encode; cold code on
 * a first sync): S5's full sync of 1,546 rules takes 170 ms over netlink and
 * 73 ms through iptables-restore on the development host, while a change of
 * a few hundred rules (S6 pod+first, ~300) is faster here. Large batches
 * also meet the socket's send buffer limit (~1,000 rules at a node's default
 * wmem_max), which would refuse them after encoding.
 */
export const NFT_MAX_RULES = 600;

const msgType = (t: number): number => (NFNL_SUBSYS_NFTABLES << 8) | t;

/** kernelMs: from the batch's send to its answer (the kernel applies it inside sendmsg). */
export type NftApplyOutcome = { applied: true; messages: number; chainsRead: number; kernelMs: number } | { applied: false; reason: string };

interface RuleCache {
  table: string;
  /** The generation these rules are valid at (all of them; only ownChains' past it). */
  genId: number;
  /** The table's handle (with ownChains): its own chains' rules are valid only in the same table. */
  tableHandle?: bigint;
  chains: Map<string, NftRuleRef[]>;
}

/** Rules a restore script appends or inserts (`-A` / `-I` lines). */
export function countRuleLines(script: string): number {
  let n = 0;
  for (let i = script.indexOf('\n-'); i >= 0; i = script.indexOf('\n-', i + 2)) {
    const c = script.charCodeAt(i + 2);
    if (c === 65 /* A */ || c === 73 /* I */) n++;
  }
  return n;
}

export class NftRestorer {
  private readonly ch: GenlChannel;
  private cache: RuleCache | undefined;

  constructor(
    readonly family: IptablesFamily,
    timeoutMs = 10_000,
    /** Socket buffers asked for (tests: a node's defaults, which the kernel caps them at). */
    buffers: Pick<ChannelOptions, 'recvBufferBytes' | 'sendBufferBytes'> = {},
    private readonly maxRules = NFT_MAX_RULES,
    /** Chains only this writer writes: their rules stay cached across other writers' changes (see the header). */
    private readonly ownChains?: (chain: string) => boolean,
  ) {
    this.ch = new GenlChannel({ protocol: Protocol.NETFILTER, timeoutMs, ...buffers });
  }

  close(): void {
    this.ch.close();
  }

  private request(): AttrWriter {
    return new AttrWriter(256).nfgen(NFPROTO[this.family], 0, 0);
  }

  private bad(what: string, object: string): (m: string) => Error {
    return (m) => new KubeRouterError('KR_ERR_KERNEL', `${what}: ${m}`, { call: what, object });
  }

  /** The ruleset's generation (NFT_MSG_GETGEN). */
  async genId(): Promise<number> {
    const replies = await this.ch.request(msgType(NFT_MSG_GETGEN), new AttrWriter(8).nfgen(0, 0, 0).finish(), false);
    for (const r of replies) {
      const id = readAttrs(r.subarray(4), this.bad('NFT_MSG_GETGEN', 'ruleset'))[NFTA_GEN_ID];
      if (id && id.length >= 4) return id.readUInt32BE(0);
    }
    throw this.bad('NFT_MSG_GETGEN', 'ruleset')('no generation in the answer');
  }

  /** The handle of `table`, undefined when there is no such table. */
  async tableHandle(table: string): Promise<bigint | undefined> {
    const w = this.request();
    w.string(NFTA_TABLE_NAME, table, 256);
    let replies: Buffer[];
    try {
      replies = await this.ch.request(msgType(NFT_MSG_GETTABLE), w.finish(), false);
    } catch (e) {
      if (e instanceof ChannelError && !e.timedOut) return undefined;
      throw e;
    }
    for (const r of replies) {
      const h = readAttrs(r.subarray(4), this.bad('NFT_MSG_GETTABLE', table))[NFTA_TABLE_HANDLE];
      if (h && h.length >= 8) return h.readBigUInt64BE(0);
    }
    return undefined;
  }

  /** Chains written by someone else (this driver's iptables-restore): their cached rules are dropped. */
  forget(chains: Iterable<string>): void {
    if (!this.cache) return;
    for (const c of chains) this.cache.chains.delete(c);
  }

  /** The rule cache valid at `genId` for `table`: kept, kept for ownChains only, or new. */
  private async cacheAt(table: string, genId: number): Promise<RuleCache> {
    const c = this.cache;
    if (c && c.table === table && c.genId === genId) return c;
    const tableHandle = this.ownChains ? await this.tableHandle(table) : undefined;
    const next: RuleCache = { table, genId, tableHandle, chains: new Map() };
    if (c && c.table === table && this.ownChains && tableHandle !== undefined && c.tableHandle === tableHandle) {
      for (const [name, refs] of c.chains) if (this.ownChains(name)) next.chains.set(name, refs);
    }
    this.cache = next;
    return next;
  }

  /** Handle and comment of each rule of `chain`, in order. */
  async readChain(table: string, chain: string): Promise<NftRuleRef[]> {
    const w = this.request();
    w.string(NFTA_RULE_TABLE, table, 256);
    w.string(NFTA_RULE_CHAIN, chain, 256);
    const replies = await this.ch.request(msgType(NFT_MSG_GETRULE), w.finish(), true);
    const bad = this.bad(`nf_tables rule dump of ${chain}`, chain);
    const out: NftRuleRef[] = [];
    for (const r of replies) {
      const attrs = readAttrs(r.subarray(4), bad);
      const handle = attrs[NFTA_RULE_HANDLE];
      if (!handle || handle.length < 8) throw bad('rule without a handle');
      // Replies of a filtered dump name their chain; skip anything else.
      const ch = attrs[NFTA_RULE_CHAIN];
      if (ch && cstring(ch) !== chain) continue;
      out.push({ handle: handle.readBigUInt64BE(0), comment: commentOf(attrs[NFTA_RULE_EXPRESSIONS], bad) });
    }
    return out;
  }

  /**
   * The kernel index of each set (IPSET_CMD_GET_BYNAME, GET_BYNAME_PER_DATAGRAM
   * requests per datagram: each is answered by a reply and an ACK, and a full
   * sync's thousand sets at once would overflow the receive buffer); absent:
   * no such set.
   */
  async setIndices(names: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < names.length; i += GET_BYNAME_PER_DATAGRAM) await this.setIndicesOf(names.slice(i, i + GET_BYNAME_PER_DATAGRAM), out);
    return out;
  }

  private async setIndicesOf(names: readonly string[], out: Map<string, number>): Promise<void> {
    const msgs: NfBatchMessage[] = names.map((name) => ({
      type: (NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_GET_BYNAME,
      flags: 0,
      write: (w) => {
        w.nfgen(NFPROTO[this.family], 0, 0);
        w.u8(Attr.PROTOCOL, IPSET_PROTOCOL_GET_BYNAME);
        w.string(Attr.SETNAME, name, 32);
      },
    }));
    const r = await this.ch.nfBatch(msgs, undefined);
    if (r.notSent !== undefined) throw new KubeRouterError('KR_ERR_KERNEL', `ipset index of ${names.length} sets: ${r.notSent}`, { call: 'IPSET_CMD_GET_BYNAME' });
    if (r.timedOut) throw new KubeRouterError('KR_ERR_KERNEL', `ipset index of ${names.length} sets: no answer`, { call: 'IPSET_CMD_GET_BYNAME' });
    names.forEach((name, i) => {
      if (r.errnos[i] !== 0) return;
      for (const reply of r.echoes[i]) {
        const idx = readAttrs(reply.subarray(4), this.bad('IPSET_CMD_GET_BYNAME', name))[IPSET_ATTR_INDEX];
        if (idx && idx.length >= 2) out.set(name, idx.readUInt16BE(0));
      }
    });
  }

  private message(table: string, m: NftMessage, echo: boolean, setIndex: SetIndex): NfBatchMessage {
    const fam = NFPROTO[this.family];
    const head = (w: AttrWriter, a: number, b: number): void => {
      w.nfgen(fam, 0, 0);
      w.string(a, table, 256);
      w.string(b, m.chain, 256);
    };
    switch (m.kind) {
      case 'newchain':
        return { type: msgType(NFT_MSG_NEWCHAIN), flags: NLM_F_CREATE | NLM_F_EXCL, write: (w) => head(w, NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME) };
      case 'delchain':
        return { type: msgType(NFT_MSG_DELCHAIN), flags: NLM_F_NONREC, write: (w) => head(w, NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME) };
      case 'flush':
        return { type: msgType(NFT_MSG_DELRULE), flags: 0, write: (w) => head(w, NFTA_RULE_TABLE, NFTA_RULE_CHAIN) };
      case 'delrule':
        return {
          type: msgType(NFT_MSG_DELRULE),
          flags: 0,
          write: (w) => {
            head(w, NFTA_RULE_TABLE, NFTA_RULE_CHAIN);
            w.u64be(NFTA_RULE_HANDLE, m.handle);
          },
        };
      case 'newrule':
        return {
          type: msgType(NFT_MSG_NEWRULE),
          flags: NLM_F_CREATE | (m.append ? NLM_F_APPEND : 0) | (echo ? NLM_F_ECHO : 0),
          write: (w) => {
            head(w, NFTA_RULE_TABLE, NFTA_RULE_CHAIN);
            if (m.position !== undefined) w.u64be(NFTA_RULE_POSITION, m.position);
            writeRuleExprs(w, NFTA_RULE_EXPRESSIONS, m.rule, setIndex);
          },
        };
    }
  }

  /** Applies `script` as one transaction, or says why it did not (nothing applied then). */
  async restore(script: string): Promise<NftApplyOutcome> {
    const rules = countRuleLines(script);
    if (rules > this.maxRules) return { applied: false, reason: `${rules} rules: more than ${this.maxRules}, which iptables-restore writes faster` };
    const parsed = parseRestoreScript(script, this.family);
    if (typeof parsed === 'string') return { applied: false, reason: parsed };
    for (let attempt = 1; ; attempt++) {
      const r = await this.attempt(parsed);
      // Another writer changed the ruleset between our read and our batch: read again, once.
      if (r === 'stale' && attempt === 1) continue;
      return r === 'stale' ? { applied: false, reason: 'the ruleset changed during the transaction' } : r;
    }
  }

  private async attempt(parsed: NftScript): Promise<NftApplyOutcome | 'stale'> {
    const table = parsed.table;
    const genId = await this.genId();
    const cache = await this.cacheAt(table, genId);
    let chainsRead = 0;
    for (const chain of chainsToRead(parsed)) {
      if (cache.chains.has(chain)) continue;
      try {
        cache.chains.set(chain, await this.readChain(table, chain));
        chainsRead++;
      } catch (e) {
        if (e instanceof ChannelError && !e.timedOut) return { applied: false, reason: `reading ${chain}: errno ${e.errno}` };
        throw e;
      }
    }
    const plan = planNftMessages(parsed, cache.chains);
    if (typeof plan === 'string') return { applied: false, reason: plan };
    if (plan.messages.length === 0) return { applied: true, messages: 0, chainsRead, kernelMs: 0 };
    // The sets the rules match on, by kernel index (looked up now: a set re-created has a new one).
    const wanted = new Set<string>();
    for (const m of plan.messages) if (m.kind === 'newrule') for (const name of ruleSets(m.rule)) wanted.add(name);
    const indices = await this.setIndices([...wanted]);
    for (const name of wanted) if (!indices.has(name)) return { applied: false, reason: `set ${name} not found` };
    const setIndex = (name: string): number => indices.get(name) ?? 0xffff;
    // Echo the rules added to the chains we keep, for their handles.
    const echo = plan.messages.map((m) => m.kind === 'newrule' && cache.chains.has(m.chain));
    const msgs = plan.messages.map((m, i) => this.message(table, m, echo[i], setIndex));
    const r = await this.ch.nfBatch(msgs, NFNL_SUBSYS_NFTABLES, genId);
    this.cache = undefined;
    if (r.notSent !== undefined) return { applied: false, reason: r.notSent };
    if (r.timedOut) throw new KubeRouterError('KR_ERR_KERNEL', `nf_tables batch of ${msgs.length} messages: no answer (outcome unknown)`, { call: 'nfnetlink batch' });
    if (r.batchErrno === ERESTART) return 'stale';
    if (r.batchErrno) return { applied: false, reason: `batch refused: errno ${r.batchErrno}` };
    const failed = r.errnos.findIndex((e) => e !== 0);
    if (failed >= 0) {
      const m = plan.messages[failed];
      return { applied: false, reason: `${m.kind} ${m.chain}: errno ${r.errnos[failed]}` };
    }
    // Committed: the generation moved by one (the batch was checked against genId), and the
    // kept chains are as planned, with the echoed handles of the rules this batch added.
    const next: RuleCache = { table, genId: (genId + 1) >>> 0, tableHandle: cache.tableHandle, chains: new Map() };
    for (const chain of cache.chains.keys()) {
      const planned = plan.chains.get(chain);
      if (!planned) continue;
      const refs: NftRuleRef[] = [];
      for (const p of planned) {
        const handle = p.handle ?? (p.message !== undefined ? echoedHandle(r.echoes[p.message]) : undefined);
        if (handle === undefined) break;
        refs.push({ handle, comment: p.comment });
      }
      if (refs.length === planned.length) next.chains.set(chain, refs);
    }
    this.cache = next;
    return { applied: true, messages: msgs.length, chainsRead, kernelMs: r.sendMs };
  }
}

/** The handle in an echoed NFT_MSG_NEWRULE. */
function echoedHandle(echoes: readonly Buffer[]): bigint | undefined {
  for (const e of echoes) {
    try {
      const h = readAttrs(e.subarray(4), (m) => new Error(m))[NFTA_RULE_HANDLE];
      if (h && h.length >= 8) return h.readBigUInt64BE(0);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The text of a rule's `comment` match, if it has one. */
function commentOf(exprs: Buffer | undefined, bad: (m: string) => Error): string | undefined {
  if (!exprs) return undefined;
  let found: string | undefined;
  readAttrs(exprs, bad, (_t, elem) => {
    if (found !== undefined) return;
    const e = readAttrs(elem, bad);
    if (!e[1] || cstring(e[1]) !== 'match' || !e[2]) return;
    const d = readAttrs(e[2], bad);
    if (d[1] && cstring(d[1]) === 'comment' && d[3]) found = cstring(d[3]);
  });
  return found;
}
