// The ipset contract: one suite, run against the fake kernel (test/unit) and
// against the real kernel in a throwaway netns (test/integration).

import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncMutex } from '../../src/kernel/lock.js';
import { IpsetReconciler } from '../../src/kernel/ipset/reconciler.js';
import { IpsetRestoreError } from '../../src/kernel/ipset/errors.js';
import type { IpsetDriver, IpsetSet, IpsetType, IpsetFamily, IpsetOptions } from '../../src/kernel/ipset/types.js';

export interface IpsetHarness {
  driver: IpsetDriver;
  /** Make something in the kernel reference the set (an iptables rule), so destroy fails "in use". */
  reference(name: string): Promise<void>;
  unreference(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Wraps a driver to record every restore script. */
export class CountingDriver implements IpsetDriver {
  readonly scripts: string[] = [];
  /** The inner driver's direct read, when it has one (the netlink driver). */
  readonly read?: IpsetDriver['read'];
  constructor(private readonly inner: IpsetDriver) {
    if (inner.read) this.read = (keep) => (inner.read as NonNullable<IpsetDriver['read']>).call(inner, keep);
  }
  save(): Promise<string> {
    return this.inner.save();
  }
  restore(script: string): Promise<void> {
    this.scripts.push(script);
    return this.inner.restore(script);
  }
  lines(): string[] {
    return this.scripts.flatMap((s) => s.split('\n').filter((l) => l !== ''));
  }
}

export function set(
  name: string,
  type: IpsetType,
  entries: Iterable<string>,
  family: IpsetFamily = 'inet',
  options: IpsetOptions = { timeout: 0 },
): IpsetSet {
  return { name, type, family, options, entries: new Set(entries) };
}

const owned = (n: string): boolean => n.startsWith('kube-router-') || n.startsWith('KUBE-');

function range(n: number, base = 0): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(base + (i >> 16)) & 255}.${(i >> 8) & 255}.${i & 255}`);
}

export function ipsetContract(name: string, factory: () => Promise<IpsetHarness>): void {
  describe(`ipset contract (${name})`, () => {
    let h: IpsetHarness;
    let drv: CountingDriver;
    let ipset: IpsetReconciler;

    beforeEach(async () => {
      h = await factory();
      drv = new CountingDriver(h.driver);
      ipset = new IpsetReconciler(drv, new AsyncMutex());
    });
    afterEach(async () => {
      await h.close();
    });

    const all = (): IpsetSet[] => [
      set('kube-router-svip', 'hash:ip', ['10.96.0.1', '10.96.0.10']),
      set('kube-router-pod-subnets', 'hash:net', ['10.244.0.0/24', '10.244.1.7/16', '10.1.2.3/32', '10.244.3.0/24 nomatch']),
      set('kube-router-svip-prt', 'hash:ip,port', ['10.96.0.1,443', '10.96.0.10,udp:53', '10.96.0.10,tcp:53']),
      set('KUBE-DST-ABCDEFGHIJKLMNOP', 'hash:ip,port,ip', ['10.0.0.1,tcp:80,10.0.0.2']),
      set('KUBE-SRC-ABCDEFGHIJKLMNOP', 'hash:ip,port,net', ['10.0.0.1,sctp:9,10.8.0.0/16', '10.0.0.1,udp:9,10.9.0.0/16 nomatch']),
      set('inet6:kube-router-svip', 'hash:ip', ['2001:0DB8::0001', 'fd00::a'], 'inet6'),
      set('kube-router-all', 'list:set', ['kube-router-svip', 'kube-router-pod-subnets'], 'inet', {}),
    ];

    it('creates every set type with canonical members, read back in one save', async () => {
      const r = await ipset.applyCreatesAndUpdates(all());
      assert.equal(r.created.length, 7);
      assert.equal(drv.scripts.length, 1, 'one ipset restore');
      const got = await ipset.list({ prefixes: ['kube-router-', 'KUBE-', 'inet6:kube-router-'] });
      assert.deepEqual([...got.keys()].sort(), all().map((s) => s.name).sort());
      assert.deepEqual([...got.get('kube-router-pod-subnets')!.entries].sort(), [
        '10.1.2.3',
        '10.244.0.0/16',
        '10.244.0.0/24',
        '10.244.3.0/24 nomatch',
      ]);
      assert.deepEqual([...got.get('kube-router-svip-prt')!.entries].sort(), ['10.96.0.1,tcp:443', '10.96.0.10,tcp:53', '10.96.0.10,udp:53']);
      assert.deepEqual([...got.get('inet6:kube-router-svip')!.entries].sort(), ['2001:db8::1', 'fd00::a']);
      assert.equal(got.get('inet6:kube-router-svip')!.family, 'inet6');
      assert.equal(got.get('kube-router-svip')!.options.timeout, 0);
      assert.deepEqual([...got.get('kube-router-all')!.entries], ['kube-router-svip', 'kube-router-pod-subnets']);
    });

    it('re-applying the same desired state changes nothing (0 lines, no restore)', async () => {
      await ipset.applyCreatesAndUpdates(all());
      const before = drv.scripts.length;
      const r = await ipset.applyCreatesAndUpdates(all());
      assert.equal(r.lines, 0);
      assert.equal(r.unchanged, 7);
      assert.equal(drv.scripts.length, before);
    });

    it('a one-member change adds and deletes only that member', async () => {
      await ipset.applyCreatesAndUpdates(all());
      const next = all();
      next[0] = set('kube-router-svip', 'hash:ip', ['10.96.0.1', '10.96.0.11']);
      drv.scripts.length = 0;
      const r = await ipset.applyCreatesAndUpdates(next);
      assert.deepEqual(r.updated, ['kube-router-svip']);
      assert.deepEqual(drv.lines(), ['add kube-router-svip 10.96.0.11', 'del kube-router-svip 10.96.0.10']);
      const got = await ipset.list({ names: ['kube-router-svip'] });
      assert.deepEqual([...got.get('kube-router-svip')!.entries].sort(), ['10.96.0.1', '10.96.0.11']);
    });

    it('a large change swaps through a TMP- set, which is gone afterwards', async () => {
      await ipset.applyCreatesAndUpdates([set('kube-router-node-ips', 'hash:ip', range(500))]);
      const r = await ipset.applyCreatesAndUpdates([set('kube-router-node-ips', 'hash:ip', range(500, 1))]);
      assert.deepEqual(r.swapped, ['kube-router-node-ips']);
      const got = await ipset.list({ prefixes: ['kube-router-', 'TMP-'] });
      assert.deepEqual([...got.keys()], ['kube-router-node-ips']);
      assert.deepEqual([...got.get('kube-router-node-ips')!.entries].sort(), range(500, 1).sort());
    });

    it('an option change (timeout) or a nomatch flip swaps; a crash-left TMP- set is cleaned first', async () => {
      const s0 = set('kube-router-local-ips', 'hash:ip', ['10.0.0.1'], 'inet', {});
      const n0 = set('KUBE-SRC-NETS', 'hash:net', ['10.0.0.0/8', '10.1.0.0/16 nomatch']);
      await ipset.applyCreatesAndUpdates([s0, n0]);
      await h.driver.restore('create TMP-LEFTOVERFROMCRASH hash:ip family inet\nadd TMP-LEFTOVERFROMCRASH 1.2.3.4\n');
      const s1 = set('kube-router-local-ips', 'hash:ip', ['10.0.0.1']);
      const n1 = set('KUBE-SRC-NETS', 'hash:net', ['10.0.0.0/8', '10.1.0.0/16']);
      const r = await ipset.applyCreatesAndUpdates([s1, n1]);
      assert.deepEqual(r.swapped.sort(), ['KUBE-SRC-NETS', 'kube-router-local-ips']);
      const got = await ipset.list({ prefixes: ['kube-router-', 'KUBE-', 'TMP-'] });
      assert.equal(got.get('kube-router-local-ips')!.options.timeout, 0);
      assert.deepEqual([...got.get('KUBE-SRC-NETS')!.entries].sort(), ['10.0.0.0/8', '10.1.0.0/16']);
      assert.ok(![...got.keys()].some((n) => n.startsWith('TMP-')));
      assert.equal((await ipset.applyCreatesAndUpdates([s1, n1])).lines, 0);
    });

    it('destroyStale destroys owned stale sets only; an in-use set is kept, reported, and destroyed next time', async () => {
      await h.driver.restore('create user-own-set hash:ip family inet\nadd user-own-set 192.168.1.1\n');
      await ipset.applyCreatesAndUpdates(all());
      await h.reference('kube-router-svip-prt');
      const keep = ['kube-router-svip', 'kube-router-pod-subnets'];
      const r = await ipset.destroyStale(keep, { owned });
      assert.deepEqual(r.kept.map((k) => k.name), ['kube-router-svip-prt']);
      assert.match(r.kept[0].reason, /in use/);
      assert.deepEqual(r.destroyed.sort(), ['KUBE-DST-ABCDEFGHIJKLMNOP', 'KUBE-SRC-ABCDEFGHIJKLMNOP', 'kube-router-all']);
      let got = await ipset.list({ match: () => true });
      assert.deepEqual([...got.keys()].sort(), [
        'inet6:kube-router-svip', // not owned by this caller's predicate
        'kube-router-pod-subnets',
        'kube-router-svip',
        'kube-router-svip-prt',
        'user-own-set',
      ]);
      await h.unreference('kube-router-svip-prt');
      const r2 = await ipset.destroyStale(keep, { owned });
      assert.deepEqual(r2.destroyed, ['kube-router-svip-prt']);
      assert.deepEqual(r2.kept, []);
      got = await ipset.list({ match: () => true });
      assert.deepEqual([...got.get('user-own-set')!.entries], ['192.168.1.1']);
      assert.equal((await ipset.destroyStale(keep, { owned })).lines, 0);
    });

    it('a user set outside our prefixes survives every apply', async () => {
      await h.driver.restore('create my-set hash:net family inet\nadd my-set 172.16.0.0/12\n');
      await ipset.applyCreatesAndUpdates(all());
      await ipset.applyCreatesAndUpdates([set('kube-router-svip', 'hash:ip', range(300))]);
      await ipset.destroyStale([], { owned });
      const got = await ipset.list({ names: ['my-set'] });
      assert.deepEqual([...got.get('my-set')!.entries], ['172.16.0.0/12']);
    });

    it('a restore error names the line and its text (type change of a referenced set)', async () => {
      await ipset.applyCreatesAndUpdates([set('kube-router-svip', 'hash:ip', ['10.0.0.1'])]);
      await h.reference('kube-router-svip');
      await assert.rejects(
        ipset.applyCreatesAndUpdates([set('kube-router-svip', 'hash:net', ['10.0.0.0/8'])]),
        (err: unknown) => {
          assert.ok(err instanceof IpsetRestoreError);
          assert.equal(err.code, 'KR_ERR_KERNEL');
          assert.equal(err.line, 1);
          assert.equal(err.lineText, 'destroy kube-router-svip');
          assert.ok(err.inUse);
          assert.match(String(err.context.call), /ipset restore/);
          return true;
        },
      );
      const got = await ipset.list({ names: ['kube-router-svip'] });
      assert.deepEqual([...got.get('kube-router-svip')!.entries], ['10.0.0.1'], 'previous set kept');
      await h.unreference('kube-router-svip');
    });

    it('rejects bad names and entries before touching the kernel', async () => {
      await assert.rejects(ipset.applyCreatesAndUpdates([set('x'.repeat(32), 'hash:ip', [])]), /invalid set name/);
      await assert.rejects(ipset.applyCreatesAndUpdates([set('kube-router-x', 'hash:ip', ['10.0.0.300'])]), /bad entry/);
      await assert.rejects(ipset.applyCreatesAndUpdates([set('kube-router-x', 'hash:ip', ['2001:db8::1'])]), /family/);
      assert.equal(drv.scripts.length, 0);
    });
  });
}
