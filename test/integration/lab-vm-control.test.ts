// The lab's host<->guest plumbing without a VM: the guest control server and
// the host client over loopback (auth, JSON, JSON-line streams, exit codes,
// errors), the initramfs cpio writer (read back by busybox cpio), the qemu
// command line and exec target parsing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlError, ControlServer } from '../../src/lab/guest/control.js';
import { execCollect, execEvents, parseExecRequest } from '../../src/lab/guest/exec.js';
import { parseTarget } from '../../src/lab/topology/types.js';
import { GuestClient } from '../../src/lab/vm/client.js';
import { buildCpio } from '../../src/lab/vm/cpio.js';
import { qemuArgs } from '../../src/lab/vm/qemu.js';

describe('guest control API over loopback', () => {
  const server = new ControlServer('secret-token');
  let client: GuestClient;

  before(async () => {
    server.route('POST', '/v1/exec', async (req) => {
      const r = parseExecRequest(req.body);
      return execCollect(r.argv, r);
    });
    server.route('POST', '/v1/exec/stream', async (req) => {
      const r = parseExecRequest(req.body);
      return execEvents(r.argv, r, req.signal);
    });
    server.route('GET', '/v1/fail', async () => {
      throw new ControlError(404, 'no such thing');
    });
    await server.listen(0, '127.0.0.1');
    client = new GuestClient(server.port, 'secret-token');
  });

  after(() => server.close());

  it('rejects a wrong token', async () => {
    const bad = new GuestClient(client.port, 'wrong');
    await assert.rejects(bad.exec('root', ['true']), /answered 401/);
  });

  it('runs a command and returns code, stdout, stderr and stdin', async () => {
    const r = await client.exec('root', ['sh', '-c', 'cat; echo e >&2; exit 4'], { input: 'in\n' });
    assert.deepEqual([r.code, r.stdout, r.stderr], [4, 'in\n', 'e\n']);
  });

  it('streams output as JSON lines and ends with the exit status', async () => {
    const seen: string[] = [];
    const code = await client.execStream('root', ['sh', '-c', 'echo a; sleep 0.1; echo b >&2; exit 2'], (ev) => {
      if (ev.type !== 'exit') seen.push(`${ev.type}:${ev.data}`);
    });
    assert.equal(code, 2);
    assert.deepEqual(seen, ['stdout:a\n', 'stderr:b\n']);
  });

  it('kills a command after its timeout', async () => {
    const r = await client.exec('root', ['sleep', '5'], { timeoutMs: 200 });
    assert.equal(r.signal, 'SIGKILL');
  });

  it('reports a missing program and handler errors with their status', async () => {
    const r = await client.exec('root', ['/nonexistent/prog']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot run/);
    await assert.rejects(client.call('GET', '/v1/fail'), /answered 404: no such thing/);
    await assert.rejects(client.call('GET', '/v1/nope'), /answered 404/);
    await assert.rejects(client.call('POST', '/v1/exec', { argv: [] }), /answered 400/);
  });
});

describe('initramfs cpio writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-cpio-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a newc archive busybox cpio lists and extracts', (t) => {
    if (spawnSync('busybox', ['true']).status !== 0) {
      t.skip('busybox is not installed');
      return;
    }
    const archive = buildCpio([
      { kind: 'dir', path: 'bin' },
      { kind: 'file', path: 'bin/hello', data: Buffer.from('hi there\n'), mode: 0o755 },
      { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
      { kind: 'file', path: 'odd', data: Buffer.from('x') },
    ]);
    writeFileSync(join(dir, 'a.cpio'), archive);
    const list = spawnSync('busybox', ['cpio', '-t', '-F', join(dir, 'a.cpio')], { encoding: 'utf8' });
    assert.deepEqual(list.stdout.trim().split('\n'), ['bin', 'bin/hello', 'bin/sh', 'odd']);
    const out = spawnSync('sh', ['-c', `cd ${dir} && busybox cpio -i -d -F a.cpio 2>/dev/null; cat bin/hello odd; readlink bin/sh`], { encoding: 'utf8' });
    assert.equal(out.stdout, 'hi there\nxbusybox\n');
  });
});

describe('qemu command line and exec targets', () => {
  it('forwards only the API and control ports on loopback, with no other network', () => {
    const args = qemuArgs({
      kernel: { version: '6.1.0-test', vmlinuz: '/boot/vmlinuz-6.1.0-test', modulesDir: '/lib/modules/6.1.0-test' },
      initramfs: '/c/initramfs.cpio',
      shared: '/w/.lab/run/x/shared',
      console: '/w/console.log',
      qemuLog: '/w/qemu.log',
      hostApiPort: 40001,
      hostControlPort: 40002,
      memoryMiB: 3072,
      cpus: 2,
      supervisor: '/w/dist/src/lab/guest/supervisor.js',
      nodeBinary: '/usr/bin/node',
      cache9p: 'loose',
    });
    const nic = args[args.indexOf('-nic') + 1];
    assert.equal(nic, 'user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:40001-:6443,hostfwd=tcp:127.0.0.1:40002-:7070');
    assert.equal(args.filter((a) => a === '-nic' || a === '-netdev').length, 1);
    assert.ok(args.includes('-no-reboot'));
    assert.equal(args[args.indexOf('-accel') + 1], 'tcg');
    assert.match(args[args.indexOf('-append') + 1], /panic=-1 .*lab\.run=\/w\/\.lab\/run\/x\/shared lab\.node=\/usr\/bin\/node lab\.sup=\S+supervisor\.js/);
    assert.throws(() => qemuArgs({ ...({} as Parameters<typeof qemuArgs>[0]), shared: '/a b', supervisor: '/s', nodeBinary: '/n' }), /space/);
  });

  it('parses exec targets', () => {
    assert.deepEqual(parseTarget('root'), { kind: 'root' });
    assert.deepEqual(parseTarget('node2'), { kind: 'node', name: 'node2' });
    assert.deepEqual(parseTarget('router'), { kind: 'node', name: 'router' });
    assert.deepEqual(parseTarget('x/a'), { kind: 'pod', namespace: 'x', name: 'a' });
  });
});
