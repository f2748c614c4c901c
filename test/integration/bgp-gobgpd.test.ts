// Two real gobgpd (Debian 3.10.0), each in its own network namespace, joined
// by a veth (10.99.0.1 <-> 10.99.0.2), driven through our client, state
// reconciler and supervisor. The API is reached over a unix socket (shared
// filesystem), the `gobgp` CLI over TCP inside the namespace. Needs root.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GobgpdSupervisor } from '../../src/bgp/gobgpd.js';
import { diffBgp, readBgpState, reconcileBgp, type BgpState } from '../../src/bgp/state.js';
import type { BgpPath, PeerSpec, Policy } from '../../src/bgp/types.js';

const isRoot = process.getuid?.() === 0;
const haveGobgpd = existsSync('/usr/bin/gobgpd') && existsSync('/usr/bin/gobgp');
const skip = !isRoot ? 'needs root (network namespaces)' : !haveGobgpd ? 'gobgpd/gobgp not installed' : false;

const id = String(process.pid % 100000);
const NS = { a: `krbgpa${id}`, b: `krbgpb${id}` };
const VETH = { a: `krba${id}`, b: `krbb${id}` };
const IP = { a: '10.99.0.1', b: '10.99.0.2' };
const PORT = 50151;
const ASN = 64512;

