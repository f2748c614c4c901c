// The Rtnl contract: the same cases against FakeRtnl (test/unit/rtnl-fake.test.ts)
// and against the kernel in a throwaway netns (rtnl-contract.ts, run on the
// host by test/integration/rtnl-netns.test.ts and in the lab guest, where
// dummy and ipip links exist too).

import assert from 'node:assert/strict';
import { RtErrno, RtnlError } from '../../src/kernel/rtnl/errors.js';
import { AF_INET, AF_INET6 } from '../../src/kernel/rtnl/inet.js';
import { RT_SCOPE, RTPROT_KUBE_ROUTER, isIpv6LinkLocal, type Rtnl } from '../../src/kernel/rtnl/types.js';

export interface RtnlContext {
  rtnl: Rtnl;
  /** An existing, up link with no addresses that the case may use (a veth on the host). */
  link: string;
  /** Kernel has dummy and ipip links (the lab guest, not the host). */
  virtualLinks: boolean;
}

export interface RtnlCase {
  name: string;
  needsVirtualLinks?: boolean;
  run(ctx: RtnlContext): Promise<void>;
}

async function rejectsErrno(p: Promise<unknown>, errno: number, call?: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RtnlError, `expected an RtnlError, got ${String(e)}`);
    assert.equal(e.errno, errno, `errno of "${e.message}"`);
    assert.equal(e.code, 'KR_ERR_KERNEL');
    if (call) assert.equal(e.context.call, call);
    return;
  }
  assert.fail(`expected errno ${errno}, got success`);
}

async function ours(rtnl: Rtnl, link: string): Promise<string[]> {
  return (await rtnl.listAddresses(link)).filter((a) => !isIpv6LinkLocal(a.address)).map((a) => `${a.address}/${a.prefixLen}`);
}

