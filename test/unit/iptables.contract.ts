// The iptables contract: one suite, run against the fake kernel (test/unit)
// and against the real kernel (nft and legacy) in a throwaway netns
// (test/integration).

import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncMutex } from '../../src/kernel/lock.js';
import { IptablesReconciler } from '../../src/kernel/iptables/reconciler.js';
import { IptablesRestoreError } from '../../src/kernel/iptables/errors.js';
import type { IptablesDesired, IptablesDriver, IptablesTable, JumpRule } from '../../src/kernel/iptables/types.js';

export interface IptablesHarness {
  driver: IptablesDriver;
  close(): Promise<void>;
}

export class CountingIptablesDriver implements IptablesDriver {
  readonly scripts: string[] = [];
  constructor(private readonly inner: IptablesDriver) {}
  get family(): IptablesDriver['family'] {
    return this.inner.family;
  }
  save(table: IptablesTable): Promise<string> {
    return this.inner.save(table);
  }
  restore(script: string): Promise<void> {
    this.scripts.push(script);
    return this.inner.restore(script);
  }
  /** Body lines of the last restore (between `*table` and COMMIT). */
  lastBody(): string[] {
    const s = this.scripts[this.scripts.length - 1] ?? '';
    return s.split('\n').filter((l) => l !== '' && !l.startsWith('*') && l !== 'COMMIT');
  }
}

const owned = (c: string): boolean => /^(KUBE-ROUTER-|KUBE-POD-FW-|KUBE-NWPLCY-)/.test(c);

