// Many netlink requests in few datagrams and few answers. The kernel's
// generic-netlink and rtnetlink input (netlink_rcv_skb) processes every
// message of a datagram in turn; it answers a message only if it failed or
// asked for an ACK (NLM_F_ACK), and an error does not stop the rest. So a
// batch goes out in chunks of several messages per sendmsg where only the
// last message of a chunk asks for an ACK: its ACK means every message of
// the chunk was processed, and the ones that failed have answered before it
// with their errno. At most two chunks are in flight, so even a chunk of
// failures (each error echoes its request) fits our receive buffer.
//
// The `netlink` package has no API for this: frames go out through its raw
// socket, and the answers come back as its `message` events (replies whose
// sequence number has no request waiting).

import { Flags, MessageType, formatMessage, parseError, type NetlinkMessage, type NetlinkSocket } from 'netlink';

export interface BatchResult {
  /** 0 when done; the kernel's errno when refused; -1 when the outcome is unknown (timeout, send failure). */
  errno: number;
  detail?: string;
  /** The NLMSG_ERROR payload of a refusal (errno, then the echoed request). */
  data?: Buffer;
}

export interface BatchOptions {
  /** Requests in flight at most (two chunks of half). Default 256. */
  window?: number;
  /** Bytes of requests per datagram at most. Default 32 KiB. */
  chunkBytes?: number;
  /** Give up when no answer arrives for this long. */
  timeoutMs: number;
}

export interface BatchRequest {
  /** Message type: the genl family id, RTM_NEWADDR ... */
  type: number;
  /** Extra flags besides REQUEST (CREATE, EXCL ...). */
  flags?: number;
  payload: Buffer;
}

interface Chunk {
  first: number; // index of its first request
  end: number; // index after its last request
  seqs: number[];
}

export function sendBatch(sock: NetlinkSocket, requests: readonly BatchRequest[], opts: BatchOptions): Promise<BatchResult[]> {
  const perChunk = Math.max(1, Math.floor((opts.window ?? 256) / 2));
  const chunkBytes = opts.chunkBytes ?? 32 << 10;
  const n = requests.length;
  const results: BatchResult[] = new Array(n);
  if (n === 0) return Promise.resolve(results);

  return new Promise((resolve) => {
    const index = new Map<number, number>(); // seq -> request index, while in flight
    const inFlight = new Map<number, Chunk>(); // last seq -> chunk
    const port = sock.address().port;
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.off('message', onMessage);
      sock.off('error', onError);
      for (let i = 0; i < n; i++) results[i] ??= { errno: -1, detail: i < next ? `no answer within ${opts.timeoutMs} ms` : 'not sent' };
      resolve(results);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, opts.timeoutMs);
    };
    /** The chunk is over: whatever did not answer with an error succeeded (or is unknown, on failure). */
    const close = (c: Chunk, outcome: BatchResult): void => {
      inFlight.delete(c.seqs[c.seqs.length - 1]);
      for (const seq of c.seqs) index.delete(seq);
      for (let i = c.first; i < c.end; i++) results[i] ??= outcome;
    };
    const advance = (): void => {
      if (inFlight.size === 0 && next >= n) finish();
      else pump();
    };

    function onMessage(msgs: NetlinkMessage[]): void {
      for (const m of msgs) {
        const i = index.get(m.seq);
        if (i === undefined) continue; // not ours
        const errno = m.type === MessageType.ERROR ? Math.abs(parseError(m.data, m.flags).errno) : 0;
        if (errno) results[i] = { errno, detail: `errno ${errno}`, data: m.data };
        const c = inFlight.get(m.seq);
        // The ACK (or error) of a chunk's last message: the whole chunk is answered.
        if (c && m.type === MessageType.ERROR) close(c, { errno: 0 });
      }
      advance();
    }
    function onError(err: Error): void {
      // ENOBUFS: answers were dropped; what was in flight has an unknown outcome.
      for (const c of [...inFlight.values()]) close(c, { errno: -1, detail: `socket error: ${err.message}` });
      advance();
    }
    const pump = (): void => {
      while (next < n && inFlight.size < 2) {
        const frames: Uint8Array[] = [];
        const chunk: Chunk = { first: next, end: next, seqs: [] };
        let bytes = 0;
        for (let last = false; !last; ) {
          const q = requests[next];
          bytes += 16 + q.payload.length;
          last = next + 1 === n || next + 1 - chunk.first === perChunk || bytes >= chunkBytes;
          const seq = sock.generateSeq();
          index.set(seq, next);
          chunk.seqs.push(seq);
          // Only the last message asks for the ACK that closes the chunk.
          const flags = Flags.REQUEST | (q.flags ?? 0) | (last ? Flags.ACK : 0);
          frames.push(...formatMessage({ type: q.type, flags, seq, port, data: q.payload }));
          next++;
        }
        chunk.end = next;
        inFlight.set(chunk.seqs[chunk.seqs.length - 1], chunk);
        // One buffer per datagram: an iovec per frame would hit UIO_MAXIOV (EMSGSIZE).
        sock.socket.send(Buffer.concat(frames), {}, (err) => {
          if (!err) return;
          close(chunk, { errno: -1, detail: `send: ${err.message}` });
          advance();
        });
      }
      arm();
    };

    sock.on('message', onMessage);
    sock.on('error', onError);
    pump();
  });
}
