// One netlink socket (generic netlink by default, or another protocol such
// as NETLINK_NETFILTER for ipset) talking to one family or subsystem, with what the `netlink`
// package leaves to its users: a timeout on every request, dumps serialized
// (the package keeps one multipart buffer per socket and the kernel refuses a
// second dump on a socket with EBUSY), errnos kept as numbers (the package's
// own check throws `Request rejected: EEXIST` strings), and pipelining of
// non-dump requests (each has its own sequence number and ACK).

import { sendBatch, type BatchRequest } from '../rtnl/batch.js';
import { sendNfBatch, type NfBatchMessage, type NfBatchResult } from './nf-batch.js';
import {
  CTRL_VERSION,
  FlagsGet,
  GENL_ID_CTRL,
  MessageType,
  Protocol,
  createNetlink,
  formatGenlHeader,
  genl,
  parseError,
  parseGenlHeader,
  type NetlinkSocket,
} from 'netlink';

export const DEFAULT_TIMEOUT_MS = 5_000;
const BUFFER_BYTES = 4 << 20;

/** A request the kernel refused (`errno` > 0) or that timed out (`timedOut`). */
export class ChannelError extends Error {
  constructor(
    readonly errno: number,
    readonly timedOut: boolean,
    message: string,
    /** The NLMSG_ERROR payload (errno and the echoed request), when the kernel answered. */
    readonly payload?: Buffer,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** Serializes async sections. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export interface ChannelOptions {
  /** Netlink protocol of the socket. Default NETLINK_GENERIC. */
  protocol?: Protocol;
  timeoutMs?: number;
  /** SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max). Default 4 MiB. */
  recvBufferBytes?: number;
  /** SO_SNDBUF asked for (capped at net.core.wmem_max; a datagram must fit). Default 4 MiB. */
  sendBufferBytes?: number;
}

export class GenlChannel {
  private nl: NetlinkSocket | undefined;
  private readonly mutex = new Mutex();
  readonly timeoutMs: number;
  private readonly protocol: Protocol;
  private readonly recvBufferBytes: number;
  private readonly sendBufferBytes: number;

  constructor(opts: ChannelOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.protocol = opts.protocol ?? Protocol.GENERIC;
    this.recvBufferBytes = opts.recvBufferBytes ?? BUFFER_BYTES;
    this.sendBufferBytes = opts.sendBufferBytes ?? BUFFER_BYTES;
  }

  private socket(): NetlinkSocket {
    if (!this.nl) {
      this.nl = createNetlink(this.protocol, { recvBufferSize: this.recvBufferBytes, sendBufferSize: this.sendBufferBytes });
    }
    return this.nl;
  }

  /** After a timeout the socket may hold half a dump: start over on a fresh one. */
  private reset(sock?: NetlinkSocket): void {
    if (sock !== undefined && sock !== this.nl) return; // already replaced
    this.nl?.close();
    this.nl = undefined;
  }

  close(): void {
    this.reset();
  }

  /** Family id of a generic-netlink family by name (control dump), undefined if absent. */
  resolveFamily(name: string): Promise<number | undefined> {
    return this.mutex.run(async () => {
      const req = formatGenlHeader({ cmd: genl.Commands.GET_FAMILY, version: CTRL_VERSION });
      const replies = await this.raw(GENL_ID_CTRL, req, true);
      for (const r of replies) {
        const { consumed } = parseGenlHeader(r);
        const f = genl.parseMessage(r.subarray(consumed));
        if (f.familyName === name) return f.familyId;
      }
      return undefined;
    });
  }

  /** One request, exclusive on the socket. Returns the reply payloads (genl header + attributes). */
  request(family: number, payload: Buffer, dump: boolean, extraFlags = 0): Promise<Buffer[]> {
    return this.mutex.run(() => this.raw(family, payload, dump, extraFlags));
  }

  /**
   * Non-dump requests sent without waiting for each ACK in turn (several per
   * datagram, at most `window` awaiting their ACK; see batch.ts), exclusive on
   * the socket for the whole batch. Returns one result per request, in
   * order: undefined for an ACK, the error otherwise.
   */
  pipeline(family: number, payloads: readonly Buffer[], window = 256): Promise<Array<ChannelError | undefined>> {
    return this.pipelineRequests(
      payloads.map((payload) => ({ type: family, payload })),
      window,
    );
  }

  /** As pipeline, each request with its own message type and flags; a refusal carries the kernel's NLMSG_ERROR payload. */
  pipelineRequests(requests: readonly BatchRequest[], window = 256): Promise<Array<ChannelError | undefined>> {
    return this.mutex.run(async () => {
      const sock = this.socket();
      const results = await sendBatch(sock, requests, { window, timeoutMs: this.timeoutMs });
      let lost = false;
      const out = results.map((r) => {
        if (r.errno === 0) return undefined;
        if (r.errno > 0) return new ChannelError(r.errno, false, r.detail ?? `errno ${r.errno}`, r.data);
        lost = true;
        return new ChannelError(0, true, r.detail ?? 'no answer');
      });
      if (lost) this.reset(sock);
      return out;
    });
  }

  /** One nfnetlink transaction (nf_tables), or with `resId` undefined independent requests in one datagram; see nf-batch.ts. */
  nfBatch(msgs: readonly NfBatchMessage[], resId: number | undefined, genId?: number): Promise<NfBatchResult> {
    return this.mutex.run(async () => {
      const sock = this.socket();
      const r = await sendNfBatch(sock, msgs, resId, this.timeoutMs, genId);
      if (r.timedOut) this.reset(sock);
      return r;
    });
  }

  private async raw(family: number, payload: Buffer, dump: boolean, extraFlags = 0): Promise<Buffer[]> {
    const sock = this.socket();
    let msgs;
    try {
      [msgs] = await sock.request(family, payload, {
        flags: (dump ? FlagsGet.DUMP : 0) | extraFlags,
        timeout: this.timeoutMs,
        checkError: false,
      });
    } catch (e) {
      const msg = (e as Error).message;
      if (/Timeout/.test(msg)) {
        this.reset(sock);
        throw new ChannelError(0, true, `no reply within ${this.timeoutMs} ms`);
      }
      const errno = (e as { errno?: number }).errno;
      throw new ChannelError(typeof errno === 'number' ? Math.abs(errno) : 0, false, msg);
    }
    const out: Buffer[] = [];
    for (const m of msgs) {
      if (m.type === MessageType.ERROR) {
        const { errno } = parseError(m.data, m.flags);
        if (errno !== 0) throw new ChannelError(Math.abs(errno), false, `errno ${Math.abs(errno)}`, m.data);
        continue;
      }
      if (m.type === MessageType.DONE || m.type === MessageType.NOOP) continue;
      out.push(m.data);
    }
    return out;
  }
}
