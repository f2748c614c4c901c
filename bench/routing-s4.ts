// BGP convergence: scenario S4 of shared/notes/performance-anchors.md (a
// script that prints figures, not a test). Runs in the lab guest (a real
// kernel; gobgpd from the host):
//
//   kube-router-lab exec node1 -- node dist/bench/routing-s4.js [--sizes 1000,5000]
//
// For each size N, in fresh network namespaces joined by a veth
// (agent 10.99.0.1 <-> peer 10.99.0.2):
//   - a peer gobgpd (AS 64512, the Node `peer` of the agent's cluster)
//     holds N /24 "node pod CIDRs" (10.128.0.0/24 ...) before the session;
//   - the REAL RoutingController (its own supervised gobgpd, the best-path
//     watch, planRoutes, applyRoutePlan over rtnetlink into the agent
//     namespace) starts and peers with it;
//   - install:  Established (the agent's ListPeer, polled every 20 ms) ->
//               the N-th route written to the kernel (rtnetlink ACK);
//   - withdraw: the peer deletes the session (every path withdrawn at once)
//               -> the N-th route removed;
//   - baseline: `ip -batch` of the same N `route add ... via 10.99.0.2 proto
//               17` (then `route del`) in a third, fresh namespace.
// Goals: 1,000 routes in the kernel within 2 s of Established; kernel install
// <= 2x `ip -batch`: the time inside our rtnetlink route writes (every pass
// of the controller together) against `ip -batch` of the same routes
// (process start included). Printed as well: Established -> the agent's
// gobgpd has accepted all N paths (ListPeer counters, polled), which bounds
// the whole: the paths reach the controller as gobgpd learns them, and each
// pass writes what arrived since the previous one. gobgpd 3.10's best-path
// watch delivered one stream message per path here (seen with a second
// watch), so the stream, not the kernel, sets the pace. Needs root, veth and gobgpd only, so it
// also runs on the host (`node dist/bench/routing-s4.js`), for a first read.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import { GobgpdSupervisor } from '../src/bgp/gobgpd.js';
import type { BgpPath } from '../src/bgp/types.js';
import { defaultOptions } from '../src/cmd/options/index.js';
import { RoutingController } from '../src/controllers/routing/controller.js';
import { FakeSharedCache } from '../src/informers/fake-cache.js';
import { AF_INET } from '../src/kernel/rtnl/inet.js';
import { LinuxRtnl } from '../src/kernel/rtnl/linux.js';
import type { RouteSpec, RouteWrite, Rtnl } from '../src/kernel/rtnl/types.js';
import { FakeSysctl } from '../src/kernel/sysctl.js';
import { environment } from './lib/netns.js';
import { ms, printSummary, ratio, verdict, type Row } from './lib/report.js';

const self = fileURLToPath(import.meta.url);
const AGENT_IP = '10.99.0.1';
const PEER_IP = '10.99.0.2';
const ASN = 64512;
const AGENT_API = 50171;
const PEER_API = 50172;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

function sh(cmd: string, args: readonly string[], input?: string): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  const took = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').trim().slice(0, 400)}`);
  return { ms: took, out: r.stdout };
}

/** The i-th announced prefix: 10.128.0.0/24, 10.128.1.0/24, ... (outside every pod CIDR of the bench cluster). */
function prefixOf(i: number): string {
  return `10.${128 + Math.floor(i / 256)}.${i % 256}.0/24`;
}

interface Names {
  agent: string;
  peer: string;
  base: string;
}

function namesFor(size: number): Names {
  const id = `${process.pid % 10000}${size}`;
  return { agent: `krs4a${id}`, peer: `krs4p${id}`, base: `krs4b${id}` };
}

function delNetns(n: Names): void {
  for (const ns of [n.agent, n.peer, n.base]) spawnSync('ip', ['netns', 'del', ns]);
}

