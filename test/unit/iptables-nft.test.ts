// The pure parts of the in-process nf_tables writer: which expressions a
// rule becomes (the ones iptables-nft 1.8.9 writes for it), how a restore
// script is read, and how insertions and deletions are placed against the
// handles read back. The kernel side (save text identical to
// iptables-restore's, the cache of handles, fallbacks) is
// test/netns/iptables-netlink.contract.ts; the lab runs every firewall
// scenario through it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { chainsToRead, parseRestoreScript, planNftMessages, type NftScript } from '../../src/kernel/iptables/nft-plan.js';
import { compileNftRule, writeRuleExprs, type NftExpr, type NftRule } from '../../src/kernel/iptables/nft-rule.js';
import { AttrWriter } from '../../src/kernel/netlink/attr-writer.js';

const LE = endianness() === 'LE';
const host32 = (...v: number[]): Buffer => {
  const b = Buffer.alloc(Math.ceil((v.length * 4) / 8) * 8);
  v.forEach((x, i) => (LE ? b.writeUInt32LE(x, i * 4) : b.writeUInt32BE(x, i * 4)));
  return b;
};

function rule(text: string, family: 'ipv4' | 'ipv6' = 'ipv4'): NftRule {
  const r = compileNftRule(text, family);
  assert.ok(typeof r !== 'string', `${text}: ${String(r)}`);
  return r;
}

const kinds = (exprs: readonly NftExpr[]): string[] => exprs.map((e) => e.kind);

