// The iptables driver with its in-process nf_tables writer, against the real
// kernel. Not a test file of its own: test/integration/iptables-netlink.test.ts
// runs it with `node --test` inside `unshare -n` (the netlink socket belongs
// to the namespace of the process that opens it).
//
// 1. The shared iptables contract through the driver as the agent builds it
//    (netlink on): what the writer cannot express falls back, so every case
//    must hold either way.
// 2. The writer itself: the rules it writes read back from iptables-nft-save
//    exactly as the same script applied by iptables-nft-restore; insertions
//    land where iptables would put them; the handles it keeps between
//    transactions are dropped when someone else changes the ruleset; a
//    deletion of a rule that is not there falls back and fails with the
//    line, as iptables-restore reports it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { IptablesRestoreError } from '../../src/kernel/iptables/errors.js';
import { LinuxIptablesDriver } from '../../src/kernel/iptables/linux.js';
import { NftRestorer } from '../../src/kernel/iptables/nft-linux.js';
import type { AttrWriter } from '../../src/kernel/netlink/attr-writer.js';
import { GenlChannel } from '../../src/kernel/netlink/channel.js';
import { Protocol } from 'netlink';
import type { IptablesFamily } from '../../src/kernel/iptables/types.js';
import { iptablesContract } from '../unit/iptables.contract.js';
import { ctxFor } from '../unit/firewall-fixtures.js';
import { commonChain, inputHead, tailChain } from '../../src/controllers/firewall/compile-static.js';
import { familySetName, finishRules, LOCAL_PODS_SET } from '../../src/controllers/firewall/names.js';
import { chainRuleHash, hashComment } from '../../src/kernel/iptables/rulehash.js';