/** Lines of a chain in `iptables-save` output. */
function chainLines(save: string, chain: string): string[] {
  return save.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

export function iptablesContract(name: string, factory: () => Promise<IptablesHarness>, v6 = false): void {
  const addr = (n: number): string => (v6 ? `fd00::${n}` : `10.0.0.${n}`);
  const desired = (): IptablesDesired => ({
    table: 'filter',
    chains: new Map([
      [
        'KUBE-ROUTER-INPUT',
        [`-d ${addr(1)} -p tcp --dport 80 -j ACCEPT`, '-m comment --comment "their comment" -j KUBE-NWPLCY-COMMON', '-j RETURN'],
      ],
      ['KUBE-NWPLCY-COMMON', ['-m conntrack --ctstate INVALID -j DROP', '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT']],
      ['KUBE-POD-FW-AAAAAAAAAAAAAAAA', [`-s ${addr(5)} -j MARK --set-xmark 0x10000/0x10000`]],
    ]),
    jumps: [
      { fromChain: 'INPUT', rule: '-j KUBE-ROUTER-INPUT', position: 'first', comment: 'kube-router netpol - ABC' },
      { fromChain: 'FORWARD', rule: '-j KUBE-POD-FW-AAAAAAAAAAAAAAAA', position: 'first', comment: 'pod fw' },
      { fromChain: 'OUTPUT', rule: `-d ${addr(9)} -j KUBE-ROUTER-INPUT`, position: 'last', comment: 'last one' },
    ],
  });

  describe(`iptables contract (${name})`, () => {
    let h: IptablesHarness;
    let drv: CountingIptablesDriver;
    let ipt: IptablesReconciler;
    const userScript = [
      '*filter',
      ':USER-CHAIN - [0:0]',
      `-A USER-CHAIN -s ${addr(77)} -j DROP`,
      '-A INPUT -j USER-CHAIN',
      `-A OUTPUT -d ${addr(78)} -j ACCEPT`,
      'COMMIT',
      '',
    ].join('\n');
    const userLines = async (): Promise<string[]> => {
      const s = await h.driver.save('filter');
      return s.split('\n').filter((l) => /USER-CHAIN/.test(l) || l.includes(addr(78)));
    };

    beforeEach(async () => {
      h = await factory();
      drv = new CountingIptablesDriver(h.driver);
      ipt = new IptablesReconciler(drv, new AsyncMutex());
      await h.driver.restore(userScript);
    });
    afterEach(async () => {
      await h.close();
    });

    it('creates chains and jumps in one transaction; a re-apply (even by a fresh instance) changes nothing', async () => {
      const userBefore = await userLines();
      const r = await ipt.apply(desired(), { owned });
      assert.deepEqual(r.created, ['KUBE-NWPLCY-COMMON', 'KUBE-POD-FW-AAAAAAAAAAAAAAAA', 'KUBE-ROUTER-INPUT']);
      assert.equal(r.jumpsInserted, 3);
      assert.equal(drv.scripts.length, 1);
      const save = await h.driver.save('filter');
      const input = chainLines(save, 'INPUT');
      assert.match(input[0], /kr:[A-Za-z0-9_-]{16} kube-router netpol - ABC.*-j KUBE-ROUTER-INPUT/);
      assert.match(chainLines(save, 'OUTPUT').at(-1) ?? '', /-j KUBE-ROUTER-INPUT/);
      assert.equal(chainLines(save, 'KUBE-ROUTER-INPUT').length, 3);
      const again = await new IptablesReconciler(drv, new AsyncMutex()).apply(desired(), { owned });
      assert.equal(again.lines, 0);
      assert.equal(drv.scripts.length, 1, 'no restore for a no-op');
      assert.deepEqual(await userLines(), userBefore);
      const state = await ipt.read('filter', owned);
      assert.deepEqual([...state.chains.keys()].sort(), ['KUBE-NWPLCY-COMMON', 'KUBE-POD-FW-AAAAAAAAAAAAAAAA', 'KUBE-ROUTER-INPUT']);
      assert.equal(state.builtins.get('INPUT')!.ours[0].index, 0);
    });

    it('a changed rule rewrites only its chain, flushed and refilled in the same transaction', async () => {
      await ipt.apply(desired(), { owned });
      const d = desired();
      (d.chains as Map<string, string[]>).set('KUBE-NWPLCY-COMMON', ['-m conntrack --ctstate INVALID -j DROP', '-p icmp -j ACCEPT']);
      const r = await ipt.apply(d, { owned });
      assert.deepEqual(r.rewritten, ['KUBE-NWPLCY-COMMON']);
      assert.deepEqual(r.created, []);
      const body = drv.lastBody();
      assert.equal(body[0], '-F KUBE-NWPLCY-COMMON');
      assert.equal(body.length, 3);
      assert.ok(body.every((l) => l.includes('KUBE-NWPLCY-COMMON')));
      assert.equal((await ipt.apply(d, { owned })).lines, 0);
    });

    it('deletes a stale chain after the jump to it; user chain, rules and jumps survive', async () => {
      const userBefore = await userLines();
      await ipt.apply(desired(), { owned });
      const d = desired();
      (d.chains as Map<string, string[]>).delete('KUBE-POD-FW-AAAAAAAAAAAAAAAA');
      const jumps = d.jumps.filter((j) => j.fromChain !== 'FORWARD');
      const r = await ipt.apply({ ...d, jumps }, { owned });
      assert.deepEqual(r.deleted, ['KUBE-POD-FW-AAAAAAAAAAAAAAAA']);
      assert.equal(r.jumpsDeleted, 1);
      const save = await h.driver.save('filter');
      assert.ok(!save.includes('KUBE-POD-FW-AAAAAAAAAAAAAAAA'));
      assert.deepEqual(chainLines(save, 'FORWARD'), []);
      assert.deepEqual(await userLines(), userBefore);
      // Everything gone: only the user's state is left.
      const gone = await ipt.apply({ table: 'filter', chains: new Map(), jumps: [] }, { owned });
      assert.equal(gone.deleted.length, 2);
      const final = await h.driver.save('filter');
      assert.ok(!/KUBE-/.test(final), final);
      assert.deepEqual(await userLines(), userBefore);
    });

    it('puts a displaced first jump back on top, deletes duplicates and stale jumps, keeps foreign rules', async () => {
      await ipt.apply(desired(), { owned });
      const save = await h.driver.save('filter');
      const ours = chainLines(save, 'INPUT')[0].replace(/^-A INPUT /, '');
      // Someone inserts a rule on top, duplicates our jump, and a stale kr: jump appears.
      await h.driver.restore(
        [
          '*filter',
          `-I INPUT 1 -s ${addr(50)} -j ACCEPT`,
          `-A INPUT ${ours}`,
          '-A INPUT -m comment --comment "kr:AAAAAAAAAAAAAAAA old" -j KUBE-ROUTER-INPUT',
          'COMMIT',
          '',
        ].join('\n'),
      );
      const r = await ipt.apply(desired(), { owned });
      assert.equal(r.jumpsDeleted, 3);
      assert.equal(r.jumpsInserted, 1);
      const input = chainLines(await h.driver.save('filter'), 'INPUT');
      assert.match(input[0], /kube-router netpol - ABC/);
      assert.equal(input.filter((l) => l.includes('KUBE-ROUTER-INPUT')).length, 1);
      assert.ok(input.some((l) => l.includes(addr(50))), 'foreign rule kept');
      assert.ok(input.some((l) => l.includes('USER-CHAIN')), 'user jump kept');
      assert.equal((await ipt.apply(desired(), { owned })).lines, 0);
    });

    it('adopts legacy jumps (kube-router comments) and replaces them', async () => {
      await h.driver.restore(
        ['*filter', ':KUBE-ROUTER-INPUT - [0:0]', '-I INPUT 1 -m comment --comment "kube-router netpol - OLD" -j KUBE-ROUTER-INPUT', 'COMMIT', ''].join('\n'),
      );
      const adoptJump = (spec: string): boolean => spec.includes('kube-router netpol');
      const r = await ipt.apply(desired(), { owned, adoptJump });
      assert.equal(r.jumpsDeleted, 1);
      const input = chainLines(await h.driver.save('filter'), 'INPUT');
      assert.equal(input.filter((l) => l.includes('-j KUBE-ROUTER-INPUT')).length, 1);
      assert.ok(!input.some((l) => l.includes('OLD')));
    });

    it('a restore error names the line and the rule; the previous rules stay', async () => {
      await ipt.apply(desired(), { owned });
      const before = await h.driver.save('filter');
      const d = desired();
      (d.chains as Map<string, string[]>).set('KUBE-NWPLCY-COMMON', ['-j ACCEPT', '-j KUBE-NOT-THERE']);
      (d.chains as Map<string, string[]>).set('KUBE-NWPLCY-NEW', ['-j ACCEPT']);
      await assert.rejects(ipt.apply(d, { owned }), (err: unknown) => {
        assert.ok(err instanceof IptablesRestoreError, String(err));
        assert.equal(err.code, 'KR_ERR_KERNEL');
        assert.ok(err.line !== undefined && err.line > 1);
        assert.match(err.lineText ?? '', /-A KUBE-NWPLCY-COMMON .*-j KUBE-NOT-THERE/);
        assert.match(String(err.context.call), /tables-.*restore --noflush/);
        return true;
      });
      const after = await h.driver.save('filter');
      const strip = (s: string): string[] => s.split('\n').filter((l) => !l.startsWith('#'));
      assert.deepEqual(strip(after), strip(before));
    });

    it('a stale chain still referenced by a user rule is kept and reported; the rest is applied', async () => {
      await ipt.apply(desired(), { owned });
      await h.driver.restore(['*filter', '-A USER-CHAIN -j KUBE-POD-FW-AAAAAAAAAAAAAAAA', 'COMMIT', ''].join('\n'));
      const d = desired();
      (d.chains as Map<string, string[]>).delete('KUBE-POD-FW-AAAAAAAAAAAAAAAA');
      (d.chains as Map<string, string[]>).set('KUBE-NWPLCY-NEW', ['-j ACCEPT']);
      const r = await ipt.apply({ ...d, jumps: d.jumps.filter((j) => j.fromChain !== 'FORWARD') }, { owned });
      assert.deepEqual(r.keptStale.map((k) => k.chain), ['KUBE-POD-FW-AAAAAAAAAAAAAAAA']);
      assert.deepEqual(r.created, ['KUBE-NWPLCY-NEW']);
      const save = await h.driver.save('filter');
      assert.match(save, /:KUBE-NWPLCY-NEW/);
      assert.equal(chainLines(save, 'KUBE-POD-FW-AAAAAAAAAAAAAAAA').length, 1, 'kept untouched');
      assert.deepEqual(chainLines(save, 'FORWARD'), []);
    });

    it('jumps at the end of a chain, in the nat table, and forceRewrite', async () => {
      const jumps: JumpRule[] = [
        { fromChain: 'POSTROUTING', rule: '-j KUBE-ROUTER-HAIRPIN', position: 'first', comment: 'hairpin' },
        { fromChain: 'POSTROUTING', rule: '-j MASQUERADE', position: 'last', comment: 'masq a' },
        { fromChain: 'POSTROUTING', rule: `-s ${addr(3)} -j MASQUERADE`, position: 'last', comment: 'masq b' },
      ];
      const nat: IptablesDesired = { table: 'nat', chains: new Map([['KUBE-ROUTER-HAIRPIN', ['-j RETURN']]]), jumps };
      await h.driver.restore(['*nat', `-A POSTROUTING -d ${addr(60)} -j ACCEPT`, 'COMMIT', ''].join('\n'));
      await ipt.apply(nat, { owned });
      const post = chainLines(await h.driver.save('nat'), 'POSTROUTING');
      assert.equal(post.length, 4);
      assert.match(post[0], /hairpin/);
      assert.match(post[1], new RegExp(addr(60).replace(/\./g, '\\.')));
      assert.match(post[2], /masq a/);
      assert.match(post[3], /masq b/);
      assert.equal((await ipt.apply(nat, { owned })).lines, 0);
      const forced = await ipt.apply(nat, { owned, forceRewrite: true });
      assert.deepEqual(forced.rewritten, ['KUBE-ROUTER-HAIRPIN']);
      assert.equal(forced.jumpsInserted, 0);
    });

    it('refuses chains it does not own and jumps from non-built-in chains, before touching the kernel', async () => {
      await assert.rejects(ipt.apply({ table: 'filter', chains: new Map([['USER-CHAIN', []]]), jumps: [] }, { owned }), /not owned/);
      await assert.rejects(ipt.apply({ table: 'filter', chains: new Map([['INPUT', []]]), jumps: [] }, { owned: () => true }), /built-in/);
      await assert.rejects(
        ipt.apply({ table: 'filter', chains: new Map(), jumps: [{ fromChain: 'USER-CHAIN', rule: '-j ACCEPT', position: 'first', comment: '' }] }, { owned }),
        /not a built-in/,
      );
      assert.equal(drv.scripts.length, 0);
    });
  });
}