describe('nf_tables rule compiler', () => {
  it('a pod jump: destination payload and cmp, the comment match, counter, jump', () => {
    const r = rule('-m comment --comment "kr:4usX5PBYKi61zrEC to pod" -d 10.200.0.200 -j KUBE-POD-FW-SQJDCB6UUTJDFQ2H');
    assert.deepEqual(kinds(r.exprs), ['payload', 'cmp', 'comment', 'counter', 'verdict']);
    assert.deepEqual(r.exprs[0], { kind: 'payload', offset: 16, len: 4 });
    assert.deepEqual(r.exprs[1], { kind: 'cmp', op: 'eq', data: Buffer.from([10, 200, 0, 200]) });
    assert.deepEqual(r.exprs[4], { kind: 'verdict', code: -3, chain: 'KUBE-POD-FW-SQJDCB6UUTJDFQ2H' });
    assert.equal(r.comment, 'kr:4usX5PBYKi61zrEC to pod');
  });

  it('IPv6 source and destination: offsets 8 and 24, the prefix as whole bytes; source first whatever the order given', () => {
    const r = rule('-d fd00::c8/128 -s fd00:1::/64 -j ACCEPT', 'ipv6');
    assert.deepEqual(r.exprs.slice(0, 4), [
      { kind: 'payload', offset: 8, len: 8 },
      { kind: 'cmp', op: 'eq', data: Buffer.from('fd00000100000000', 'hex') },
      { kind: 'payload', offset: 24, len: 16 },
      { kind: 'cmp', op: 'eq', data: Buffer.from('fd0000000000000000000000000000c8', 'hex') },
    ]);
    assert.deepEqual(r.exprs[5], { kind: 'verdict', code: 1 });
  });

  it("the pod chain's tail: mark test, limit, NFLOG, REJECT, MARK as iptables-nft writes them", () => {
    const log = rule('-m comment --comment "kr:6FpqrkpW2eBh__SE" -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/minute --limit-burst 10 -j NFLOG --nflog-group 100');
    assert.deepEqual(kinds(log.exprs), ['comment', 'meta-mark', 'bitwise', 'cmp', 'limit', 'counter', 'log']);
    assert.deepEqual(log.exprs[2], { kind: 'bitwise', mask: host32(0x10000).subarray(0, 4) });
    assert.deepEqual(log.exprs[3], { kind: 'cmp', op: 'neq', data: host32(0x10000).subarray(0, 4) });
    assert.deepEqual(log.exprs[4], { kind: 'limit', rate: 10, unitSeconds: 60, burst: 10 });
    assert.deepEqual(log.exprs[6], { kind: 'log', group: 100 });
    const reject = rule('-m mark ! --mark 0x10000/0x10000 -j REJECT');
    assert.deepEqual(reject.exprs.at(-1), { kind: 'target', name: 'REJECT', rev: 0, info: host32(3) });
    const reject6 = rule('-j REJECT', 'ipv6');
    assert.deepEqual(reject6.exprs.at(-1), { kind: 'target', name: 'REJECT', rev: 0, info: host32(4) }, 'icmp6-port-unreachable');
    // --set-mark V/M is --set-xmark V/(V|M) (libxt_MARK rev 2).
    assert.deepEqual(rule('-j MARK --set-mark 0/0x10000').exprs.at(-1), { kind: 'target', name: 'MARK', rev: 2, info: host32(0, 0x10000) });
    assert.deepEqual(rule('-j MARK --set-mark 0x20000/0x20000').exprs.at(-1), { kind: 'target', name: 'MARK', rev: 2, info: host32(0x20000, 0x20000) });
    assert.deepEqual(rule('-j MARK --set-xmark 0x1/0x3').exprs.at(-1), { kind: 'target', name: 'MARK', rev: 2, info: host32(1, 3) });
    const local = rule('-m addrtype --src-type LOCAL -d 10.0.0.1 -j ACCEPT');
    const info = Buffer.alloc(8);
    if (LE) info.writeUInt16LE(4, 0);
    else info.writeUInt16BE(4, 0);
    assert.deepEqual(local.exprs[2], { kind: 'match', name: 'addrtype', rev: 1, info });
  });

  it('a policy rule: protocol first, then the comment, the set match (rev 4) and the port, counter, MARK', () => {
    const r = rule('-m comment --comment "kr:aaaaaaaaaaaaaaaa" -m set --match-set KUBE-SRC-ABC src -p tcp -m tcp --dport 8000 -j MARK --set-xmark 0x10000/0x10000');
    assert.equal(r.proto, 6);
    assert.deepEqual(kinds(r.exprs), ['meta-l4proto', 'cmp', 'comment', 'set', 'payload', 'cmp', 'counter', 'target']);
    assert.deepEqual(r.exprs[1], { kind: 'cmp', op: 'eq', data: Buffer.from([6]) });
    assert.deepEqual(r.exprs[3], { kind: 'set', name: 'KUBE-SRC-ABC', invert: false, dirs: ['src'] });
    assert.deepEqual(r.exprs[4], { kind: 'payload', base: 'transport', offset: 2, len: 2 });
    assert.deepEqual(r.exprs[5], { kind: 'cmp', op: 'eq', data: Buffer.from([0x1f, 0x40]) });
    const range = rule('-m set ! --match-set KUBE-DST-X dst,dst -p udp -m udp --dport 53:60 -j RETURN', 'ipv6');
    assert.equal(range.proto, 17);
    assert.deepEqual(range.exprs[2], { kind: 'set', name: 'KUBE-DST-X', invert: true, dirs: ['dst', 'dst'] });
    assert.deepEqual(range.exprs[4], { kind: 'range', from: Buffer.from([0, 53]), to: Buffer.from([0, 60]) });
    assert.deepEqual(kinds(rule('-p sctp -j RETURN').exprs), ['meta-l4proto', 'cmp', 'counter', 'verdict']);
  });

  it("the static chains' shapes: conntrack rev 3, icmp / icmp6 rev 0 after the protocol, multiport rev 1, a prefix off a byte boundary masked", () => {
    const ct = rule('-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    assert.deepEqual(kinds(ct.exprs), ['match', 'counter', 'verdict']);
    const info = (ct.exprs[0] as { info: Buffer }).info;
    assert.equal(info.length, 168, 'sizeof(struct xt_conntrack_mtinfo3) aligned to 8');
    const u16 = (b: Buffer, at: number): number => (LE ? b.readUInt16LE(at) : b.readUInt16BE(at));
    assert.deepEqual([u16(info, 146), u16(info, 150)], [1, 0b110], 'match_flags STATE; state_mask ESTABLISHED|RELATED');
    assert.equal(u16((rule('-m conntrack --ctstate INVALID -j DROP').exprs[0] as { info: Buffer }).info, 150), 1);
    const icmp = rule('-p icmp -m icmp --icmp-type echo-request -j ACCEPT');
    assert.equal(icmp.proto, 1);
    assert.deepEqual(icmp.exprs[2], { kind: 'match', name: 'icmp', rev: 0, info: Buffer.from([8, 0, 255, 0, 0, 0, 0, 0]) });
    const icmp6 = rule('-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT', 'ipv6');
    assert.equal(icmp6.proto, 58);
    assert.deepEqual(icmp6.exprs[2], { kind: 'match', name: 'icmp6', rev: 0, info: Buffer.from([135, 0, 255, 0, 0, 0, 0, 0]) });
    const mp = rule('-p tcp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767,8080 -j RETURN');
    assert.deepEqual(kinds(mp.exprs), ['meta-l4proto', 'cmp', 'match', 'match', 'counter', 'verdict']);
    const m = (mp.exprs[3] as { name: string; info: Buffer });
    assert.equal(m.name, 'multiport');
    assert.deepEqual([m.info.length, m.info[0], m.info[1], u16(m.info, 2), u16(m.info, 4), u16(m.info, 6), m.info[32], m.info[33], m.info[34]], [48, 1, 3, 30000, 32767, 8080, 1, 0, 0]);
    const net = rule('-d 10.96.0.0/12 -j RETURN');
    assert.deepEqual(net.exprs.slice(0, 3), [
      { kind: 'payload', offset: 16, len: 4 },
      { kind: 'bitwise', mask: Buffer.from([255, 240, 0, 0]) },
      { kind: 'cmp', op: 'eq', data: Buffer.from([10, 96, 0, 0]) },
    ]);
  });

  it('returns a reason for every shape it does not write, so iptables-restore is used', () => {
    for (const [text, fam] of [
      ['-p tcp --dport 80 -j ACCEPT', 'ipv4'],
      ['-m set --match-set KUBE-SRC-X src,dst,src,dst,src,dst,src -j RETURN', 'ipv4'],
      ['-m tcp --dport 80 -j RETURN', 'ipv4'],
      ['-p udp -m tcp --dport 80 -j RETURN', 'ipv4'],
      ['-p tcp -m tcp --dport 90:80 -j RETURN', 'ipv4'],
      ['-p sctp -m sctp --dport 80 -j RETURN', 'ipv4'],
      ['-m icmp --icmp-type echo-request -j ACCEPT', 'ipv4'],
      ['-p icmp -m icmp --icmp-type redirect -j ACCEPT', 'ipv4'],
      ['-p ipv6-icmp -m icmp --icmp-type echo-request -j ACCEPT', 'ipv6'],
      ['-p icmp -m icmp --icmp-type 8/0 -j ACCEPT', 'ipv4'],
      ['-m conntrack --ctstate RELATED,SOMETHING -j ACCEPT', 'ipv4'],
      ['-m conntrack --ctstatus ASSURED -j ACCEPT', 'ipv4'],
      ['-m multiport --dports 80 -j ACCEPT', 'ipv4'],
      ['-p tcp -m multiport --sports 80 -j ACCEPT', 'ipv4'],
      ['-p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16 -j ACCEPT', 'ipv4'],
      ['-s 10.0.0.0/ -j ACCEPT', 'ipv4'],
      ['! -s 10.0.0.1 -j ACCEPT', 'ipv4'],
      ['-s fd00::1 -j ACCEPT', 'ipv4'],
      ['-s 10.0.0.1 -j ACCEPT', 'ipv6'],
      ['-j LOG --log-prefix x', 'ipv4'],
      ['-j MASQUERADE', 'ipv4'],
      ['-j NFLOG --nflog-group 100 --nflog-prefix x', 'ipv4'],
      ['-j REJECT --reject-with tcp-reset', 'ipv4'],
      ['-m comment --comment a -m comment --comment b -j ACCEPT', 'ipv4'],
      [`-m comment --comment "${'x'.repeat(256)}" -j ACCEPT`, 'ipv4'],
      ['-d 10.0.0.1', 'ipv4'],
    ] as const) {
      assert.equal(typeof compileNftRule(text, fam), 'string', text);
    }
  });
});

const add = (chain: string, text: string): string => `-A ${chain} ${text}`;

describe('nf_tables rule encoding, memoised', () => {
  const text = '-p tcp -m set --match-set KUBE-SRC-AAAA src -m tcp --dport 80 -j MARK --set-xmark 0x10000/0x10000';
  const encode = (r: NftRule, index: number): Buffer => {
    const w = new AttrWriter();
    w.u8(9, 1); // unaligned start, as after a message header's attributes
    writeRuleExprs(w, 4, r, () => index);
    return Buffer.from(w.finish());
  };

  it('the same text compiles to the same shared rule; copies of its encoding equal the first encoding', () => {
    const r = rule(text);
    assert.equal(rule(text), r);
    assert.notEqual(rule(text, 'ipv6'), r, 'the family is part of the key');
    const first = encode(r, 7);
    assert.deepEqual(encode(r, 7), first);
    // The set's kernel index (u16 host order at the start of the match info) is in the bytes.
    const at = first.indexOf(Buffer.from('set\0'));
    assert.ok(at > 0);
  });

  it('a set re-created under another index is encoded again, not copied', () => {
    const r = rule(text);
    const a = encode(r, 7);
    const b = encode(r, 300);
    assert.notDeepEqual(a, b);
    assert.equal(a.length, b.length);
    const diff = [...a].flatMap((v, i) => (v !== b[i] ? [i] : []));
    const idx = (buf: Buffer, i: number): number => (LE ? buf.readUInt16LE(i) : buf.readUInt16BE(i));
    assert.ok(diff.length > 0 && diff.length <= 2, `only the index differs: ${diff.join(',')}`);
    const at = diff[0]; // 7 and 300 differ in both bytes: the first is where the u16 starts
    assert.deepEqual([idx(a, at), idx(b, at)], [7, 300]);
    assert.deepEqual(encode(r, 7), a, 'and back');
  });
});

describe('nf_tables restore script', () => {
  it('reads creations, flushes, deletions, appends and positioned insertions of one table', () => {
    const s = parseRestoreScript(
      ['*filter', ':KUBE-POD-FW-A - [0:0]', add('KUBE-POD-FW-A', '-m comment --comment "kr:aaaaaaaaaaaaaaaa" -j ACCEPT'), '-I KUBE-ROUTER-FORWARD 3 -m comment --comment "kr:bbbbbbbbbbbbbbbb" -d 10.0.0.1 -j KUBE-POD-FW-A', '-I KUBE-ROUTER-INPUT -m comment --comment "kr:cccccccccccccccc" -j RETURN', '-D KUBE-ROUTER-OUTPUT -m comment --comment "kr:dddddddddddddddd" -j RETURN', '-F KUBE-POD-FW-B', '-X KUBE-POD-FW-B', 'COMMIT', ''].join('\n'),
      'ipv4',
    );
    assert.ok(typeof s !== 'string', String(s));
    assert.equal(s.table, 'filter');
    assert.deepEqual(
      s.ops.map((o) => `${o.op} ${o.chain}${o.op === 'insert' ? ` ${o.position}` : ''}${o.op === 'delete-rule' ? ` ${o.comment}` : ''}`),
      ['create KUBE-POD-FW-A', 'append KUBE-POD-FW-A', 'insert KUBE-ROUTER-FORWARD 3', 'insert KUBE-ROUTER-INPUT 1', 'delete-rule KUBE-ROUTER-OUTPUT kr:dddddddddddddddd', 'flush KUBE-POD-FW-B', 'delete-chain KUBE-POD-FW-B'],
    );
    assert.deepEqual(chainsToRead(s).sort(), ['KUBE-ROUTER-FORWARD', 'KUBE-ROUTER-INPUT', 'KUBE-ROUTER-OUTPUT']);
  });

  it('refuses what it cannot do exactly: a deletion without our hash comment, another command, two tables, an unsupported rule', () => {
    assert.match(String(parseRestoreScript('*filter\n-D X -m comment --comment "theirs" -j ACCEPT\nCOMMIT\n', 'ipv4')), /without a kr: comment/);
    assert.match(String(parseRestoreScript('*filter\n-R X 1 -j ACCEPT\nCOMMIT\n', 'ipv4')), /line/);
    assert.match(String(parseRestoreScript('*filter\n:X - [0:0]\nCOMMIT\n*nat\nCOMMIT\n', 'ipv4')), /line|table/);
    assert.match(String(parseRestoreScript('*filter\n-A X -p udp --dport 53 -j ACCEPT\nCOMMIT\n', 'ipv4')), /unsupported argument --dport/);
    assert.match(String(parseRestoreScript('*filter\n:X - [0:0]\n', 'ipv4')), /not one table/);
  });
});

describe('nf_tables transaction plan', () => {
  const script = (...lines: string[]): NftScript => {
    const s = parseRestoreScript(['*filter', ...lines, 'COMMIT'].join('\n'), 'ipv4');
    assert.ok(typeof s !== 'string', String(s));
    return s;
  };
  const r = (tag: string): string => `-m comment --comment "kr:${tag.padEnd(16, tag)}" -j RETURN`;
  const c = (tag: string): string => `kr:${tag.padEnd(16, tag)}`;
  const existing = new Map([['TOP', [1n, 2n, 3n].map((h, i) => ({ handle: h, comment: c('abc'[i]) }))]]);

  it('places each insertion next to a rule that exists: before the rule at its position, after the previous one, or at an end', () => {
    const plan = planNftMessages(script(`-I TOP 1 ${r('x')}`, `-I TOP 2 ${r('y')}`, `-I TOP 6 ${r('z')}`, `-I TOP 6 ${r('w')}`), existing);
    assert.ok(typeof plan !== 'string', String(plan));
    const placed = plan.messages.map((m) => (m.kind === 'newrule' ? `${m.append ? 'after' : 'before'} ${m.position ?? (m.append ? 'end' : 'head')}` : m.kind));
    // x and y each go right before a (handle 1); z is appended; w goes where z (new) follows it, so after c (handle 3).
    assert.deepEqual(placed, ['before 1', 'before 1', 'after end', 'after 3']);
    assert.deepEqual(
      plan.chains.get('TOP')?.map((p) => p.comment?.slice(3, 4)),
      ['x', 'y', 'a', 'b', 'c', 'w', 'z'],
      'the chain as the transaction leaves it',
    );
    assert.deepEqual(
      plan.chains.get('TOP')?.map((p) => p.handle ?? `m${p.message}`),
      ['m0', 'm1', 1n, 2n, 3n, 'm3', 'm2'],
    );
  });

  it('inserts at the head of an empty chain, and refuses an insertion with new rules on both sides', () => {
    const empty = new Map([['TOP', []]]);
    const head = planNftMessages(script(`-I TOP 1 ${r('x')}`, `-I TOP 1 ${r('y')}`), empty);
    assert.ok(typeof head !== 'string', String(head));
    assert.deepEqual(
      head.messages.map((m) => (m.kind === 'newrule' ? [m.append, m.position] : m.kind)),
      [
        [true, undefined],
        [false, undefined],
      ],
    );
    assert.match(String(planNftMessages(script(`-I TOP 1 ${r('x')}`, `-I TOP 2 ${r('y')}`, `-I TOP 2 ${r('z')}`), empty)), /between rules of this script/);
    assert.match(String(planNftMessages(script(`-I TOP 9 ${r('x')}`), existing)), /insert at 9 into TOP of 3 rules/);
  });

  it('deletes by handle the first rule with the same hash comment; a missing rule is reported, not guessed', () => {
    const plan = planNftMessages(script(`-D TOP ${r('b')}`, `-D TOP ${r('a')}`), existing);
    assert.ok(typeof plan !== 'string', String(plan));
    assert.deepEqual(plan.messages, [
      { kind: 'delrule', chain: 'TOP', handle: 2n },
      { kind: 'delrule', chain: 'TOP', handle: 1n },
    ]);
    assert.deepEqual(plan.chains.get('TOP')?.map((p) => p.handle), [3n]);
    assert.match(String(planNftMessages(script(`-D TOP ${r('q')}`), existing)), /no rule "kr:qqqqqqqqqqqqqqqq" in TOP/);
    assert.match(String(planNftMessages(script(`-I TOP 1 ${r('q')}`, `-D TOP ${r('q')}`), existing)), /a rule this script added/);
  });

  it('a new chain is created exclusively and filled in order; a stale one flushed and deleted', () => {
    const plan = planNftMessages(script(':POD - [0:0]', add('POD', r('a')), add('POD', r('b')), '-F OLD', '-X OLD'), new Map());
    assert.ok(typeof plan !== 'string', String(plan));
    assert.deepEqual(
      plan.messages.map((m) => `${m.kind} ${m.chain}`),
      ['newchain POD', 'newrule POD', 'newrule POD', 'flush OLD', 'delchain OLD'],
    );
    assert.deepEqual(plan.chains.get('POD')?.map((p) => p.message), [1, 2]);
    assert.equal(plan.chains.has('OLD'), false);
  });
});
