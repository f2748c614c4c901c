// Pure parts of the ipset module: entry normalisation, `ipset save` parsing,
// the plan and the golden `ipset restore` text.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeEntry } from '../../src/kernel/ipset/entry.js';
import { parseIpsetSave } from '../../src/kernel/ipset/parse.js';
import { planIpsets, tmpSetName } from '../../src/kernel/ipset/plan.js';
import { buildIpsetDestroy, buildIpsetRestore } from '../../src/kernel/ipset/script.js';
import type { IpsetSet } from '../../src/kernel/ipset/types.js';
import { set } from './ipset.contract.js';

describe('ipset entry normalisation (what `ipset save` prints)', () => {
  const cases: [Parameters<typeof normalizeEntry>[1], 'inet' | 'inet6', string, string][] = [
    ['hash:ip', 'inet', '10.0.0.1', '10.0.0.1'],
    ['hash:ip', 'inet', '255.255.255.254', '255.255.255.254'],
    ['hash:ip', 'inet', '  10.0.0.1 ', '10.0.0.1'],
    ['hash:ip', 'inet6', '2001:0DB8:0:0:0:0:0:0001', '2001:db8::1'],
    ['hash:ip', 'inet6', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['hash:net', 'inet', '10.1.2.3/8', '10.0.0.0/8'],
    ['hash:net', 'inet', '10.1.2.3/32', '10.1.2.3'],
    ['hash:net', 'inet', '10.1.0.0/16   nomatch', '10.1.0.0/16 nomatch'],
    ['hash:net', 'inet', '128.0.0.0/1', '128.0.0.0/1'],
    ['hash:net', 'inet6', '2001:db8::1/128', '2001:db8::1'],
    ['hash:net', 'inet6', '2001:db8:ffff::1/33', '2001:db8:8000::/33'],
    ['hash:ip,port', 'inet', '10.0.0.1,80', '10.0.0.1,tcp:80'],
    ['hash:ip,port', 'inet', '10.0.0.1,UDP:53', '10.0.0.1,udp:53'],
    ['hash:ip,port,ip', 'inet', '10.0.0.1,sctp:9,10.0.0.2', '10.0.0.1,sctp:9,10.0.0.2'],
    ['hash:ip,port,net', 'inet', '10.0.0.1,80,10.0.0.2/32', '10.0.0.1,tcp:80,10.0.0.2'],
    ['hash:ip', 'inet', '10.0.0.1 timeout 0', '10.0.0.1'],
  ];
  for (const [type, fam, input, want] of cases) {
    it(`${type} ${fam} "${input}" -> "${want}"`, () => assert.equal(normalizeEntry('s', type, fam, input), want));
  }
  it('rejects what the kernel rejects', () => {
    assert.throws(() => normalizeEntry('s', 'hash:net', 'inet', '0.0.0.0/0'), /\/0/);
    assert.throws(() => normalizeEntry('s', 'hash:ip', 'inet', '10.0.0.1 nomatch'), /nomatch/);
    assert.throws(() => normalizeEntry('s', 'hash:ip,port', 'inet', '10.0.0.1,icmp:8'), /protocol/);
    assert.throws(() => normalizeEntry('s', 'hash:ip,port', 'inet', '10.0.0.1,70000'), /range/);
  });
});

describe('ipset save parsing', () => {
  const text = [
    'create kube-router-svip hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x6f753908',
    'add kube-router-svip 10.0.0.1 timeout 0',
    'create other hash:ip family inet hashsize 1024 maxelem 65536',
    'add other 1.1.1.1',
    'create KUBE-SRC-X hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1',
    'add KUBE-SRC-X 2001:db8::/32',
    'add KUBE-SRC-X fd00::/8 nomatch',
    'create l list:set size 8',
    'add l other',
    '',
  ].join('\n');
  it('keeps the selected sets with options and canonical members', () => {
    const got = parseIpsetSave(text, (n) => n !== 'other');
    assert.deepEqual([...got.keys()], ['kube-router-svip', 'KUBE-SRC-X', 'l']);
    assert.deepEqual(got.get('kube-router-svip'), {
      name: 'kube-router-svip',
      type: 'hash:ip',
      family: 'inet',
      options: { hashsize: 1024, maxelem: 65536, timeout: 0 },
      entries: new Set(['10.0.0.1']),
    });
    assert.equal(got.get('KUBE-SRC-X')!.family, 'inet6');
    assert.deepEqual([...got.get('KUBE-SRC-X')!.entries], ['2001:db8::/32', 'fd00::/8 nomatch']);
    assert.deepEqual([...got.get('l')!.entries], ['other']);
  });
});

describe('ipset restore script (golden)', () => {
  const desired: IpsetSet[] = [
    set('kube-router-svip', 'hash:ip', ['10.0.0.3', '10.0.0.1', '10.0.0.2']),
    set('kube-router-node-ips', 'hash:ip', ['10.0.1.1', '10.0.1.2', '10.0.1.3']),
    set('kube-router-new', 'hash:net', ['10.2.0.0/16', '10.2.3.0/24 nomatch'], 'inet', { timeout: 0, maxelem: 1024 }),
    set('kube-router-all', 'list:set', ['kube-router-svip', 'kube-router-new'], 'inet', {}),
    set('KUBE-DST-AAAA', 'hash:net', ['10.9.0.0/16']),
  ];
  const actual = new Map<string, IpsetSet>([
    ['kube-router-svip', set('kube-router-svip', 'hash:ip', ['10.0.0.1', '10.0.0.2', '10.0.0.9'])],
    ['kube-router-node-ips', set('kube-router-node-ips', 'hash:ip', ['10.0.9.9', '10.0.9.8', '10.0.9.7'])],
    ['KUBE-DST-AAAA', set('KUBE-DST-AAAA', 'hash:ip', ['10.9.0.1'])],
    ['TMP-CRASHED0000000000', set('TMP-CRASHED0000000000', 'hash:ip', ['1.1.1.1'])],
  ]);
  it('is sorted, deterministic, swaps big changes, deltas small ones, creates list:set after its members', () => {
    const plan = planIpsets(desired, actual, 2);
    const tmp = tmpSetName(desired[1]);
    assert.match(tmp, /^TMP-[A-Z2-7]{16}$/);
    assert.deepEqual(buildIpsetRestore(plan), [
      'destroy TMP-CRASHED0000000000',
      'create kube-router-new hash:net family inet maxelem 1024 timeout 0',
      'add kube-router-new 10.2.0.0/16',
      'add kube-router-new 10.2.3.0/24 nomatch',
      `create ${tmp} hash:ip family inet timeout 0`,
      `add ${tmp} 10.0.1.1`,
      `add ${tmp} 10.0.1.2`,
      `add ${tmp} 10.0.1.3`,
      `swap ${tmp} kube-router-node-ips`,
      `destroy ${tmp}`,
      'add kube-router-svip 10.0.0.3',
      'del kube-router-svip 10.0.0.9',
      'create kube-router-all list:set',
      'add kube-router-all kube-router-svip',
      'add kube-router-all kube-router-new',
      'destroy KUBE-DST-AAAA',
      'create KUBE-DST-AAAA hash:net family inet timeout 0',
      'add KUBE-DST-AAAA 10.9.0.0/16',
    ]);
    assert.deepEqual(buildIpsetRestore(planIpsets(desired, actual, 2)), buildIpsetRestore(plan), 'deterministic');
  });
  it('is empty when desired equals actual', () => {
    const same = new Map(desired.map((s) => [s.name, s]));
    assert.deepEqual(buildIpsetRestore(planIpsets(desired, same)), []);
  });
  it('destroys list:set before the sets it references', () => {
    assert.deepEqual(buildIpsetDestroy([desired[0], desired[3], desired[4]]), [
      'destroy kube-router-all',
      'destroy KUBE-DST-AAAA',
      'destroy kube-router-svip',
    ]);
  });
});