export const rtnlContractCases: RtnlCase[] = [
  {
    name: 'a missing link is undefined; deleting it is false',
    async run({ rtnl }) {
      assert.equal(await rtnl.getLink('kr-missing0'), undefined);
      assert.equal(await rtnl.deleteLink('kr-missing0'), false);
      await rejectsErrno(rtnl.listAddresses('kr-missing0'), RtErrno.ENODEV);
    },
  },
  {
    name: 'a link is found by name and by index',
    async run({ rtnl, link }) {
      const l = await rtnl.getLink(link);
      assert.ok(l);
      assert.equal(l.name, link);
      assert.equal(l.up, true);
      assert.deepEqual(await rtnl.getLink(l.index), l);
      assert.ok((await rtnl.listLinks()).some((x) => x.index === l.index && x.name === link));
    },
  },
  {
    name: 'addresses: /32 with scope link, duplicate EEXIST, missing EADDRNOTAVAIL',
    async run({ rtnl, link }) {
      await rtnl.addAddress(link, { address: '10.96.0.10', prefixLen: 32, scope: RT_SCOPE.link });
      const got = (await rtnl.listAddresses(link)).filter((a) => a.family === AF_INET);
      assert.deepEqual(got.map((a) => [a.address, a.prefixLen, a.scope]), [['10.96.0.10', 32, RT_SCOPE.link]]);
      await rejectsErrno(rtnl.addAddress(link, { address: '10.96.0.10', prefixLen: 32, scope: RT_SCOPE.link }), RtErrno.EEXIST, 'RTM_NEWADDR');
      await rejectsErrno(rtnl.deleteAddress(link, { address: '10.96.0.11', prefixLen: 32 }), RtErrno.EADDRNOTAVAIL, 'RTM_DELADDR');
      await rtnl.deleteAddress(link, { address: '10.96.0.10', prefixLen: 32 });
      assert.deepEqual(await ours(rtnl, link), []);
    },
  },
  {
    name: 'addresses: IPv6 /128',
    async run({ rtnl, link }) {
      await rtnl.addAddress(link, { address: 'fd00:96::10', prefixLen: 128, scope: 0 });
      assert.deepEqual(await ours(rtnl, link), ['fd00:96::10/128']);
      await rtnl.deleteAddress(link, { address: 'fd00:96::10', prefixLen: 128 });
      assert.deepEqual(await ours(rtnl, link), []);
    },
  },
  {
    name: 'syncAddresses adds the missing, removes the extra, then has nothing to do',
    async run({ rtnl, link }) {
      const a = (ip: string, len = 32) => ({ address: ip, prefixLen: len, scope: RT_SCOPE.link });
      for (const ip of ['10.96.0.1', '10.96.0.2', '10.96.0.3']) await rtnl.addAddress(link, a(ip));
      const desired = [a('10.96.0.2'), a('10.96.0.3'), a('10.96.0.4'), a('fd00:96::4', 128), a('10.96.0.30')];
      const r = await rtnl.syncAddresses(link, desired);
      assert.deepEqual(r, { added: ['10.96.0.4/32', '10.96.0.30/32', 'fd00:96::4/128'], removed: ['10.96.0.1/32'] });
      assert.deepEqual(await ours(rtnl, link), ['10.96.0.2/32', '10.96.0.3/32', '10.96.0.4/32', '10.96.0.30/32', 'fd00:96::4/128']);
      assert.deepEqual(await rtnl.syncAddresses(link, desired), { added: [], removed: [] });
      assert.deepEqual(await rtnl.syncAddresses(link, []), {
        added: [],
        removed: ['10.96.0.2/32', '10.96.0.3/32', '10.96.0.4/32', '10.96.0.30/32', 'fd00:96::4/128'],
      });
      assert.deepEqual(await ours(rtnl, link), []);
    },
  },
  {
    name: 'syncAddresses of 2,000 VIPs in one pass, then back to none',
    async run({ rtnl, link }) {
      const desired = Array.from({ length: 2000 }, (_, i) => ({ address: `10.96.${i >> 8}.${i & 255}`, prefixLen: 32, scope: RT_SCOPE.link }));
      const t0 = performance.now();
      const r = await rtnl.syncAddresses(link, desired);
      const ms = performance.now() - t0;
      assert.equal(r.added.length, 2000);
      assert.equal((await ours(rtnl, link)).length, 2000);
      assert.deepEqual(await rtnl.syncAddresses(link, desired), { added: [], removed: [] });
      assert.equal((await rtnl.syncAddresses(link, desired.slice(1000))).removed.length, 1000);
      assert.equal((await rtnl.syncAddresses(link, [])).removed.length, 1000);
      assert.deepEqual(await ours(rtnl, link), []);
      if (process.env.KR_VERBOSE) console.log(`# 2,000 addresses synced in ${ms.toFixed(0)} ms`);
    },
  },
  {
    name: 'routes of protocol 0x11: add, EEXIST, replace, delete, ESRCH; other routes untouched',
    async run({ rtnl, link }) {
      await rtnl.addAddress(link, { address: '192.168.77.1', prefixLen: 24, scope: 0 });
      const theirs = { dst: '10.250.0.0/16', gateway: '192.168.77.9', protocol: 4 /* static */ };
      await rtnl.addRoute(theirs);
      const r1 = { dst: '10.244.1.0/24', gateway: '192.168.77.2', oif: link };
      await rtnl.addRoute(r1);
      await rtnl.addRoute({ dst: '10.244.2.0/24', oif: link });
      await rejectsErrno(rtnl.addRoute(r1), RtErrno.EEXIST, 'RTM_NEWROUTE');
      let mine = await rtnl.listRoutes({ family: AF_INET, protocol: RTPROT_KUBE_ROUTER });
      assert.deepEqual(
        mine.map((r) => [r.dst, r.gateway, r.scope, r.table]),
        [
          ['10.244.1.0/24', '192.168.77.2', RT_SCOPE.universe, 254],
          ['10.244.2.0/24', '', RT_SCOPE.link, 254],
        ],
      );
      await rtnl.replaceRoute({ ...r1, gateway: '192.168.77.3' });
      mine = await rtnl.listRoutes({ family: AF_INET, protocol: RTPROT_KUBE_ROUTER });
      assert.deepEqual(mine.map((r) => [r.dst, r.gateway]), [['10.244.1.0/24', '192.168.77.3'], ['10.244.2.0/24', '']]);
      await rtnl.deleteRoute({ dst: '10.244.1.0/24' });
      await rtnl.deleteRoute({ dst: '10.244.2.0/24' });
      await rejectsErrno(rtnl.deleteRoute({ dst: '10.244.2.0/24' }), RtErrno.ESRCH, 'RTM_DELROUTE');
      // A delete of ours does not remove a route of another protocol with the same prefix.
      await rejectsErrno(rtnl.deleteRoute({ dst: '10.250.0.0/16' }), RtErrno.ESRCH);
      assert.deepEqual(await rtnl.listRoutes({ family: AF_INET, protocol: RTPROT_KUBE_ROUTER }), []);
      const left = await rtnl.listRoutes({ family: AF_INET, protocol: 4 });
      assert.deepEqual(left.map((r) => [r.dst, r.gateway]), [['10.250.0.0/16', '192.168.77.9']]);
      await rtnl.deleteRoute(theirs);
      await rtnl.deleteAddress(link, { address: '192.168.77.1', prefixLen: 24 });
    },
  },
  {
    name: 'writeRoutes: 3,000 replaces and deletes in one batch, a failed write named and the rest done',
    async run({ rtnl, link }) {
      if (rtnl.writeRoutes === undefined) return;
      await rtnl.addAddress(link, { address: '192.168.78.1', prefixLen: 24, scope: 0 });
      const dsts = Array.from({ length: 3000 }, (_, i) => `10.${128 + (i >> 8)}.${i & 255}.0/24`);
      const add = dsts.map((dst) => ({ op: 'replace' as const, route: { dst, gateway: '192.168.78.2' } }));
      const t0 = performance.now();
      assert.deepEqual(new Set(await rtnl.writeRoutes(add)), new Set([undefined]));
      const ms = performance.now() - t0;
      assert.equal((await rtnl.listRoutes({ family: AF_INET, protocol: RTPROT_KUBE_ROUTER })).length, 3000);
      // Replacing again is a no-op success; a delete of a missing route fails alone (ESRCH, named).
      const mixed = [
        { op: 'replace' as const, route: { dst: dsts[0], gateway: '192.168.78.3' } },
        { op: 'delete' as const, route: { dst: '10.127.0.0/24' } },
        ...dsts.slice(1).map((dst) => ({ op: 'delete' as const, route: { dst } })),
      ];
      const res = await rtnl.writeRoutes(mixed);
      assert.equal(res[0], undefined);
      assert.ok(res[1] instanceof RtnlError && res[1].errno === RtErrno.ESRCH && /RTM_DELROUTE route 10\.127\.0\.0\/24/.test(res[1].message), String(res[1]));
      assert.equal(res.slice(2).filter((e) => e !== undefined).length, 0);
      const left = await rtnl.listRoutes({ family: AF_INET, protocol: RTPROT_KUBE_ROUTER });
      assert.deepEqual(left.map((r) => [r.dst, r.gateway]), [[dsts[0], '192.168.78.3']]);
      assert.deepEqual(await rtnl.writeRoutes([{ op: 'delete', route: { dst: dsts[0] } }]), [undefined]);
      await rtnl.deleteAddress(link, { address: '192.168.78.1', prefixLen: 24 });
      if (process.env.KR_VERBOSE) console.log(`# 3,000 routes written in one batch in ${ms.toFixed(0)} ms`);
    },
  },
  {
    name: 'routes in tables 77/78/79, with src, and IPv6',
    async run({ rtnl, link }) {
      await rtnl.addAddress(link, { address: '192.168.77.1', prefixLen: 24, scope: 0 });
      await rtnl.addAddress(link, { address: 'fd00:77::1', prefixLen: 64, scope: 0 });
      await rtnl.addRoute({ dst: '0.0.0.0/0', table: 77, oif: link });
      await rtnl.addRoute({ dst: '10.96.0.0/12', table: 79, oif: link, src: '192.168.77.1' });
      await rtnl.addRoute({ dst: 'fd00:244:1::/64', gateway: 'fd00:77::2', oif: link, priority: 10 });
      const t79 = await rtnl.listRoutes({ family: AF_INET, table: 79 });
      assert.deepEqual(t79.map((r) => [r.dst, r.src, r.protocol]), [['10.96.0.0/12', '192.168.77.1', RTPROT_KUBE_ROUTER]]);
      const t77 = await rtnl.listRoutes({ family: AF_INET, table: 77 });
      assert.deepEqual(t77.map((r) => r.dst), ['0.0.0.0/0']);
      const v6 = await rtnl.listRoutes({ family: AF_INET6, protocol: RTPROT_KUBE_ROUTER });
      assert.deepEqual(v6.map((r) => [r.dst, r.gateway, r.priority]), [['fd00:244:1::/64', 'fd00:77::2', 10]]);
      await rtnl.deleteRoute({ dst: '0.0.0.0/0', table: 77 });
      await rtnl.deleteRoute({ dst: '10.96.0.0/12', table: 79 });
      await rtnl.deleteRoute({ dst: 'fd00:244:1::/64', priority: 10 });
      assert.deepEqual(await rtnl.listRoutes({ family: AF_INET, table: 79 }), []);
      assert.deepEqual(await rtnl.listRoutes({ family: AF_INET6, protocol: RTPROT_KUBE_ROUTER }), []);
      await rtnl.deleteAddress(link, { address: '192.168.77.1', prefixLen: 24 });
      await rtnl.deleteAddress(link, { address: 'fd00:77::1', prefixLen: 64 });
    },
  },
  {
    name: 'rules for tables 77/78/79: add, EEXIST, list, delete, ENOENT',
    async run({ rtnl }) {
      const from = { family: AF_INET, priority: 32000, table: 79, src: '10.244.0.0/16' } as const;
      const mark = { family: AF_INET, priority: 32001, table: 78, fwmark: 0x2000 } as const;
      const all = { family: AF_INET, priority: 32002, table: 77 } as const;
      await rtnl.addRule(from);
      await rtnl.addRule(mark);
      await rtnl.addRule(all);
      await rejectsErrno(rtnl.addRule(from), RtErrno.EEXIST, 'RTM_NEWRULE');
      const got = (await rtnl.listRules(AF_INET)).filter((r) => r.priority >= 32000 && r.priority <= 32002);
      assert.deepEqual(
        got.map((r) => [r.priority, r.table, r.src, r.fwmark, r.fwmask, r.action]),
        [
          [32000, 79, '10.244.0.0/16', 0, 0, 1],
          [32001, 78, '', 0x2000, 0xffffffff, 1],
          [32002, 77, '', 0, 0, 1],
        ],
      );
      await rtnl.deleteRule(from);
      await rtnl.deleteRule(mark);
      await rtnl.deleteRule(all);
      await rejectsErrno(rtnl.deleteRule(from), RtErrno.ENOENT, 'RTM_DELRULE');
      assert.deepEqual((await rtnl.listRules(AF_INET)).filter((r) => r.priority >= 32000 && r.priority <= 32002), []);
      await rtnl.addRule({ family: AF_INET6, priority: 32000, table: 79, src: 'fd00:244::/48' });
      assert.deepEqual((await rtnl.listRules(AF_INET6)).filter((r) => r.priority === 32000).map((r) => r.src), ['fd00:244::/48']);
      await rtnl.deleteRule({ family: AF_INET6, priority: 32000, table: 79, src: 'fd00:244::/48' });
    },
  },
  {
    name: 'kube-dummy-if: created once, up, kind dummy; deleted',
    needsVirtualLinks: true,
    async run({ rtnl }) {
      const a = await rtnl.ensureDummyLink('kube-dummy-if');
      assert.equal(a.kind, 'dummy');
      assert.equal(a.up, true);
      const b = await rtnl.ensureDummyLink('kube-dummy-if');
      assert.equal(b.index, a.index);
      await rtnl.setLinkUp('kube-dummy-if', false);
      assert.equal((await rtnl.ensureDummyLink('kube-dummy-if')).up, true);
      await rtnl.addAddress('kube-dummy-if', { address: '10.96.0.10', prefixLen: 32, scope: RT_SCOPE.link });
      assert.deepEqual(await ours(rtnl, 'kube-dummy-if'), ['10.96.0.10/32']);
      assert.equal(await rtnl.deleteLink('kube-dummy-if'), true);
      assert.equal(await rtnl.getLink('kube-dummy-if'), undefined);
    },
  },
  {
    name: 'ipip tunnel: created up with kind ipip; deleted',
    needsVirtualLinks: true,
    async run({ rtnl }) {
      const t = await rtnl.ensureTunnel('tun-kr0', { local: '192.168.56.11', remote: '192.168.56.12' });
      assert.equal(t.kind, 'ipip');
      assert.equal(t.up, true);
      assert.equal((await rtnl.ensureTunnel('tun-kr0', { local: '192.168.56.11', remote: '192.168.56.12' })).index, t.index);
      assert.equal(await rtnl.deleteLink('tun-kr0'), true);
    },
  },
  {
    name: 'ip6ip6 tunnel: created up with kind ip6tnl; deleted',
    needsVirtualLinks: true,
    async run({ rtnl }) {
      const t = await rtnl.ensureTunnel('tun-kr6', { mode: 'ip6ip6', local: 'fd00:56::11', remote: 'fd00:57::13' });
      assert.equal(t.kind, 'ip6tnl');
      assert.equal(t.up, true);
      assert.equal((await rtnl.ensureTunnel('tun-kr6', { mode: 'ip6ip6', local: 'fd00:56::11', remote: 'fd00:57::13' })).index, t.index);
      assert.equal(await rtnl.deleteLink('tun-kr6'), true);
    },
  },
];
