// sysctl helper against a temporary /proc/sys look-alike, and the fake.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeSysctl, ProcSysctl, sysctlPath, type Sysctl } from '../../src/kernel/sysctl.js';
import { KubeRouterError } from '../../src/errors.js';

describe('sysctl', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'krt-sysctl-'));
    await mkdir(join(dir, 'net/ipv4/vs'), { recursive: true });
    await mkdir(join(dir, 'net/ipv4/conf/eth0.100'), { recursive: true });
    await writeFile(join(dir, 'net/ipv4/vs/conntrack'), '0\n');
    await writeFile(join(dir, 'net/ipv4/ip_local_port_range'), '32768\t60999\n');
    await writeFile(join(dir, 'net/ipv4/conf/eth0.100/rp_filter'), '1\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('maps dotted and slashed keys', () => {
    assert.equal(sysctlPath('net.ipv4.vs.conntrack'), 'net/ipv4/vs/conntrack');
    assert.equal(sysctlPath('net/ipv4/conf/eth0.100/rp_filter'), 'net/ipv4/conf/eth0.100/rp_filter');
  });

  for (const [name, make] of [
    ['proc', (): Sysctl => new ProcSysctl(dir)],
    ['fake', (): Sysctl => new FakeSysctl({ 'net.ipv4.vs.conntrack': 0, 'net/ipv4/ip_local_port_range': '32768 60999', 'net/ipv4/conf/eth0.100/rp_filter': 1 })],
  ] as const) {
    it(`${name}: writes only when different, and names the key on errors`, async () => {
      const s = make();
      assert.equal(await s.get('net.ipv4.ip_local_port_range'), '32768 60999');
      assert.equal(await s.ensure('net.ipv4.ip_local_port_range', '32768 60999'), false);
      assert.equal(await s.ensure('net.ipv4.vs.conntrack', 1), true);
      assert.equal(await s.get('net.ipv4.vs.conntrack'), '1');
      assert.equal(await s.ensure('net.ipv4.vs.conntrack', '1'), false);
      assert.equal(await s.ensure('net/ipv4/conf/eth0.100/rp_filter', 2), true);
      await assert.rejects(s.get('net.ipv4.vs.nope'), (e: unknown) => {
        assert.ok(e instanceof KubeRouterError);
        assert.equal(e.code, 'KR_ERR_KERNEL');
        assert.equal(e.context.field, 'net.ipv4.vs.nope');
        return true;
      });
    });
  }

  it('proc: an unchanged value is not rewritten (mtime kept)', async () => {
    const s = new ProcSysctl(dir);
    const p = join(dir, 'net/ipv4/vs/conntrack');
    await s.ensure('net.ipv4.vs.conntrack', 1);
    const m1 = (await stat(p)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await s.ensure('net.ipv4.vs.conntrack', 1), false);
    assert.equal((await stat(p)).mtimeMs, m1);
    assert.equal(await readFile(p, 'utf8'), '1\n');
  });
});
