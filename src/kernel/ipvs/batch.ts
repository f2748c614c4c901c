// Many netlink requests in few datagrams. The kernel's generic-netlink input
// (netlink_rcv_skb) processes every message of a datagram in turn and ACKs
// each one (an error does not stop the rest), so a batch is packed several
// messages per sendmsg, with a bounded number awaiting their ACK (so the
// ACKs never overflow our receive buffer). The `netlink` package has no API
// for this: frames go out through its raw socket, and the ACKs come back as
// its `message` events (replies whose sequence number has no request waiting).

import { Flags, MessageType, countLength, formatMessage, parseError, type NetlinkMessage, type NetlinkSocket } from 'netlink';

export interface BatchResult {
  /** 0 for an ACK; the kernel's errno otherwise; -1 if no answer came (timeout, send failure). */
  errno: number;
  detail?: string;
}

export interface BatchOptions {
  /** Requests awaiting their ACK at most. Default 256. */
  window?: number;
  /** Bytes of requests per datagram at most. Default 32 KiB. */
  chunkBytes?: number;
  /** Give up when no answer arrives for this long. */
  timeoutMs: number;
}

export function sendBatch(sock: NetlinkSocket, family: number, payloads: readonly Buffer[], opts: BatchOptions): Promise<BatchResult[]> {
  const window = opts.window ?? 256;
  const chunkBytes = opts.chunkBytes ?? 32 << 10;
  const n = payloads.length;
  const results: BatchResult[] = new Array(n);
  if (n === 0) return Promise.resolve(results);

  return new Promise((resolve) => {
    const pending = new Map<number, number>(); // seq -> index
    const port = sock.address().port;
    let next = 0;
    let done = 0;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.off('message', onMessage);
      sock.off('error', onError);
      for (const i of pending.values()) results[i] ??= { errno: -1, detail: `no answer within ${opts.timeoutMs} ms` };
      for (let i = next; i < n; i++) results[i] = { errno: -1, detail: 'not sent' };
      resolve(results);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, opts.timeoutMs);
    };
    const settle = (seq: number, r: BatchResult): void => {
      const i = pending.get(seq);
      if (i === undefined) return; // a trailing ACK after a data reply, or not ours
      pending.delete(seq);
      results[i] = r;
      done++;
    };
    function onMessage(msgs: NetlinkMessage[]): void {
      for (const m of msgs) {
        if (m.type === MessageType.ERROR) {
          const { errno } = parseError(m.data, m.flags);
          settle(m.seq, errno ? { errno: Math.abs(errno), detail: `errno ${Math.abs(errno)}` } : { errno: 0 });
        } else {
          settle(m.seq, { errno: 0 });
        }
      }
      if (done === n) finish();
      else pump();
    }
    function onError(err: Error): void {
      // ENOBUFS: ACKs were dropped. Whatever is still pending will not be answered.
      for (const [seq] of pending) settle(seq, { errno: -1, detail: `socket error: ${err.message}` });
      pump();
      if (done === n) finish();
    }
    const pump = (): void => {
      while (next < n && pending.size < window) {
        const frames: Uint8Array[] = [];
        const seqs: number[] = [];
        let bytes = 0;
        while (next < n && pending.size < window && bytes < chunkBytes) {
          const seq = sock.generateSeq();
          const f = formatMessage({ type: family, flags: Flags.REQUEST | Flags.ACK, seq, port, data: payloads[next] });
          pending.set(seq, next++);
          seqs.push(seq);
          frames.push(...f);
          bytes += countLength(f);
        }
        // One buffer per datagram: an iovec per frame would hit UIO_MAXIOV (EMSGSIZE).
        sock.socket.send(Buffer.concat(frames), {}, (err) => {
          if (!err) return;
          for (const seq of seqs) settle(seq, { errno: -1, detail: `send: ${err.message}` });
          if (done === n) finish();
          else pump();
        });
      }
      arm();
    };

    sock.on('message', onMessage);
    sock.on('error', onError);
    pump();
  });
}
