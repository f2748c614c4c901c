// The real kernel through the ipset netlink subsystem, in process: the same
// contract as the `ipset` binary driver (linux.ts) without starting a
// process per read or write. A process start costs 60-100 ms in the lab
// guest (software emulation) and several ms on hardware, which an
// incremental firewall or proxy sync cannot afford (issue 6, S6).
//
// `restore` executes the `ipset restore` script language the reconciler
// writes, with the binary's semantics: lines run in order, the first failing
// line stops the script (the ones before stay applied) and is reported as
// `Error in line N: <reason>` in ipset's own words. Consecutive add/del lines
// of one set go out as one message (IPSET_ATTR_ADT, each element numbered);
// the kernel stops at the first failing element and names its line.
// create/add/del messages are pipelined (many per datagram, without waiting
// for each answer: a full sync's 91 sets are ~180 messages, and a round trip
// costs milliseconds under emulation), so lines after a failing one, up to
// the next swap/rename/destroy/flush, may have been applied too (the
// reconciler then reads the kernel back on its next sync). swap, rename,
// destroy and flush run one at a time, after every line before them was
// answered, so a script of destroys still stops at its first failure.
// `read` dumps the selected sets straight into IpsetSet values; `save`
// prints what `ipset save` prints (for diagnostics and the parser tests).

import { Protocol } from 'netlink';
import { KubeRouterError } from '../../errors.js';
import { ChannelError, GenlChannel } from '../netlink/channel.js';
import { IpsetRestoreError } from './errors.js';
import { createArgs } from './plan.js';
import { decodeListMessage, decodeTypeReply, encodeAdt, encodeCreate, encodeList, encodeNamed, encodeTypeQuery, errorLine, listedName, request, type DumpedSet } from './nl-codec.js';
import { Attr, Cmd, ipsetReason, msgType } from './nl-proto.js';
import { IPSET_TYPES, type IpsetDriver, type IpsetFamily, type IpsetOptions, type IpsetSet, type IpsetType } from './types.js';
import { NLA_F_NET_BYTEORDER } from '../netlink/attr-writer.js';

const CALL = 'ipset restore (netlink)';
const ENOENT = 2;
/**
 * NLM_F_EXCL on create/add/del: without it the kernel's ipset treats an
 * existing set or element as success (the binary's `-exist`); the binary
 * sends it, and so do we, so drift shows as an error like theirs.
 */
const NLM_F_EXCL = 0x200;
/** IPSET_FLAG_LIST_SETNAME: a dump of the names only. */
const LIST_SETNAME = 1 << 1;
/** Elements per ADT message (an IPv4 element is ~24 bytes, an ip,port,net one ~60). */
const ADT_BATCH = 1024;
/** Up to this many selected sets are dumped one by one; more, and one dump of all is filtered. */
const PER_SET_DUMPS = 32;

export interface NetlinkIpsetOptions {
  timeoutMs?: number;
}

class ScriptError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

interface Op {
  line: number;
  words: string[];
}

/** A create/add/del request waiting to go out with the next pipelined run. */
interface Pending {
  cmd: number;
  payload: Buffer;
  line: number;
  setType?: string;
}

export class NetlinkIpsetDriver implements IpsetDriver {
  private readonly ch: GenlChannel;
  /** `type/family` -> the highest revision the kernel has. */
  private readonly revisions = new Map<string, number>();

  constructor(opts: NetlinkIpsetOptions = {}) {
    this.ch = new GenlChannel({ protocol: Protocol.NETFILTER, timeoutMs: opts.timeoutMs ?? 10_000 });
  }

  close(): void {
    this.ch.close();
  }

  // ---- reading ----

  private async dump(name?: string): Promise<Buffer[]> {
    return this.ch.request(msgType(Cmd.LIST), encodeList(name), true);
  }

  /** Names of every set (a dump of names only). */
  async names(): Promise<string[]> {
    const w = request();
    w.u32be(Attr.FLAGS | NLA_F_NET_BYTEORDER, LIST_SETNAME);
    const msgs = await this.ch.request(msgType(Cmd.LIST), w.finish(), true);
    return msgs.map(listedName); // one message per set
  }

  async read(keep: (name: string) => boolean): Promise<Map<string, IpsetSet>> {
    const wanted = (await this.names()).filter(keep);
    const sets = new Map<string, DumpedSet>();
    if (wanted.length > PER_SET_DUMPS) {
      for (const m of await this.dump()) decodeListMessage(m, sets, keep);
    } else {
      for (const name of wanted) {
        let msgs: Buffer[];
        try {
          msgs = await this.dump(name);
        } catch (err) {
          if (err instanceof ChannelError && err.errno === ENOENT) continue; // destroyed meanwhile
          throw this.kernelError('ipset list (netlink)', err, name);
        }
        for (const m of msgs) decodeListMessage(m, sets, keep);
      }
    }
    const out = new Map<string, IpsetSet>();
    for (const d of sets.values()) {
      if (!d.set) {
        throw new KubeRouterError('KR_ERR_KERNEL', `ipset: set ${d.name} has type ${d.typeName}, which is not one we manage`, { call: 'ipset list (netlink)', object: d.name, value: d.typeName });
      }
      out.set(d.name, d.set);
    }
    return out;
  }

