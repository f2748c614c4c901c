// The ipset contract against the real kernel through the netlink driver.
// Not a test file of its own: test/integration/ipset-netlink.test.ts runs it
// with `node --test` inside `unshare -n` (a netlink socket belongs to the
// network namespace of the process that opens it, so the whole process must
// be in a throwaway one). Each case starts from an empty ipset table.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { IpsetRestoreError } from '../../src/kernel/ipset/errors.js';
import { NetlinkIpsetDriver } from '../../src/kernel/ipset/netlink.js';
import { parseIpsetSave } from '../../src/kernel/ipset/parse.js';
import type { IpsetSet } from '../../src/kernel/ipset/types.js';
import { ipsetContract } from '../unit/ipset.contract.js';

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

const rule = (op: string, name: string): string[] => ['iptables', '-w', op, 'INPUT', '-m', 'set', '--match-set', name, 'src', '-j', 'ACCEPT'];

ipsetContract('netlink driver, unshared netns', async () => {
  sh(['iptables', '-F', 'INPUT']);
  sh(['ipset', 'flush']); // empties list:set members first
  sh(['ipset', 'destroy']);
  const driver = new NetlinkIpsetDriver();
  return {
    driver,
    reference: async (name) => sh(rule('-A', name)),
    unreference: async (name) => sh(rule('-D', name)),
    close: async () => {
      driver.close();
      sh(['iptables', '-F', 'INPUT']);
      sh(['ipset', 'flush']); // empties list:set members first
  sh(['ipset', 'destroy']);
    },
  };
});

describe('netlink driver against the ipset binary', () => {
  let driver: NetlinkIpsetDriver;
  beforeEach(() => {
    sh(['iptables', '-F', 'INPUT']);
    sh(['ipset', 'flush']);
    sh(['ipset', 'destroy']);
    driver = new NetlinkIpsetDriver();
  });
  afterEach(() => driver.close());

  it('reads back exactly what `ipset save` prints, for sets the binary wrote (every type, both families, nomatch)', async () => {
    const script = [
      'create a hash:ip family inet hashsize 1024 maxelem 65536 timeout 0',
      'add a 10.0.0.1',
      'add a 10.0.0.2 timeout 0',
      'create b hash:net family inet6 timeout 0',
      'add b 2001:db8::/32',
      'add b 2001:db8:1::/48 nomatch',
      'add b fd00::1',
      'create c hash:ip,port family inet timeout 0',
      'add c 10.0.0.1,tcp:80',
      'add c 10.0.0.1,udp:53',
      'add c 10.0.0.1,sctp:9',
      'create d hash:ip,port,ip family inet timeout 0',
      'add d 10.0.0.1,tcp:80,10.0.0.2',
      'create e hash:ip,port,net family inet timeout 0',
      'add e 10.0.0.1,tcp:80,10.8.0.0/16',
      'add e 10.0.0.1,tcp:81,10.9.0.0/16 nomatch',
      'create f list:set size 8',
      'add f a',
      'add f c',
    ].join('\n');
    const r = spawnSync('ipset', ['restore'], { input: script + '\n', encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const binary = parseIpsetSave(spawnSync('ipset', ['save'], { encoding: 'utf8' }).stdout, () => true);
    const ours = await driver.read(() => true);
    const strip = (m: Map<string, IpsetSet>): unknown => [...m.values()].map((s) => ({ ...s, options: { timeout: s.options.timeout, maxelem: s.options.maxelem, size: s.options.size }, entries: [...s.entries].sort() }));
    assert.deepEqual(strip(ours), strip(binary));
    assert.deepEqual(strip(parseIpsetSave(await driver.save(), () => true)), strip(binary));
  });

  it('sets the driver wrote are what the binary reads back', async () => {
    await driver.restore(['create x hash:net family inet hashsize 64 timeout 0', 'add x 10.1.0.0/16', 'add x 10.1.2.0/24 nomatch', 'add x 10.2.3.4', 'create y list:set size 4', 'add y x'].join('\n'));
    const saved = spawnSync('ipset', ['save'], { encoding: 'utf8' }).stdout;
    assert.match(saved, /^create x hash:net family inet hashsize 64 maxelem 65536 timeout 0/m);
    assert.match(saved, /^add x 10\.1\.2\.0\/24 timeout 0 nomatch$/m);
    assert.match(saved, /^add x 10\.1\.0\.0\/16 timeout 0$/m);
    assert.match(saved, /^add x 10\.2\.3\.4 timeout 0$/m);
    assert.match(saved, /^add y x timeout 0$|^add y x$/m);
  });

  it('stops at the first failing line of a batch, names it, and leaves the lines before it applied', async () => {
    await driver.restore('create s hash:ip family inet timeout 0\nadd s 10.0.0.2\n');
    const script = ['add s 10.0.0.1', 'add s 10.0.0.2', 'add s 10.0.0.3', 'destroy s'];
    await assert.rejects(driver.restore(script.join('\n')), (err: unknown) => {
      assert.ok(err instanceof IpsetRestoreError);
      assert.equal(err.line, 2);
      assert.equal(err.lineText, 'add s 10.0.0.2');
      assert.match(err.reason, /already added/);
      return true;
    });
    const s = (await driver.read((n) => n === 's')).get('s');
    assert.deepEqual([...(s?.entries ?? [])].sort(), ['10.0.0.1', '10.0.0.2']);
  });

  it('pipelines creates and adds (200 lines in a few datagrams): a refused line in the middle is named, the lines before it are applied, a destroy after it is not run', async () => {
    await driver.restore('create dup hash:ip family inet timeout 0\n');
    const lines: string[] = [];
    for (let i = 0; i < 100; i++) lines.push(`create p${i} hash:ip family inet timeout 0`, `add p${i} 10.1.0.${i}`);
    lines.splice(100, 0, 'create dup hash:ip family inet timeout 0'); // line 101, after p0..p49
    lines.push('destroy dup');
    await assert.rejects(driver.restore(lines.join('\n')), (err: unknown) => {
      assert.ok(err instanceof IpsetRestoreError);
      assert.equal(err.line, 101);
      assert.equal(err.lineText, 'create dup hash:ip family inet timeout 0');
      assert.match(err.reason, /already exists/);
      return true;
    });
    const sets = await driver.read(() => true);
    for (let i = 0; i < 50; i++) assert.deepEqual([...(sets.get(`p${i}`)?.entries ?? [])], [`10.1.0.${i}`], `p${i}`);
    assert.ok(sets.has('dup'), 'the destroy after the failure did not run');
  });

  it('names a missing set and an in-use set as the binary does', async () => {
    await assert.rejects(driver.restore('add nope 10.0.0.1\n'), (err: unknown) => err instanceof IpsetRestoreError && err.missing && err.line === 1);
    await driver.restore('create used hash:ip family inet timeout 0\n');
    sh(rule('-A', 'used'));
    await assert.rejects(driver.restore('destroy used\n'), (err: unknown) => err instanceof IpsetRestoreError && err.inUse && err.line === 1);
  });

  it('a 20,000-member set goes out in a few messages and reads back whole', async () => {
    const lines = ['create big hash:ip family inet hashsize 4096 timeout 0'];
    for (let i = 0; i < 20_000; i++) lines.push(`add big 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    await driver.restore(lines.join('\n'));
    const big = (await driver.read((n) => n === 'big')).get('big');
    assert.equal(big?.entries.size, 20_000);
    assert.match(spawnSync('ipset', ['list', '-t', 'big'], { encoding: 'utf8' }).stdout, /Number of entries: 20000/);
  });
});