/** Agent and peer joined by a veth; the baseline namespace with a veth eth0 on the same subnet. */
function makeNetns(n: Names): void {
  delNetns(n);
  for (const ns of [n.agent, n.peer, n.base]) {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  // Made under unique names here (this namespace may have an eth0), then moved and renamed.
  const a = `${n.agent}x`;
  const p = `${n.agent}y`;
  sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', p]);
  sh('ip', ['link', 'set', a, 'netns', n.agent]);
  sh('ip', ['link', 'set', p, 'netns', n.peer]);
  sh('ip', ['-n', n.agent, 'link', 'set', a, 'name', 'eth0']);
  sh('ip', ['-n', n.peer, 'link', 'set', p, 'name', 'eth0']);
  sh('ip', ['-n', n.agent, 'addr', 'add', `${AGENT_IP}/24`, 'dev', 'eth0']);
  sh('ip', ['-n', n.peer, 'addr', 'add', `${PEER_IP}/24`, 'dev', 'eth0']);
  sh('ip', ['-n', n.base, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  sh('ip', ['-n', n.base, 'link', 'set', 'eth1', 'up']);
  sh('ip', ['-n', n.base, 'addr', 'add', `${AGENT_IP}/24`, 'dev', 'eth0']);
  for (const ns of [n.agent, n.peer, n.base]) sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
}

interface RouteClock {
  /** performance.now() of the first / N-th route written (or removed). */
  first?: number;
  last?: number;
  count: number;
  /** Time spent inside rtnetlink route writes (the part `ip -batch` stands for). */
  writeMs: number;
}

/** Rtnl that notes when routes of the announced set are written and removed (the real LinuxRtnl underneath). */
function clockedRtnl(inner: Rtnl, announced: ReadonlySet<string>, n: number, clocks: { add: RouteClock; del: RouteClock }): Rtnl {
  const note = (c: RouteClock, dst: string): void => {
    if (!announced.has(dst)) return;
    const now = performance.now();
    c.first ??= now;
    c.count++;
    if (c.count === n) c.last = now;
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'replaceRoute') {
        return async (r: RouteSpec) => {
          const t0 = performance.now();
          await target.replaceRoute(r);
          clocks.add.writeMs += performance.now() - t0;
          note(clocks.add, r.dst);
        };
      }
      if (prop === 'writeRoutes' && target.writeRoutes !== undefined) {
        const write = target.writeRoutes.bind(target);
        return async (writes: readonly RouteWrite[]) => {
          const t0 = performance.now();
          const results = await write(writes);
          const took = performance.now() - t0;
          if (writes.some((w) => w.op === 'delete')) clocks.del.writeMs += took;
          else clocks.add.writeMs += took;
          writes.forEach((w, i) => {
            if (results[i] === undefined) note(w.op === 'delete' ? clocks.del : clocks.add, w.route.dst);
          });
          return results;
        };
      }
      if (prop === 'deleteRoute') {
        return async (r: RouteSpec) => {
          const t0 = performance.now();
          await target.deleteRoute(r);
          clocks.del.writeMs += performance.now() - t0;
          note(clocks.del, r.dst);
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 20): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(fn()).catch(() => false)) return performance.now();
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface SizeResult {
  n: number;
  /** Established -> the agent's gobgpd has accepted all N paths (ListPeer counters): BGP's own part. */
  establishedToLearnedMs: number;
  /** Established -> the controller's best-path watch holds all N (polled every 50 ms). */
  establishedToWatchedMs: number;
  /** Time inside rtnetlink route writes, install and removal. */
  addWriteMs: number;
  delWriteMs: number;
  establishedToLastMs: number;
  firstToLastMs: number;
  withdrawToLastMs: number;
  delFirstToLastMs: number;
  batchAddMs: number;
  batchDelMs: number;
  pathLoadMs: number;
}

/** Inside the agent namespace: the peer gobgpd, the real controller, the clocks. */
async function inner(size: number, names: Names): Promise<SizeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'krs4-'));
  const logger = pino({ level: process.env.KR_BENCH_LOG ?? 'silent' }, pino.destination(2));
  const peer = new GobgpdSupervisor({
    apiPort: PEER_API,
    apiSocket: join(dir, 'peer.sock'),
    wrapper: ['ip', 'netns', 'exec', names.peer],
    logFile: join(dir, 'gobgpd-peer.log'),
    logLevel: 'warn',
    adopt: false,
  });
  const announced = Array.from({ length: size }, (_, i) => prefixOf(i));
  const announcedSet = new Set(announced);
  const clocks: { add: RouteClock; del: RouteClock } = { add: { count: 0, writeMs: 0 }, del: { count: 0, writeMs: 0 } };
  const linux = new LinuxRtnl();
  let controller: RoutingController | undefined;
  try {
    await peer.start();
    await peer.client.startBgp({ asn: ASN, routerId: PEER_IP, listenPort: 0, listenAddresses: [PEER_IP] });
    const t0 = performance.now();
    for (const prefix of announced) {
      const path: BgpPath = { prefix, family: 'ipv4', nextHop: PEER_IP, origin: 'igp', isWithdraw: false };
      await peer.client.addPath(path);
    }
    const pathLoadMs = performance.now() - t0;
    // The peer is configured first: the agent's gobgpd connects to it at once.
    await peer.client.addPeer({ neighborAddress: AGENT_IP, peerAsn: ASN, localAddress: PEER_IP, connectRetry: 1 });

    const cache = new FakeSharedCache({ kinds: ['Node', 'Service', 'EndpointSlice'] });
    cache.add('Node', { metadata: { name: 'agent', annotations: {} }, spec: { podCIDR: '10.244.0.0/24' }, status: { addresses: [{ type: 'InternalIP', address: AGENT_IP }] } });
    cache.add('Node', { metadata: { name: 'peer', annotations: {} }, spec: { podCIDR: '10.244.1.0/24' }, status: { addresses: [{ type: 'InternalIP', address: PEER_IP }] } });
    const options = { ...defaultOptions(), gobgpAdminPort: AGENT_API, enableCni: false, enablePodEgress: false, injectedRoutesSyncPeriod: 600_000 };
    const gobgpd = new GobgpdSupervisor({ apiPort: AGENT_API, logFile: join(dir, 'gobgpd-agent.log'), logLevel: 'warn', adopt: false });
    controller = new RoutingController({
      cache,
      options,
      nodeName: 'agent',
      logger,
      metrics: new Registry(),
      kernel: {
        rtnl: clockedRtnl(linux, announcedSet, size, clocks),
        sysctl: new FakeSysctl({ 'net/bridge/bridge-nf-call-iptables': 1 }),
        egress: { apply: async () => undefined, cleanup: async () => undefined },
      },
      gobgpd,
      minSyncIntervalMs: 0,
      retryIntervalMs: 500,
    });
    await controller.start();
    const established = await until('the session Established', async () => (await gobgpd.client.listPeers()).some((p) => p.sessionState === 'established'), 180_000);
    const ctl = controller;
    const watched = until(`the controller's best-path watch holding ${size} paths`, () => ctl.learned().paths().length >= size, 300_000, 50);
    const learned = await until(`gobgpd accepted ${size} paths`, async () => (await gobgpd.client.listPeers()).some((p) => p.families.some((f) => f.accepted >= size)), 300_000);
    await until(`${size} routes in the kernel`, () => clocks.add.last !== undefined, 300_000);
    const watchedAt = await watched;
    const inKernel = (await linux.listRoutes({ family: AF_INET, protocol: 0x11 })).filter((r) => announcedSet.has(r.dst)).length;
    if (inKernel !== size) throw new Error(`the kernel holds ${inKernel} of the ${size} routes`);
    // Stale routes are removed only once BGP has converged after the start (every peer up 2 s).
    await new Promise((r) => setTimeout(r, 3500));
    const withdrawAt = performance.now();
    await peer.client.deletePeer(AGENT_IP);
    await until(`${size} routes removed`, () => clocks.del.last !== undefined, 300_000);

    // Baseline: the same routes with `ip -batch` in a fresh namespace.
    const add = announced.map((p) => `route add ${p} via ${PEER_IP} dev eth0 proto 17`).join('\n') + '\n';
    const del = announced.map((p) => `route del ${p} via ${PEER_IP} dev eth0 proto 17`).join('\n') + '\n';
    const batchAdd = sh('ip', ['-n', names.base, '-batch', '-'], add);
    const batchDel = sh('ip', ['-n', names.base, '-batch', '-'], del);
    return {
      n: size,
      establishedToLearnedMs: learned - established,
      establishedToWatchedMs: watchedAt - established,
      addWriteMs: clocks.add.writeMs,
      delWriteMs: clocks.del.writeMs,
      establishedToLastMs: (clocks.add.last ?? NaN) - established,
      firstToLastMs: (clocks.add.last ?? NaN) - (clocks.add.first ?? NaN),
      withdrawToLastMs: (clocks.del.last ?? NaN) - withdrawAt,
      delFirstToLastMs: (clocks.del.last ?? NaN) - (clocks.del.first ?? NaN),
      batchAddMs: batchAdd.ms,
      batchDelMs: batchDel.ms,
      pathLoadMs,
    };
  } finally {
    await controller?.stop().catch(() => undefined);
    await peer.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function outer(): Promise<number> {
  const sizes = arg('sizes', '1000,5000').split(',').map(Number);
  console.log(`S4 BGP convergence; ${environment()}`);
  const rows: Row[] = [];
  const results: SizeResult[] = [];
  for (const size of sizes) {
    const names = namesFor(size);
    makeNetns(names);
    try {
      const nodeArgs = (process.env.KR_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const r = spawnSync('ip', ['netns', 'exec', names.agent, process.execPath, ...nodeArgs, self, '--inner', String(size), names.agent, names.peer, names.base], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{"n":'));
      if (r.status !== 0 || line === undefined) {
        console.log(`S4 ${size}: failed (exit ${r.status})\n${r.stdout}`);
        return 1;
      }
      results.push(JSON.parse(line) as SizeResult);
    } finally {
      delNetns(names);
    }
  }
  for (const r of results) {
    console.log(JSON.stringify({ scenario: 'S4', ...r }));
    const k = r.n.toLocaleString('en');
    rows.push(
      { scenario: 'S4', figure: `${k} routes: Established -> last route in the kernel`, value: ms(r.establishedToLastMs), goal: r.n <= 1000 ? '<= 2 s' : '', verdict: r.n <= 1000 ? verdict(r.establishedToLastMs <= 2000) : '' },
      { scenario: 'S4', figure: `${k} routes: first -> last route written (ours)`, value: ms(r.firstToLastMs) },
      { scenario: 'S4', figure: `${k} routes: ip -batch route add`, value: ms(r.batchAddMs) },
      { scenario: 'S4', figure: `${k} routes: Established -> gobgpd accepted all (BGP's part)`, value: ms(r.establishedToLearnedMs) },
      { scenario: 'S4', figure: `${k} routes: Established -> all N in the controller's best-path watch`, value: ms(r.establishedToWatchedMs) },
      { scenario: 'S4', figure: `${k} routes: kernel install (our rtnetlink writes)`, value: ms(r.addWriteMs) },
      { scenario: 'S4', figure: `${k} routes: kernel install ours / ip -batch`, value: ratio(r.addWriteMs, r.batchAddMs), goal: '<= 2x', verdict: verdict(r.addWriteMs <= 2 * r.batchAddMs) },
      { scenario: 'S4', figure: `${k} routes: withdrawal -> last route gone`, value: ms(r.withdrawToLastMs) },
      { scenario: 'S4', figure: `${k} routes: first -> last route removed (ours)`, value: ms(r.delFirstToLastMs) },
      { scenario: 'S4', figure: `${k} routes: ip -batch route del`, value: ms(r.batchDelMs) },
      { scenario: 'S4', figure: `${k} routes: kernel removal (our rtnetlink writes)`, value: ms(r.delWriteMs) },
      { scenario: 'S4', figure: `${k} routes: kernel removal ours / ip -batch`, value: ratio(r.delWriteMs, r.batchDelMs) },
      { scenario: 'S4', figure: `${k} paths loaded into the peer (AddPath per path, before the session)`, value: ms(r.pathLoadMs) },
    );
  }
  printSummary('S4 BGP convergence', rows);
  return 0;
}

const i = process.argv.indexOf('--inner');
if (i >= 0) {
  const [size, agent, peer, base] = process.argv.slice(i + 1, i + 5);
  inner(Number(size), { agent, peer, base })
    .then((r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
} else {
  outer().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