  async save(): Promise<string> {
    const sets = new Map<string, DumpedSet>();
    try {
      for (const m of await this.dump()) decodeListMessage(m, sets, () => true);
    } catch (err) {
      throw this.kernelError('ipset save (netlink)', err);
    }
    const lines: string[] = [];
    for (const d of sets.values()) {
      if (!d.set) {
        lines.push(`create ${d.name} ${d.typeName}`);
        continue;
      }
      lines.push(`create ${d.name} ${createArgs(d.set)}`);
      for (const e of d.set.entries) lines.push(`add ${d.name} ${e}`);
    }
    return lines.length ? lines.join('\n') + '\n' : '';
  }

  // ---- writing ----

  async restore(script: string): Promise<void> {
    const lines = script.split('\n');
    const ops: Op[] = [];
    lines.forEach((text, i) => {
      const t = text.trim();
      if (t === '' || t.startsWith('#') || t === 'COMMIT') return;
      ops.push({ line: i + 1, words: t.split(/\s+/) });
    });
    /** Set name -> type, for the add/del lines (created here or read from the kernel). */
    const types = new Map<string, IpsetType>();
    const pending: Pending[] = [];
    try {
      for (let i = 0; i < ops.length; ) i = await this.run(ops, i, types, pending);
      await this.sendPending(pending);
    } catch (err) {
      if (err instanceof ScriptError) {
        throw new IpsetRestoreError(CALL, `ipset v7.x (netlink): Error in line ${err.line}: ${err.reason}\n`, lines);
      }
      throw err;
    }
  }

  /** Runs the op at `i` (and the add/del lines that follow it on the same set); returns the next index. */
  private async run(ops: readonly Op[], i: number, types: Map<string, IpsetType>, pending: Pending[]): Promise<number> {
    const { line, words } = ops[i];
    const [cmd, name, ...rest] = words;
    const need = (n: number, what: string): void => {
      if (words.length < n) throw new ScriptError(line, `Syntax error: ${what}`);
    };
    switch (cmd) {
      case 'create': {
        need(3, 'create needs a set name and a type');
        const { type, family, options } = parseCreate(line, rest);
        // (A type's revision does not depend on the lines before: no need to send them first.)
        pending.push({ cmd: Cmd.CREATE, payload: encodeCreate(name, type, family, await this.revision(line, type, family), options), line });
        types.set(name, type);
        return i + 1;
      }
      case 'add':
      case 'del': {
        need(3, `${cmd} needs a set name and an element`);
        let type = types.get(name);
        if (type === undefined) {
          // The kernel's answer must reflect the lines before.
          await this.sendPending(pending);
          type = await this.typeOf(name, line);
        }
        types.set(name, type);
        let j = i;
        const elems: { entry: string; lineno: number }[] = [];
        while (j < ops.length && elems.length < ADT_BATCH && ops[j].words[0] === cmd && ops[j].words[1] === name && ops[j].words.length >= 3) {
          elems.push({ entry: ops[j].words.slice(2).join(' '), lineno: ops[j].line });
          j++;
        }
        let payload: Buffer;
        try {
          payload = encodeAdt(name, type, elems);
        } catch (err) {
          // Find the element that does not encode, for its line number.
          for (const e of elems) {
            try {
              encodeAdt(name, type, [e]);
            } catch (inner) {
              throw new ScriptError(e.lineno, `Syntax error: ${(inner as Error).message}`);
            }
          }
          throw err;
        }
        pending.push({ cmd: cmd === 'add' ? Cmd.ADD : Cmd.DEL, payload, line, setType: type });
        return j;
      }
      case 'swap':
      case 'rename':
        need(3, `${cmd} needs two set names`);
        await this.sendPending(pending);
        await this.send(cmd === 'swap' ? Cmd.SWAP : Cmd.RENAME, encodeNamed(name, rest[0]), line);
        types.delete(name);
        types.delete(rest[0]);
        return i + 1;
      case 'destroy':
      case 'flush':
        need(2, `${cmd} needs a set name`);
        await this.sendPending(pending);
        await this.send(cmd === 'destroy' ? Cmd.DESTROY : Cmd.FLUSH, encodeNamed(name), line);
        if (cmd === 'destroy') types.delete(name);
        return i + 1;
      default:
        throw new ScriptError(line, `Syntax error: unknown command "${cmd}"`);
    }
  }

