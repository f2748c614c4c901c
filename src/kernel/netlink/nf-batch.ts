// One nfnetlink batch (nf_tables' transaction): BATCH_BEGIN, the messages,
// BATCH_END, in ONE datagram (the kernel processes a batch per skb and
// aborts one without its END). The kernel queues each message's error (and
// its ACK when asked for) and delivers them in message order after the
// batch is committed or aborted (nfnetlink_rcv_batch). Only the LAST
// message asks for an ACK: thousands of ACKs (a full sync) overflow the
// socket's receive buffer (SO_RCVBUF is capped by net.core.rmem_max), and
// the answer is complete anyway once the last message has answered, every
// error of the messages before it having come first. A commit that fails,
// or an error the kernel could not queue, is answered on the BEGIN
// message's sequence number.
//
// The kernel processes the batch inside sendmsg, which the `netlink`
// package calls on the event loop's thread: the timeout starts when the
// send has returned, so a batch that takes longer than it to apply is not
// taken for a lost answer.
//
// The `netlink` package has no batch API: the frames go out through its raw
// socket and the answers come back as its `message` events, as in
// rtnl/batch.ts.

import { Flags, MessageType, parseError, type NetlinkMessage, type NetlinkSocket } from 'netlink';
import { AttrWriter } from './attr-writer.js';

export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;

export interface NfBatchMessage {
  /** (subsystem << 8) | message type. */
  type: number;
  /** Flags besides REQUEST and ACK (CREATE, EXCL, APPEND ...). */
  flags: number;
  /** Writes nfgenmsg + attributes (into the one datagram of the batch). */
  write: (w: AttrWriter) => void;
}

export interface NfBatchResult {
  /** Per message: 0 when accepted, the kernel's errno otherwise. */
  errnos: number[];
  /** The batch as a whole failed (commit refused, or the errors could not be queued). */
  batchErrno: number;
  /** No complete answer within the timeout: the outcome is unknown. */
  timedOut: boolean;
  /** Why the batch was not sent at all (the kernel never saw it): too large for the socket, or sendmsg failed. */
  notSent?: string;
  /** Per message, what the kernel sent back besides the ACK (NLM_F_ECHO): the payloads. */
  echoes: Buffer[][];
  /** From the send to the answer (ms): the kernel applying the whole batch (inside sendmsg), then answering. */
  sendMs: number;
}

/** NFNL_BATCH_GENID: refuse the batch (ERESTART) unless the ruleset is still at this generation. */
const NFNL_BATCH_GENID = 1;

/**
 * `resId` undefined: not a batch, but independent requests in one datagram
 * (each answered on its own: replies in `echoes`, then its ACK).
 */
export function sendNfBatch(sock: NetlinkSocket, msgs: readonly NfBatchMessage[], resId: number | undefined, timeoutMs: number, genId?: number): Promise<NfBatchResult> {
  const port = sock.address().port;
  const w = new AttrWriter(64 << 10);
  const beginSeq = sock.generateSeq();
  // struct nfgenmsg { u8 family (AF_UNSPEC); u8 version; __be16 res_id; }
  if (resId !== undefined) {
    w.message(NFNL_MSG_BATCH_BEGIN, Flags.REQUEST, beginSeq, port, () => {
      w.nfgen(0, 0, resId);
      if (genId !== undefined) w.u32be(NFNL_BATCH_GENID, genId);
    });
  }
  const index = new Map<number, number>();
  const isBatch = resId !== undefined;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    const seq = sock.generateSeq();
    index.set(seq, i);
    const ack = !isBatch || i === msgs.length - 1 ? Flags.ACK : 0;
    w.message(m.type, Flags.REQUEST | ack | m.flags, seq, port, () => m.write(w));
  }
  if (resId !== undefined) w.message(NFNL_MSG_BATCH_END, Flags.REQUEST, sock.generateSeq(), port, () => w.nfgen(0, 0, resId));
  const datagram = w.finish();
  const result: NfBatchResult = { errnos: new Array<number>(msgs.length).fill(-1), batchErrno: 0, timedOut: false, echoes: msgs.map(() => []), sendMs: 0 };
  // The kernel refuses a datagram larger than the socket's send buffer (EMSGSIZE), which SO_SNDBUF
  // cannot raise past net.core.wmem_max (iptables-nft uses SO_SNDBUFFORCE; the `netlink` package
  // has no such call). A batch is one datagram: a larger one is not sent, and the caller falls back.
  const limit = sock.socket.getSendBufferSize() - 64;
  if (datagram.length > limit) return Promise.resolve({ ...result, notSent: `a batch of ${datagram.length} bytes exceeds the socket's send buffer (${limit} bytes; net.core.wmem_max)` });
  let answered = 0;
  /** When the datagram went out: the kernel applies the batch inside that sendmsg, then answers. */
  let sent = 0;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    /** Batch messages without an answer got no error: they were applied, or aborted with the batch. */
    const unansweredSucceeded = (): void => {
      for (let j = 0; j < msgs.length; j++) if (result.errnos[j] === -1) result.errnos[j] = 0;
    };
    const finish = (): void => {
      if (sent) result.sendMs = performance.now() - sent;
      clearTimeout(timer);
      sock.off('message', onMessage);
      sock.off('error', lost);
      resolve(result);
    };
    function onMessage(replies: NetlinkMessage[]): void {
      for (const m of replies) {
        if (m.type !== MessageType.ERROR) {
          const i = index.get(m.seq);
          if (i !== undefined) result.echoes[i].push(m.data);
          continue;
        }
        const errno = Math.abs(parseError(m.data, m.flags).errno);
        if (m.seq === beginSeq) {
          result.batchErrno = errno || result.batchErrno;
          if (errno) return finish();
          continue;
        }
        const i = index.get(m.seq);
        if (i === undefined || result.errnos[i] !== -1) continue;
        result.errnos[i] = errno;
        answered++;
        if (isBatch && i === msgs.length - 1) {
          // The last message's answer comes after every error: the others succeeded.
          unansweredSucceeded();
          return finish();
        }
      }
      if (answered === msgs.length) finish();
    }
    const lost = (): void => {
      // A batch that answered an error for one message was aborted as a whole: that much is known.
      if (isBatch && result.errnos.some((e) => e > 0)) {
        unansweredSucceeded();
      } else {
        result.timedOut = true;
      }
      finish();
    };
    sock.on('message', onMessage);
    sock.on('error', lost);
    if (msgs.length === 0) return finish();
    sent = performance.now();
    sock.socket.send(datagram, {}, (err) => {
      if (err) {
        result.notSent = `sendmsg: ${err instanceof Error ? err.message : String(err)}`;
        return finish();
      }
      timer = setTimeout(lost, timeoutMs);
    });
  });
}
