// Two routing controllers, each with its own real gobgpd in its own network
// namespace (joined by a veth, 10.98.0.1 <-> 10.98.0.2; API over a unix
// socket): the iBGP session comes up, each learns the other's pod CIDR and
// puts the route in its (fake) kernel; the other node leaving withdraws it.
// The controllers' kernel, sysctl, exec and pod egress are fakes. Needs root
// (gobgpd rejects loopback next hops, so 127.x cannot stand in for nodes).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { GobgpdSupervisor } from '../../src/bgp/gobgpd.js';
import { defaultOptions } from '../../src/cmd/options/index.js';
import { RoutingController } from '../../src/controllers/routing/controller.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { Exec } from '../../src/kernel/exec.js';
import { AF_INET } from '../../src/kernel/rtnl/inet.js';
import { FakeRtnl } from '../../src/kernel/rtnl/fake.js';
import { FakeSysctl } from '../../src/kernel/sysctl.js';
import { node } from './routing-fixtures.test.js';

const skip = !existsSync('/usr/bin/gobgpd') ? 'gobgpd not installed' : process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;
const id = String(process.pid % 100000);
const NS = { n1: `krrta${id}`, n2: `krrtb${id}` };
const VETH = { n1: `krra${id}`, n2: `krrb${id}` };
const API = { n1: 50161, n2: 50161 };
const IP = { n1: '10.98.0.1', n2: '10.98.0.2' };

function sh(...args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
}

function delNetns(): void {
  for (const ns of Object.values(NS)) {
    try {
      sh('ip', 'netns', 'del', ns);
    } catch {
      // not there
    }
  }
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 40_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('routing controller with real gobgpd', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'krtest-routing-bgp-'));
  const made: RoutingController[] = [];
  before(() => {
    delNetns();
    sh('ip', 'netns', 'add', NS.n1);
    sh('ip', 'netns', 'add', NS.n2);
    sh('ip', 'link', 'add', VETH.n1, 'netns', NS.n1, 'type', 'veth', 'peer', 'name', VETH.n2, 'netns', NS.n2);
    for (const k of ['n1', 'n2'] as const) {
      sh('ip', '-n', NS[k], 'addr', 'add', `${IP[k]}/24`, 'dev', VETH[k]);
      sh('ip', '-n', NS[k], 'link', 'set', VETH[k], 'up');
      sh('ip', '-n', NS[k], 'link', 'set', 'lo', 'up');
    }
  });
  after(async () => {
    for (const c of made) await c.stop().catch(() => undefined);
    delNetns();
    rmSync(dir, { recursive: true, force: true });
  });

  function make(name: 'n1' | 'n2', cache: FakeSharedCache): { c: RoutingController; rtnl: FakeRtnl; registry: Registry } {
    const rtnl = new FakeRtnl();
    const eth0 = rtnl.addLink('eth0');
    void rtnl.addAddress(eth0.index, { address: IP[name], prefixLen: 24, scope: 0 });
    const exec: Exec = async (argv) => {
      if (argv.join(' ') === 'ip link add kube-bridge type bridge') rtnl.addLink('kube-bridge', 'bridge', false);
      return { code: 0, stdout: '', stderr: '', timedOut: false };
    };
    const registry = new Registry();
    const options = { ...defaultOptions(), gobgpAdminPort: API[name], enableCni: false, injectedRoutesSyncPeriod: 2000 };
    const c = new RoutingController({
      cache,
      options,
      nodeName: name,
      logger: pino({ level: process.env.KR_TEST_LOG ?? 'silent' }).child({ node: name }),
      metrics: registry,
      kernel: { rtnl, sysctl: new FakeSysctl({ 'net/bridge/bridge-nf-call-iptables': 1 }), exec, egress: { apply: async () => undefined, cleanup: async () => undefined } },
      gobgpd: new GobgpdSupervisor({
        apiPort: API[name],
        apiSocket: join(dir, `${name}.sock`),
        wrapper: ['ip', 'netns', 'exec', NS[name]],
        logFile: join(dir, `gobgpd-${name}.log`),
        adopt: false,
      }),
      minSyncIntervalMs: 0,
      retryIntervalMs: 500,
    });
    made.push(c);
    return { c, rtnl, registry };
  }

  it('peers, learns the other pod CIDR into the kernel, and withdraws it when the node leaves', async () => {
    const caches = { n1: new FakeSharedCache({ kinds: ['Node', 'Service', 'EndpointSlice'] }), n2: new FakeSharedCache({ kinds: ['Node', 'Service', 'EndpointSlice'] }) };
    for (const cache of Object.values(caches)) {
      cache.add('Node', node('n1', IP.n1, '10.244.1.0/24'));
      cache.add('Node', node('n2', IP.n2, '10.244.2.0/24'));
    }
    const a = make('n1', caches.n1);
    const b = make('n2', caches.n2);
    const t0 = Date.now();
    await Promise.all([a.c.start(), b.c.start()]);
    const routeOf = async (rtnl: FakeRtnl): Promise<string[]> =>
      (await rtnl.listRoutes({ family: AF_INET, protocol: 0x11 })).map((r) => `${r.dst} via ${r.gateway}`);
    await until('n1 routes to n2', async () => (await routeOf(a.rtnl)).includes(`10.244.2.0/24 via ${IP.n2}`));
    await until('n2 routes to n1', async () => (await routeOf(b.rtnl)).includes(`10.244.1.0/24 via ${IP.n1}`));
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 40_000, `routes after ${elapsed} ms`);
    const established = `kube_router_bgp_peer_info{address="${IP.n2}",type="internal",asn="64512",state="established"} 1`;
    await until('peer metric established', async () => (await a.registry.metrics()).includes(established), 10_000);
    assert.match(await a.registry.metrics(), /kube_router_host_routes_synced 1/);
    assert.equal(a.c.health().lastError, undefined);

    // n2's gobgpd is killed: the supervisor restarts and re-configures it;
    // n2's kernel keeps the route to n1 all along (it is kept until BGP has
    // converged again), and the session comes back.
    await new Promise((r) => setTimeout(r, 3000)); // n2 converged (every peer up 2 s)
    const pid = Number(readFileSync(join(dir, 'gobgpd-n2.log.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    const watchUntil = Date.now() + 8000;
    let missing = 0;
    while (Date.now() < watchUntil) {
      if (!(await routeOf(b.rtnl)).includes(`10.244.1.0/24 via ${IP.n1}`)) missing++;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(missing, 0, 'the route to n1 stayed in n2 while its gobgpd restarted');
    await until('n2 peered with n1 again', async () => (await b.registry.metrics()).includes(`kube_router_bgp_peer_info{address="${IP.n1}",type="internal",asn="64512",state="established"} 1`), 40_000);

    // n2 leaves the cluster: n1 drops the peer, its paths and the route.
    caches.n1.delete('Node', 'n2');
    await until('n1 route to n2 removed', async () => (await routeOf(a.rtnl)).length === 0, 15_000);
  });
});