  /** The pending create/add/del requests, pipelined; the first refusal becomes a ScriptError as in send. */
  private async sendPending(pending: Pending[]): Promise<void> {
    if (pending.length === 0) return;
    const reqs = pending.splice(0, pending.length);
    const results = await this.ch.pipelineRequests(reqs.map((p) => ({ type: msgType(p.cmd), flags: NLM_F_EXCL, payload: p.payload })));
    const i = results.findIndex((r) => r !== undefined);
    if (i < 0) return;
    const err = results[i] as ChannelError;
    const p = reqs[i];
    if (err.timedOut) throw this.kernelError(CALL, err, undefined, p.line);
    const at = err.payload && (p.cmd === Cmd.ADD || p.cmd === Cmd.DEL) ? errorLine(err.payload) : undefined;
    throw new ScriptError(at || p.line, ipsetReason(err.errno, p.cmd, p.setType));
  }

  /** One request; a refusal becomes a ScriptError naming the line (the kernel's, for ADT). */
  private async send(cmd: number, payload: Buffer, line: number, type?: string): Promise<void> {
    try {
      const excl = cmd === Cmd.CREATE || cmd === Cmd.ADD || cmd === Cmd.DEL ? NLM_F_EXCL : 0;
      await this.ch.request(msgType(cmd), payload, false, excl);
    } catch (err) {
      if (err instanceof ChannelError && !err.timedOut) {
        const at = err.payload && (cmd === Cmd.ADD || cmd === Cmd.DEL) ? errorLine(err.payload) : undefined;
        throw new ScriptError(at || line, ipsetReason(err.errno, cmd, type));
      }
      throw this.kernelError(CALL, err, undefined, line);
    }
  }

  private async typeOf(name: string, line: number): Promise<IpsetType> {
    const w = request();
    w.string(Attr.SETNAME, name, 32);
    w.u32be(Attr.FLAGS | NLA_F_NET_BYTEORDER, 1 << 2); // IPSET_FLAG_LIST_HEADER
    let msgs: Buffer[];
    try {
      msgs = await this.ch.request(msgType(Cmd.LIST), w.finish(), true);
    } catch (err) {
      if (err instanceof ChannelError && !err.timedOut) throw new ScriptError(line, ipsetReason(err.errno, Cmd.LIST));
      throw this.kernelError(CALL, err, name, line);
    }
    const sets = new Map<string, DumpedSet>();
    for (const m of msgs) decodeListMessage(m, sets, (n) => n === name);
    const d = sets.get(name);
    if (!d) throw new ScriptError(line, ipsetReason(ENOENT, Cmd.LIST));
    if (!d.set) throw new ScriptError(line, `set type ${d.typeName} is not supported by this driver`);
    return d.set.type;
  }

  private async revision(line: number, type: IpsetType, family: IpsetFamily): Promise<number> {
    const key = `${type}/${family}`;
    const known = this.revisions.get(key);
    if (known !== undefined) return known;
    let msgs: Buffer[];
    try {
      msgs = await this.ch.request(msgType(Cmd.TYPE), encodeTypeQuery(type, family), false);
    } catch (err) {
      if (err instanceof ChannelError && !err.timedOut) throw new ScriptError(line, ipsetReason(err.errno, Cmd.TYPE));
      throw this.kernelError(CALL, err, undefined, line);
    }
    if (msgs.length === 0) throw new ScriptError(line, `Kernel error received: no revision of ${type} reported`);
    const { max } = decodeTypeReply(msgs[0]);
    this.revisions.set(key, max);
    return max;
  }

  private kernelError(call: string, err: unknown, object?: string, line?: number): KubeRouterError {
    const msg = err instanceof Error ? err.message : String(err);
    return new KubeRouterError('KR_ERR_KERNEL', `${call}${object ? ` ${object}` : ''}: ${msg}`, { call, object, line }, { cause: err });
  }
}

/** `create` arguments after the name: type, then `family`, `hashsize`, `maxelem`, `timeout`, `size` (others ignored). */
function parseCreate(line: number, w: readonly string[]): { type: IpsetType; family: IpsetFamily; options: IpsetOptions } {
  const type = w[0] as IpsetType;
  if (!IPSET_TYPES.includes(type)) throw new ScriptError(line, `Syntax error: set type ${w[0]} is not supported`);
  let family: IpsetFamily = 'inet';
  const options: IpsetOptions = {};
  for (let i = 1; i < w.length; i++) {
    const k = w[i];
    const v = w[i + 1];
    if (k === 'family') {
      if (v !== 'inet' && v !== 'inet6') throw new ScriptError(line, `Syntax error: unknown family ${v}`);
      family = v;
      i++;
    } else if (k === 'hashsize' || k === 'maxelem' || k === 'timeout' || k === 'size') {
      if (!/^\d+$/.test(v ?? '')) throw new ScriptError(line, `Syntax error: ${k} needs a number`);
      options[k] = Number(v);
      i++;
    } else if (k === '-exist' || k === 'counters' || k === 'comment') {
      throw new ScriptError(line, `Syntax error: ${k} is not supported by this driver`);
    } else {
      throw new ScriptError(line, `Syntax error: unknown create option ${k}`);
    }
  }
  return { type, family, options };
}
