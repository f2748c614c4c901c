// The lab's external BGP router: BIRD 2 in the topology's `peer` namespace
// (192.168.56.254, AS 64513), peering with every node (AS 64512, kube-router's
// default --cluster-asn). It imports everything the nodes send (so that
// `birdc show route` on the peer shows what the agents advertise) and exports
// only its own static routes: the prefixes it is told to announce, which the
// scenario uses to check the agents' import policy (a cluster pod CIDR is
// rejected, another prefix is accepted and installed). Its own routes are
// not exported to the peer's kernel.
//
// BIRD daemonizes itself; it is found again through its namespace (stop
// kills what runs there), and its control socket is BIRD's default path so
// that a plain `birdc show route` works in `exec: {on: peer, ...}`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError, run, sleep } from '../vm/proc.js';

export const BIRD_DIR = '/run/lab/peer';
export const BIRD_SOCKET = '/run/bird/bird.ctl';
/** The AS the nodes use unless a scenario changes --cluster-asn. */
export const NODE_ASN = 64512;
/** The prefix announced besides the cluster's pod CIDRs (accepted and installed by the agents). */
export const PEER_OTHER_PREFIX = '172.20.0.0/24';
/** Its IPv6 twin, announced in a dual-stack lab (`{{cidr 172.20.0.0/24}}` in an IPv6 run). */
export const PEER_OTHER_PREFIX6 = '2001:db8:172:20::/120';

export interface BirdNeighbor {
  /** BIRD protocol name (the node's name: shown in `birdc show route`). */
  name: string;
  ip: string;
  asn: number;
}

export interface BirdConfigInput {
  routerId: string;
  /**
   * The peer's IPv6 address (dual-stack lab): the sessions, still over IPv4,
   * then also carry ipv6-unicast (MP-BGP, as the agents' sessions do), with
   * this address as the next hop of what the peer announces.
   */
  ip6?: string;
  asn: number;
  neighbors: readonly BirdNeighbor[];
  /** Prefixes the peer announces (blackhole static routes exported to every neighbor); IPv6 ones need `ip6`. */
  announce: readonly string[];
  logFile: string;
}

const PROTO_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR6 = /^[0-9a-f:]+\/(\d{1,3})$/;

function checkIp(ip: string, what: string): void {
  const m = IPV4.exec(ip);
  if (m === null || m.slice(1).some((o) => Number(o) > 255)) throw new LabError('peer', `${what}: not an IPv4 address: ${JSON.stringify(ip)}`, { value: ip });
}

/** bird.conf for the lab peer (pure; throws LabError on input BIRD would refuse). */
export function birdConfig(input: BirdConfigInput): string {
  checkIp(input.routerId, 'router id');
  const statics: string[] = [];
  const statics6: string[] = [];
  for (const p of input.announce) {
    const m6 = CIDR6.exec(p);
    if (m6 !== null && p.includes(':') && Number(m6[1]) <= 128) {
      if (input.ip6 === undefined) throw new LabError('peer', `announce: ${p} is IPv6 but the peer has no IPv6 address`, { value: p });
      statics6.push(`  route ${p} blackhole;`);
      continue;
    }
    const m = CIDR4.exec(p);
    if (m === null || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
      throw new LabError('peer', `announce: not an IPv4 or IPv6 CIDR: ${JSON.stringify(p)}`, { value: p });
    }
    statics.push(`  route ${p} blackhole;`);
  }
  const v6 = input.ip6 !== undefined;
  const lines = [
    `log "${input.logFile}" all;`,
    `router id ${input.routerId};`,
    'protocol device {}',
    'protocol static lab_announce {',
    '  ipv4;',
    ...statics,
    '}',
    ...(v6 ? ['protocol static lab_announce6 {', '  ipv6;', ...statics6, '}'] : []),
    `filter lab_export { if proto = "lab_announce"${v6 ? ' || proto = "lab_announce6"' : ''} then accept; reject; }`,
    'template bgp lab_node {',
    `  local ${input.routerId} as ${input.asn};`,
    '  connect retry time 5;',
    '  graceful restart on;',
    '  ipv4 { import all; export filter lab_export; next hop self; };',
    // An IPv4 session has no IPv6 address of its own to put in the next hop: name it.
    ...(v6 ? [`  ipv6 { import all; export filter lab_export; next hop address ${input.ip6}; };`] : []),
    '}',
  ];
  for (const n of input.neighbors) {
    if (!PROTO_NAME.test(n.name)) throw new LabError('peer', `neighbor name ${JSON.stringify(n.name)} is not a BIRD protocol name`, { value: n.name });
    checkIp(n.ip, `neighbor ${n.name}`);
    lines.push(`protocol bgp ${n.name} from lab_node { neighbor ${n.ip} as ${n.asn}; }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs an argv in the peer namespace (the topology's argvFor). */
export type PeerArgv = (argv: readonly string[]) => string[];

/** Writes the config and starts BIRD; resolves when birdc answers. */
export async function startBird(inPeer: PeerArgv, input: Omit<BirdConfigInput, 'logFile'>, timeoutMs = 30_000): Promise<void> {
  mkdirSync(BIRD_DIR, { recursive: true });
  mkdirSync('/run/bird', { recursive: true });
  const conf = join(BIRD_DIR, 'bird.conf');
  writeFileSync(conf, birdConfig({ ...input, logFile: join(BIRD_DIR, 'bird.log') }));
  await run(inPeer(['bird', '-c', conf, '-s', BIRD_SOCKET, '-P', join(BIRD_DIR, 'bird.pid')]), { phase: 'peer (starting bird)', timeoutMs });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await run(inPeer(['birdc', '-s', BIRD_SOCKET, 'show', 'status']), { allowFail: true, timeoutMs });
    if (r.code === 0 && /Daemon is up and running/.test(r.stdout)) return;
    if (Date.now() > deadline) throw new LabError('peer', `bird does not answer on ${BIRD_SOCKET} after ${timeoutMs} ms: ${r.stdout}${r.stderr}`, { call: 'birdc' });
    await sleep(200);
  }
}
