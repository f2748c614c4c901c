// Stale UDP conntrack entries: when a UDP destination leaves a virtual
// service, the flows the kernel tracked from clients to it are deleted, so
// the next datagram of a client (a DNS resolver reusing its source port) is
// scheduled afresh instead of following a dead entry until it times out
// (kube-proxy's ClearEntriesForNAT, kube-router's graceful UDP flush).
// Through the `conntrack` tool (conntrack-tools), one run per flow filter.

import { execFile } from 'node:child_process';
import { KubeRouterError } from '../../errors.js';

export interface UdpFlow {
  /** The virtual service address and port (the flows' original destination). */
  vip: string;
  port: number;
  /** The removed destination (the flows' reply source); undefined: every flow to the removed service. */
  endpoint?: string;
}

export interface Conntrack {
  /** Deletes the UDP flows to `vip:port` (answered by `endpoint` when given); resolves with how many went. */
  deleteUdpFlows(flow: UdpFlow): Promise<number>;
}

/** `conntrack -D` output: "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted." */
export function deletedCount(stderr: string): number {
  const m = /(\d+) flow entr(?:y|ies) ha(?:s|ve) been deleted/.exec(stderr);
  return m ? Number(m[1]) : 0;
}

export function conntrackArgs(f: UdpFlow): string[] {
  const fam = f.vip.includes(':') ? 'ipv6' : 'ipv4';
  const args = ['-D', '-f', fam, '-p', 'udp', '--orig-dst', f.vip, '--orig-port-dst', String(f.port)];
  return f.endpoint === undefined ? args : [...args, '--reply-src', f.endpoint];
}

export class LinuxConntrack implements Conntrack {
  constructor(private readonly binary = 'conntrack') {}

  deleteUdpFlows(f: UdpFlow): Promise<number> {
    const args = conntrackArgs(f);
    return new Promise((resolve, reject) => {
      execFile(this.binary, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
        const n = deletedCount(stderr);
        // conntrack exits 1 when nothing matched: not an error.
        if (err && n === 0 && !/0 flow entries/.test(stderr)) {
          reject(new KubeRouterError('KR_ERR_KERNEL', `conntrack ${args.join(' ')}: ${stderr.trim() || err.message}`, { call: 'conntrack -D', object: `${f.vip}:${f.port} -> ${f.endpoint ?? '*'}` }));
          return;
        }
        resolve(n);
      });
    });
  }
}

/** Records the flushes asked for (tests). */
export class FakeConntrack implements Conntrack {
  readonly flushed: UdpFlow[] = [];

  deleteUdpFlows(f: UdpFlow): Promise<number> {
    this.flushed.push({ ...f });
    return Promise.resolve(0);
  }
}