function sh(...args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function peerOf(self: 'a' | 'b'): PeerSpec {
  const other = self === 'a' ? 'b' : 'a';
  return {
    neighborAddress: IP[other],
    peerAsn: ASN,
    localAddress: IP[self],
    holdTime: 9,
    connectRetry: 1,
    families: ['ipv4', 'ipv6'],
    description: `node-${other}`,
    // gobgpd waits 5-10 s before its first connect whatever the timers; one side
    // passive avoids a connection collision on top of that.
    passive: self === 'b',
  };
}

function podPath(prefix: string, nextHop: string): BgpPath {
  return { prefix, family: prefix.includes(':') ? 'ipv6' : 'ipv4', nextHop, origin: 'igp', isWithdraw: false };
}

function baseState(self: 'a' | 'b'): BgpState {
  return {
    global: { asn: ASN, routerId: IP[self], listenPort: 179, listenAddresses: [IP[self]] },
    peers: [peerOf(self)],
    definedSets: [],
    policies: [],
    assignments: [],
    paths: [],
  };
}

describe('BGP layer against real gobgpd in two network namespaces', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'krbgp-'));
  const sup = {
    a: new GobgpdSupervisor({
      apiPort: PORT,
      apiSocket: join(dir, 'a.sock'),
      wrapper: ['ip', 'netns', 'exec', NS.a],
      logFile: join(dir, 'a.log'),
      adopt: false,
      backoff: { initialMs: 100, maxMs: 1000 },
    }),
    b: new GobgpdSupervisor({
      apiPort: PORT,
      apiSocket: join(dir, 'b.sock'),
      wrapper: ['ip', 'netns', 'exec', NS.b],
      logFile: join(dir, 'b.log'),
      adopt: false,
    }),
  };
  const cleanup = (): void => {
    for (const ns of Object.values(NS)) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // not created
      }
    }
  };

  before(async () => {
    cleanup();
    sh('ip', 'netns', 'add', NS.a);
    sh('ip', 'netns', 'add', NS.b);
    sh('ip', 'link', 'add', VETH.a, 'netns', NS.a, 'type', 'veth', 'peer', 'name', VETH.b, 'netns', NS.b);
    for (const k of ['a', 'b'] as const) {
      sh('ip', '-n', NS[k], 'addr', 'add', `${IP[k]}/24`, 'dev', VETH[k]);
      sh('ip', '-n', NS[k], 'link', 'set', VETH[k], 'up');
      sh('ip', '-n', NS[k], 'link', 'set', 'lo', 'up');
    }
    await Promise.all([sup.a.start(), sup.b.start()]);
  });

  after(async () => {
    await Promise.allSettled([sup.a.stop(), sup.b.stop()]);
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a fresh gobgpd is not configured; StartBgp makes it so', async () => {
    assert.equal(await sup.a.isConfigured(), false);
    assert.equal((await sup.a.client.getBgp()).asn, 0);
    // a: through the reconciler; b: through the client directly.
    const r = await reconcileBgp(sup.a.client, baseState('a'));
    assert.deepEqual(r.failed, []);
    assert.deepEqual(r.applied.map((o) => o.op), ['start-bgp', 'add-peer']);
    await sup.b.client.startBgp(baseState('b').global);
    await sup.b.client.addPeer(peerOf('b'));
    assert.equal(await sup.a.isConfigured(), true);
    const g = await sup.b.client.getBgp();
    assert.equal(g.asn, ASN);
    assert.equal(g.routerId, IP.b);
  });

  it('the peers reach ESTABLISHED (ListPeer) and the gobgp CLI shows it', async () => {
    for (const k of ['a', 'b'] as const) {
      const peer = await until(`${k} established`, async () => {
        const [p] = await sup[k].client.listPeers();
        return p?.sessionState === 'established' ? p : undefined;
      });
      assert.equal(peer.spec.neighborAddress, IP[k === 'a' ? 'b' : 'a']);
      assert.ok(peer.uptime > 0);
    }
    const cli = sh('ip', 'netns', 'exec', NS.a, 'gobgp', '-p', String(PORT), 'neighbor');
    assert.match(cli, new RegExp(`${IP.b.replace(/\./g, '\\.')}\\s.*\\b${ASN}\\b.*Establ`));
  });

  it('the reconciler sees no difference once applied (read-back matches desired)', async () => {
    assert.deepEqual(diffBgp(baseState('a'), await readBgpState(sup.a.client)), []);
    assert.deepEqual(diffBgp(baseState('b'), await readBgpState(sup.b.client)), []);
  });

  it('a path added on a reaches b (ListPath and the WatchEvent best-path stream), and is withdrawn', async () => {
    const seen: BgpPath[] = [];
    const watch = sup.b.client.watch({ best: true, init: true }, { onPaths: (ps) => seen.push(...ps) });
    try {
      const desired: BgpState = {
        ...baseState('a'),
        paths: [podPath('10.244.1.0/24', IP.a), podPath('2001:db8:1::/64', 'fd99::1')],
      };
      const r = await reconcileBgp(sup.a.client, desired);
      assert.deepEqual(r.failed, []);
      assert.deepEqual(r.applied.map((o) => o.op), ['add-path', 'add-path']);
      assert.deepEqual(diffBgp(desired, await readBgpState(sup.a.client)), []);

      const [d4] = await until('10.244.1.0/24 on b', async () => {
        const ds = await sup.b.client.listPaths({ family: 'ipv4', prefixes: ['10.244.1.0/24'] });
        return ds.length > 0 ? ds : undefined;
      });
      assert.equal(d4.prefix, '10.244.1.0/24');
      assert.equal(d4.paths[0].nextHop, IP.a);
      assert.equal(d4.paths[0].neighborIp, IP.a);
      assert.equal(d4.paths[0].best, true);
      const [d6] = await until('2001:db8:1::/64 on b', async () => {
        const ds = await sup.b.client.listPaths({ family: 'ipv6' });
        return ds.length > 0 ? ds : undefined;
      });
      assert.equal(d6.prefix, '2001:db8:1::/64');
      assert.equal(d6.paths[0].nextHop, 'fd99::1');
      assert.equal(d6.paths[0].family, 'ipv6');
      await until('watch sees the best path', async () => seen.some((p) => p.prefix === '10.244.1.0/24' && !p.isWithdraw && p.nextHop === IP.a));

      const r2 = await reconcileBgp(sup.a.client, baseState('a'));
      assert.deepEqual(r2.failed, []);
      assert.deepEqual(r2.applied.map((o) => o.op), ['delete-path', 'delete-path']);
      await until('10.244.1.0/24 withdrawn on b', async () => (await sup.b.client.listPaths({ family: 'ipv4' })).length === 0);
      await until('watch sees the withdrawal', async () => seen.some((p) => p.prefix === '10.244.1.0/24' && p.isWithdraw));
    } finally {
      watch.cancel();
    }
  });

  it('an import policy on b rejects a prefix; a changed policy is swapped atomically', async () => {
    const rejectPolicy = (extra: boolean): Policy => ({
      name: 'kube_router_import',
      statements: [
        {
          name: 'reject_custom',
          conditions: { prefixSet: { name: 'customimportrejectdefinedset', match: 'any' }, neighborSet: { name: 'allpeerset', match: 'any' } },
          actions: { routeAction: 'reject' },
        },
        ...(extra
          ? [{ name: 'reject_default', conditions: { prefixSet: { name: 'defaultroutedefinedset', match: 'any' as const } }, actions: { routeAction: 'reject' as const } }]
          : []),
      ],
    });
    const desiredB = (extra: boolean): BgpState => ({
      ...baseState('b'),
      definedSets: [
        { type: 'prefix', name: 'customimportrejectdefinedset', prefixes: [{ prefix: '10.250.0.0/16', maskLengthMin: 16, maskLengthMax: 32 }] },
        { type: 'prefix', name: 'defaultroutedefinedset', prefixes: [{ prefix: '0.0.0.0/0' }] },
        { type: 'neighbor', name: 'allpeerset', neighbors: [IP.a] },
      ],
      policies: [rejectPolicy(extra)],
      assignments: [{ name: 'global', direction: 'import', policies: ['kube_router_import'], defaultAction: 'accept' }],
    });
    const r = await reconcileBgp(sup.b.client, desiredB(false));
    assert.deepEqual(r.failed, []);
    assert.deepEqual(diffBgp(desiredB(false), await readBgpState(sup.b.client)), []);

    await reconcileBgp(sup.a.client, { ...baseState('a'), paths: [podPath('10.244.2.0/24', IP.a), podPath('10.250.1.0/24', IP.a)] });
    await until('10.244.2.0/24 on b', async () => (await sup.b.client.listPaths({ family: 'ipv4', prefixes: ['10.244.2.0/24'] })).length > 0);
    const rib = await sup.b.client.listPaths({ family: 'ipv4' });
    assert.deepEqual(rib.map((d) => d.prefix), ['10.244.2.0/24'], 'the rejected prefix is not installed');

    const before = (await sup.b.client.listPolicies()).map((p) => p.name);
    const ops = diffBgp(desiredB(true), await readBgpState(sup.b.client));
    assert.deepEqual(ops.map((o) => o.op), ['add-policy', 'set-policy-assignment', 'delete-policy']);
    const r2 = await reconcileBgp(sup.b.client, desiredB(true));
    assert.deepEqual(r2.failed, []);
    const afterNames = (await sup.b.client.listPolicies()).map((p) => p.name);
    assert.equal(afterNames.length, 1);
    assert.notEqual(afterNames[0], before[0]);
    assert.match(afterNames[0], /^kube_router_import-v[0-9a-f]{8}$/);
    const [imp] = await sup.b.client.listPolicyAssignments('global', 'import');
    assert.deepEqual(imp.policies, afterNames);
    assert.deepEqual(diffBgp(desiredB(true), await readBgpState(sup.b.client)), []);
    await reconcileBgp(sup.a.client, baseState('a'));
  });

  it('a killed gobgpd is restarted by the supervisor, unconfigured until StartBgp', async () => {
    const oldPid = sup.a.pid;
    assert.ok(oldPid);
    const restarted = new Promise<number | undefined>((resolve) => sup.a.once('restarted', resolve));
    process.kill(oldPid, 'SIGKILL');
    const newPid = await restarted;
    assert.ok(newPid && newPid !== oldPid);
    assert.equal(await sup.a.isConfigured(), false);
    assert.equal(sup.a.restarts, 1);
    const r = await reconcileBgp(sup.a.client, baseState('a'));
    assert.deepEqual(r.failed, []);
    assert.equal(await sup.a.isConfigured(), true);
    await until('a re-established', async () => (await sup.a.client.listPeers())[0]?.sessionState === 'established');
  });
});