function sh(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const bin = (fam: IptablesFamily, tool: string): string => `${fam === 'ipv4' ? 'iptables' : 'ip6tables'}-nft${tool}`;

function reset(): void {
  for (const fam of ['ipv4', 'ipv6'] as const) {
    sh([bin(fam, ''), '-w', '-F']);
    sh([bin(fam, ''), '-w', '-X']);
  }
}

for (const fam of ['ipv4', 'ipv6'] as const) {
  iptablesContract(
    `netlink writer, nft ${fam}, unshared netns`,
    async () => {
      reset();
      return { driver: new LinuxIptablesDriver({ family: fam, backend: 'nft', netlink: true }), close: async () => reset() };
    },
    fam === 'ipv6',
  );
}

/** Our chains' lines in iptables-nft-save, chain names replaced by `map`. */
function saved(fam: IptablesFamily, map: Record<string, string> = {}): string[] {
  return sh([bin(fam, '-save'), '-t', 'filter'])
    .split('\n')
    .filter((l) => l.startsWith('-A ') || l.startsWith(':KR-'))
    .map((l) => Object.entries(map).reduce((acc, [from, to]) => acc.split(from).join(to), l));
}

/** The kr: tag of each rule of KR-TOP, in order, cut to `len` characters. */
function topTags(fam: IptablesFamily, len = 3): (string | undefined)[] {
  return saved(fam)
    .filter((l) => l.startsWith('-A KR-TOP '))
    .map((l) => /kr:(\w+)/.exec(l)?.[1].slice(0, len));
}

/**
 * Writes `script('KR-OURS')` through the driver (asserting it went over
 * netlink) and `script('KR-REF')` with iptables-nft-restore; asserts both
 * chains print the same in iptables-nft-save and returns ours (chain `X`).
 */
async function writtenAsRestoreWrites(fam: IptablesFamily, d: LinuxIptablesDriver, script: (chain: string) => string): Promise<string[]> {
  await d.restore(script('KR-OURS'));
  assert.equal(d.netlinkStats.applied, 1, d.netlinkStats.lastReason);
  sh([bin(fam, '-restore'), '--noflush'], script('KR-REF'));
  const all = saved(fam);
  const chainOf = (c: string): string[] => all.filter((l) => l.startsWith(`-A ${c} `)).map((l) => l.replace(c, 'X'));
  const ours = chainOf('KR-OURS');
  assert.deepEqual(ours, chainOf('KR-REF'));
  return ours;
}

function podScript(fam: IptablesFamily, pod: string, top: string, tag: string): string {
  const ip = fam === 'ipv4' ? '10.200.0.200' : 'fd00::c8';
  const k = (n: number): string => `kr:${tag}${String(n).padStart(16 - tag.length, '0')}`;
  return [
    '*filter',
    `:${pod} - [0:0]`,
    `-A ${pod} -m comment --comment "${k(1)} rule for stateful firewall for pod" -j ${top}`,
    `-A ${pod} -m comment --comment "${k(2)} rule to permit the traffic to pods when source is the pod's local node" -m addrtype --src-type LOCAL -d ${ip} -j ACCEPT`,
    `-A ${pod} -d ${ip} -m comment --comment "${k(3)} run through nw policy ns/p1" -j ${top}`,
    `-A ${pod} -s ${fam === 'ipv4' ? '10.200.0.0/16' : 'fd00::/64'} -m comment --comment "${k(4)}" -j RETURN`,
    `-A ${pod} -m comment --comment "${k(5)} rule to log dropped traffic POD name:ns/a" -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/minute --limit-burst 10 -j NFLOG --nflog-group 100`,
    `-A ${pod} -m comment --comment "${k(6)} rule to REJECT traffic destined for POD name:ns/a" -m mark ! --mark 0x10000/0x10000 -j REJECT`,
    `-A ${pod} -m comment --comment "${k(7)}" -j MARK --set-mark 0/0x10000`,
    `-A ${pod} -m comment --comment "${k(8)} set mark to ACCEPT traffic that comply to network policies" -j MARK --set-mark 0x20000/0x20000`,
    `-A ${pod} -m comment --comment "${k(9)}" -m mark --mark 0x20000/0x20000 -j DROP`,
    `-I ${top} 1 -m comment --comment "${k(10)}" -d ${ip} -j ${pod}`,
    `-I ${top} 2 -m comment --comment "${k(11)}" -s ${ip} -j ${pod}`,
    'COMMIT',
    '',
  ].join('\n');
}

for (const fam of ['ipv4', 'ipv6'] as const) {
  describe(`nf_tables writer (${fam}, unshared netns)`, () => {
    let d: LinuxIptablesDriver;
    beforeEach(async () => {
      reset();
      d = new LinuxIptablesDriver({ family: fam, backend: 'nft', netlink: true });
      // The table and a top chain with three rules, written by iptables itself.
      sh([bin(fam, '-restore'), '--noflush'], ['*filter', ':KR-TOP - [0:0]', ...['a', 'b', 'c'].map((t) => `-A KR-TOP -m comment --comment "kr:${t.repeat(16)}" -j RETURN`), 'COMMIT', ''].join('\n'));
    });
    afterEach(() => reset());

    it('writes a pod chain and its jumps over netlink; iptables-nft-save prints them as it prints iptables-restore of the same script', async () => {
      await d.restore(podScript(fam, 'KR-POD', 'KR-TOP', 'p'));
      assert.equal(d.netlinkStats.applied, 1, d.netlinkStats.lastReason);
      assert.equal(d.netlinkStats.fellBack, 0);
      sh([bin(fam, '-restore'), '--noflush'], podScript(fam, 'KR-REF', 'KR-TOP', 'q'));
      const all = saved(fam);
      const ours = all.filter((l) => l.startsWith('-A KR-POD '));
      const ref = all.filter((l) => l.startsWith('-A KR-REF ')).map((l) => l.replace('-A KR-REF ', '-A KR-POD ').replace(/kr:q0+/, (m) => m.replace('q', 'p')));
      assert.equal(ours.length, 9);
      assert.deepEqual(ours, ref);
      // The jumps: ours were inserted at 1 and 2, then iptables inserted its own at 1 and 2 above them.
      assert.deepEqual(
        topTags(fam, 16).map((t) => t?.replace(/0+/, '')),
        ['q10', 'q11', 'p10', 'p11', 'aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc'],
      );
      // iptables -D <spec> finds our rule (its own compare of parsed rules).
      const ip = fam === 'ipv4' ? '10.200.0.200' : 'fd00::c8';
      sh([bin(fam, ''), '-w', '-D', 'KR-POD', '-d', ip, '-m', 'comment', '--comment', `kr:p${'3'.padStart(15, '0')} run through nw policy ns/p1`, '-j', 'KR-TOP']);
      assert.equal(saved(fam).filter((l) => l.startsWith('-A KR-POD ')).length, 8);
    });

    it('a policy chain: set matches by kernel index, protocols and ports print as iptables-restore writes them; the set is held by the rule', async () => {
      const inet = fam === 'ipv4' ? 'inet' : 'inet6';
      sh(['ipset', 'create', 'KR-S1', 'hash:ip', 'family', inet]);
      sh(['ipset', 'create', 'KR-S0', 'hash:ip', 'family', inet]); // so KR-S2's index is not KR-S1's + 0
      sh(['ipset', 'create', 'KR-S2', 'hash:net', 'family', inet]);
      const policy = (c: string): string =>
        [
          '*filter',
          `:${c} - [0:0]`,
          `-A ${c} -m comment --comment "kr:${'a'.repeat(16)} x" -m set --match-set KR-S1 src -p tcp -m tcp --dport 8000 -j MARK --set-xmark 0x10000/0x10000`,
          `-A ${c} -m set ! --match-set KR-S2 dst,dst -p udp -m udp --dport 53:60 -j RETURN`,
          `-A ${c} -p sctp -j RETURN`,
          `-A ${c} -p udp -m udp --dport 1000:1000 -j RETURN`,
          `-A ${c} -m set --match-set KR-S1 src -m set --match-set KR-S2 dst -j RETURN`,
          `-A ${c} -m comment --comment "kr:${'b'.repeat(16)}" -m mark --mark 0x10000/0x10000 -j RETURN`,
          'COMMIT',
          '',
        ].join('\n');
      try {
        assert.equal((await writtenAsRestoreWrites(fam, d, policy)).length, 6);
        // The kernel holds the sets for our rules: destroy is refused while they exist.
        assert.throws(() => sh(['ipset', 'destroy', 'KR-S1']), /in use/);
        // A set that does not exist: iptables-restore reports it, as before.
        await assert.rejects(d.restore(['*filter', ':KR-P2 - [0:0]', '-A KR-P2 -m set --match-set KR-NONE src -j RETURN', 'COMMIT', ''].join('\n')), IptablesRestoreError);
        assert.match(d.netlinkStats.lastReason, /set KR-NONE not found/);
      } finally {
        reset();
        for (const n of ['KR-S1', 'KR-S0', 'KR-S2']) spawnSync('ipset', ['destroy', n]);
      }
    });

    it('a rule written again after its set came back under another kernel index matches that set, not the index it had', async () => {
      const inet = fam === 'ipv4' ? 'inet' : 'inet6';
      const chain = (verb: 'write' | 'drop'): string =>
        (verb === 'write'
          ? ['*filter', ':KR-P3 - [0:0]', `-A KR-P3 -m comment --comment "kr:${'s'.repeat(16)}" -m set --match-set KR-S1 src -j RETURN`, 'COMMIT', '']
          : ['*filter', '-F KR-P3', '-X KR-P3', 'COMMIT', '']
        ).join('\n');
      const rule = (): string[] => saved(fam).filter((l) => l.startsWith('-A KR-P3 '));
      try {
        sh(['ipset', 'create', 'KR-S1', 'hash:ip', 'family', inet]);
        await d.restore(chain('write'));
        assert.match(rule()[0] ?? '', /--match-set KR-S1 src/);
        await d.restore(chain('drop'));
        // KR-S1 destroyed; KR-S9 takes its index, and KR-S1 comes back under a new one.
        // nf_tables releases a deleted rule's set reference after the commit (deferred work).
        for (let i = 0; spawnSync('ipset', ['destroy', 'KR-S1']).status !== 0; i++) {
          assert.ok(i < 50, 'KR-S1 still held 5 s after its rule was deleted');
          await new Promise((r) => setTimeout(r, 100));
        }
        sh(['ipset', 'create', 'KR-S9', 'hash:ip', 'family', inet]);
        sh(['ipset', 'create', 'KR-S1', 'hash:ip', 'family', inet]);
        await d.restore(chain('write'));
        assert.equal(d.netlinkStats.applied, 3, d.netlinkStats.lastReason);
        assert.deepEqual(rule().map((l) => /--match-set (\S+)/.exec(l)?.[1]), ['KR-S1']);
        assert.throws(() => sh(['ipset', 'destroy', 'KR-S1']), /in use/, 'the rule holds the new KR-S1');
        sh(['ipset', 'destroy', 'KR-S9']);
      } finally {
        reset();
        for (const n of ['KR-S1', 'KR-S9']) spawnSync('ipset', ['destroy', n]);
      }
    });

    it('keeps the handles it wrote: the next transaction reads no chain, and lands at the right positions', async () => {
      await d.restore(podScript(fam, 'KR-POD', 'KR-TOP', 'p'));
      assert.equal(d.netlinkStats.chainsRead, 1);
      const k = (n: number): string => `"kr:p${String(n).padStart(15, '0')}"`;
      const ip = fam === 'ipv4' ? '10.200.0.200' : 'fd00::c8';
      // Delete the second jump (written by the previous transaction), insert a rule at position 2.
      await d.restore(['*filter', `-D KR-TOP -m comment --comment ${k(11)} -s ${ip} -j KR-POD`, `-I KR-TOP 2 -m comment --comment "kr:${'n'.repeat(16)}" -j RETURN`, 'COMMIT', ''].join('\n'));
      assert.equal(d.netlinkStats.applied, 2, d.netlinkStats.lastReason);
      assert.equal(d.netlinkStats.chainsRead, 1, 'served from the kept handles');
      assert.deepEqual(topTags(fam), ['p00', 'nnn', 'aaa', 'bbb', 'ccc']);
    });

    it('drops the kept handles when another writer changed the ruleset, and reads again', async () => {
      await d.restore(podScript(fam, 'KR-POD', 'KR-TOP', 'p'));
      // iptables (another writer) deletes the first rule of KR-TOP: the kept handles are stale.
      sh([bin(fam, ''), '-w', '-D', 'KR-TOP', '1']);
      await d.restore(['*filter', `-I KR-TOP 2 -m comment --comment "kr:${'n'.repeat(16)}" -j RETURN`, 'COMMIT', ''].join('\n'));
      assert.equal(d.netlinkStats.applied, 2, d.netlinkStats.lastReason);
      assert.equal(d.netlinkStats.chainsRead, 2, 'KR-TOP read again');
      assert.deepEqual(topTags(fam), ['p00', 'nnn', 'aaa', 'bbb', 'ccc']);
    });

    it("its own chains (ownChains) keep their handles across another writer's change elsewhere; a handle someone else removed makes the kernel refuse the batch, and iptables-restore applies it", async () => {
      const own = new LinuxIptablesDriver({ family: fam, backend: 'nft', netlink: true, ownChains: (c) => c === 'KR-TOP' || c === 'KR-POD' });
      await own.restore(podScript(fam, 'KR-POD', 'KR-TOP', 'p'));
      assert.equal(own.netlinkStats.chainsRead, 1);
      sh([bin(fam, ''), '-w', '-N', 'KR-OTHER']); // another writer, another chain: the generation moves on
      await own.restore(['*filter', `-I KR-TOP 2 -m comment --comment "kr:${'n'.repeat(16)}" -j RETURN`, 'COMMIT', ''].join('\n'));
      assert.equal(own.netlinkStats.applied, 2, own.netlinkStats.lastReason);
      assert.equal(own.netlinkStats.chainsRead, 1, 'KR-TOP not read again');
      assert.deepEqual(topTags(fam, 16).map((t) => t?.replace(/0+/, '')), ['p10', 'nnnnnnnnnnnnnnnn', 'p11', 'aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc']);
      // Another writer deletes p11 from our chain: the batch that inserts before it names a handle that is gone.
      sh([bin(fam, ''), '-w', '-D', 'KR-TOP', '3']);
      await own.restore(['*filter', `-I KR-TOP 3 -m comment --comment "kr:${'m'.repeat(16)}" -j RETURN`, 'COMMIT', ''].join('\n'));
      assert.equal(own.netlinkStats.fellBack, 1);
      assert.match(own.netlinkStats.lastReason, /newrule KR-TOP: errno 2/);
      assert.deepEqual(topTags(fam, 16).map((t) => t?.replace(/0+/, '')), ['p10', 'nnnnnnnnnnnnnnnn', 'mmmmmmmmmmmmmmmm', 'aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc']);
      // iptables-restore wrote KR-TOP: the next netlink transaction reads it again.
      await own.restore(['*filter', `-I KR-TOP 1 -m comment --comment "kr:${'o'.repeat(16)}" -j RETURN`, 'COMMIT', ''].join('\n'));
      assert.equal(own.netlinkStats.applied, 3, own.netlinkStats.lastReason);
      assert.equal(own.netlinkStats.chainsRead, 2, 'KR-TOP read again after the fallback');
      assert.equal(topTags(fam, 16)[0], 'o'.repeat(16));
    });

    it('a deletion of a rule that is not there falls back to iptables-restore, which fails on that line; nothing is applied', async () => {
      const before = saved(fam);
      const script = ['*filter', ':KR-NEW - [0:0]', `-A KR-NEW -m comment --comment "kr:${'x'.repeat(16)}" -j RETURN`, `-D KR-TOP -m comment --comment "kr:${'z'.repeat(16)}" -j RETURN`, 'COMMIT', ''].join('\n');
      await assert.rejects(d.restore(script), (e: unknown) => e instanceof IptablesRestoreError && e.lineText === `-D KR-TOP -m comment --comment "kr:${'z'.repeat(16)}" -j RETURN`);
      assert.equal(d.netlinkStats.fellBack, 1);
      assert.match(d.netlinkStats.lastReason, /no rule "kr:z+" in KR-TOP/);
      assert.deepEqual(saved(fam), before);
    });

    it('a chain that already exists is not silently reused: the batch is refused and iptables-restore applies the script', async () => {
      const script = ['*filter', ':KR-TOP - [0:0]', `-A KR-TOP -m comment --comment "kr:${'y'.repeat(16)}" -j RETURN`, 'COMMIT', ''].join('\n');
      await d.restore(script);
      assert.equal(d.netlinkStats.fellBack, 1);
      assert.match(d.netlinkStats.lastReason, /newchain KR-TOP: errno 17/);
      // iptables-restore's `:KR-TOP` flushed the chain, then added the rule.
      assert.deepEqual(saved(fam).filter((l) => l.startsWith('-A KR-TOP ')).length, 1);
    });

    it('a batch stamped with an older ruleset generation is refused whole (ERESTART), which is what makes kept handles safe', async () => {
      const r = new NftRestorer(fam);
      try {
        const gen = await r.genId();
        sh([bin(fam, ''), '-w', '-N', 'KR-OTHER']); // another writer commits: the generation moves on
        assert.ok((await r.genId()) !== gen);
        const ch = new GenlChannel({ protocol: Protocol.NETFILTER });
        try {
          // NFT_MSG_NEWCHAIN (subsystem 10, message 3) with CREATE|EXCL, the batch stamped with `gen`.
          const newChain = {
            type: (10 << 8) | 3,
            flags: 0x400 | 0x200,
            write: (w: AttrWriter): void => {
              w.nfgen(fam === 'ipv4' ? 2 : 10, 0, 0);
              w.string(1, 'filter', 256); // NFTA_CHAIN_TABLE
              w.string(3, 'KR-STALE', 256); // NFTA_CHAIN_NAME
            },
          };
          const res = await ch.nfBatch([newChain], 10, gen);
          assert.equal(res.batchErrno, 85, 'ERESTART');
        } finally {
          ch.close();
        }
        assert.ok(!saved(fam).some((l) => l.includes('KR-STALE')) && !sh([bin(fam, '-save'), '-t', 'filter']).includes(':KR-STALE'));
      } finally {
        r.close();
      }
    });

    it("the firewall's static chains (conntrack, icmp types, addrtype + multiport node ports, default-deny set gates) print as iptables-restore writes them", async () => {
      const ctx = { ...ctxFor('n1'), families: [fam], defaultDeny: true, podCidrs: [fam === 'ipv4' ? '10.244.1.0/24' : 'fd00:244:1::/64'], serviceClusterIpRanges: ['10.96.0.0/12', 'fd00:96::/112'] };
      const set = familySetName(LOCAL_PODS_SET, fam);
      sh(['ipset', 'create', set, 'hash:ip', 'family', fam === 'ipv4' ? 'inet' : 'inet6']);
      const rules = [...commonChain(fam), ...inputHead(ctx, fam), ...tailChain(ctx, fam)].map((r) => finishRules([r], false)[0]);
      const script = (c: string): string => ['*filter', `:${c} - [0:0]`, ...rules.map((r) => `-A ${c} ${hashComment(chainRuleHash(r))} ${r}`), 'COMMIT', ''].join('\n');
      try {
        const ours = await writtenAsRestoreWrites(fam, d, script);
        assert.equal(ours.length, rules.length);
        assert.ok(ours.some((l) => / -m conntrack --ctstate RELATED,ESTABLISHED /.test(l)) && ours.some((l) => / -m multiport --dports 30000:32767 /.test(l)), ours.join('\n'));
      } finally {
        reset();
        spawnSync('ipset', ['destroy', set]);
      }
    });

    it('a full-sync-sized batch (3,000 rules in 300 chains, 200 sets) goes over netlink in one transaction; a kernel error in its middle aborts all of it; the driver sends it to iptables-restore', async () => {
      const inet = fam === 'ipv4' ? 'inet' : 'inet6';
      const sets = Array.from({ length: 200 }, (_, i) => `KR-BIG-${i}`);
      for (const n of sets) sh(['ipset', 'create', n, 'hash:ip', 'family', inet]);
      const big = (bad?: number): string => {
        const lines = ['*filter'];
        for (let c = 0; c < 300; c++) lines.push(`:KR-B${c} - [0:0]`);
        let n = 0;
        for (let c = 0; c < 300; c++) {
          for (let r = 0; r < 10; r++, n++) {
            const target = n === bad ? 'KR-NO-SUCH-CHAIN' : 'RETURN';
            lines.push(`-A KR-B${c} -m comment --comment "kr:${String(n).padStart(16, '0')}" -m set --match-set ${sets[n % 200]} src -p tcp -m tcp --dport ${1000 + r} -j ${target}`);
          }
        }
        lines.push('COMMIT', '');
        return lines.join('\n');
      };
      // With the receive buffer a node has by default (rmem_max 212,992; this host's is larger):
      // 3,000 ACKs would not fit, so only the last message asks for one.
      // (No rule limit: the driver's, NFT_MAX_RULES, would send it to iptables-restore.)
      const small = new NftRestorer(fam, 10_000, { recvBufferBytes: 212_992 }, Infinity);
      // With a node's default send buffer (wmem_max 212,992, doubled by the kernel) the ~1 MB
      // batch cannot be one datagram: it is not sent, and the driver falls back to iptables-restore.
      const tight = new NftRestorer(fam, 10_000, { sendBufferBytes: 212_992 }, Infinity);
      try {
        const r = await small.restore(big());
        assert.ok(r.applied, r.applied ? '' : r.reason);
        assert.equal(saved(fam).filter((l) => l.startsWith('-A KR-B')).length, 3000);
        reset();
        const t = await tight.restore(big());
        assert.ok(!t.applied && /exceeds the socket's send buffer/.test(t.reason), JSON.stringify(t));
        assert.equal(saved(fam).filter((l) => l.startsWith('-A KR-B')).length, 0, 'nothing sent');
        const before = saved(fam).length;
        const e = await small.restore(big(1500));
        assert.ok(!e.applied && /newrule KR-B150: errno 2/.test(e.reason), JSON.stringify(e));
        assert.equal(saved(fam).length, before, 'nothing of the batch applied');
        // The driver: over NFT_MAX_RULES rules, iptables-restore applies it (and says why).
        await d.restore(big());
        assert.equal(d.netlinkStats.applied, 0);
        assert.match(d.netlinkStats.lastReason, /^3000 rules: more than 600, which iptables-restore writes faster$/);
        assert.equal(saved(fam).filter((l) => l.startsWith('-A KR-B')).length, 3000);
        reset();
        await assert.rejects(d.restore(big(1500)), IptablesRestoreError);
        assert.equal(saved(fam).length, before, 'nothing of the script applied');
      } finally {
        small.close();
        tight.close();
        reset();
        for (const n of sets) spawnSync('ipset', ['destroy', n]);
      }
    });

    it('a rule shape it does not write goes through iptables-restore', async () => {
      await d.restore(['*filter', ':KR-P - [0:0]', '-A KR-P -p tcp --dport 80 -j ACCEPT', 'COMMIT', ''].join('\n'));
      assert.equal(d.netlinkStats.applied, 0);
      assert.match(d.netlinkStats.lastReason, /unsupported argument --dport/);
      assert.equal(saved(fam).filter((l) => l.startsWith('-A KR-P ')).length, 1);
    });
  });
}
