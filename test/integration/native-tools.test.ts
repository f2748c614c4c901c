// The lab's native tools (responder, prober, holder) against each other in a
// private network namespace of this host (root needed for `ip netns`).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureNativeTools, type NativeTools } from '../../src/lab/native/build.js';
import { execLocal, netnsRunner, type NodeRunner } from '../../src/lab/cluster/kubelet/runner.js';
import { runProbes, startHolder } from '../../src/lab/cluster/kubelet/probe.js';

const isRoot = process.getuid?.() === 0;
const NS = `krt-nat-${process.pid}`;

async function sh(argv: string[]): Promise<string> {
  const r = await execLocal(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function startResponder(tools: NativeTools, name: string, ports: string[]): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', NS, tools.responder, name, ...ports], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`responder exited ${code}: ${err}`)));
  });
}

describe('native tools', { skip: isRoot ? false : 'needs root (ip netns)' }, () => {
  let tools: NativeTools;
  let runner: NodeRunner;
  const children: ChildProcess[] = [];

  before(async () => {
    tools = await ensureNativeTools();
    runner = netnsRunner(NS);
    await sh(['ip', 'netns', 'add', NS]);
    await sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
    await sh(['ip', '-n', NS, 'addr', 'add', '10.123.0.1/32', 'dev', 'lo']);
    // A "blackholed" address: everything to it dropped silently.
    await sh(['ip', '-n', NS, 'addr', 'add', '10.123.0.2/32', 'dev', 'lo']);
    await sh(['ip', 'netns', 'exec', NS, 'iptables', '-A', 'INPUT', '-d', '10.123.0.2', '-j', 'DROP']);
    children.push(await startResponder(tools, 'x/a', ['tcp:80', 'udp:80', 'tcp:81', 'udp:53']));
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await execLocal(['ip', 'netns', 'del', NS]);
  });

  it('compiles once and caches by source hash', async () => {
    const again = await ensureNativeTools();
    assert.deepEqual(again, tools);
    assert.match(tools.dir, /[0-9a-f]{16}$/);
  });

  it('responder answers TCP (greeting + echoed lines) and UDP with its name, over IPv4 and IPv6', async () => {
    const script = `
      import socket
      s = socket.create_connection(("10.123.0.1", 80), 2)
      f = s.makefile("rw")
      print(f.readline().strip())
      f.write("hello there\\n"); f.flush()
      print(f.readline().strip())
      u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.settimeout(2)
      u.sendto(b"x", ("::1", 53))
      print(u.recvfrom(100)[0].decode().strip())
    `.replace(/^ {6}/gm, '');
    const out = (await sh(['ip', 'netns', 'exec', NS, 'python3', '-c', script])).trim().split('\n');
    assert.match(out[0], /^x\/a client=10\.123\.0\.1:\d+$/);
    assert.match(out[1], /^x\/a client=10\.123\.0\.1:\d+ hello there$/);
    assert.match(out[2], /^x\/a client=\[::1\]:\d+$/);
  });

  it('prober reports ok / refused / timeout for open, closed and blackholed targets within the timeout', async () => {
    const t0 = Date.now();
    const res = await runProbes(runner, undefined, [
      { id: 'tcp-open', protocol: 'TCP', ip: '10.123.0.1', port: 80 },
      { id: 'tcp-open6', protocol: 'TCP', ip: '::1', port: 81 },
      { id: 'udp-open', protocol: 'UDP', ip: '10.123.0.1', port: 53 },
      { id: 'tcp-closed', protocol: 'TCP', ip: '10.123.0.1', port: 82 },
      { id: 'udp-closed', protocol: 'UDP', ip: '10.123.0.1', port: 82 },
      { id: 'tcp-drop', protocol: 'TCP', ip: '10.123.0.2', port: 80, timeoutMs: 600 },
      { id: 'udp-drop', protocol: 'UDP', ip: '10.123.0.2', port: 53, timeoutMs: 600 },
      { id: 'bad', protocol: 'TCP', ip: 'not-an-ip', port: 80 },
    ]);
    const elapsed = Date.now() - t0;
    const by = Object.fromEntries(res.map((r) => [r.id, r]));
    assert.equal(by['tcp-open'].status, 'ok');
    assert.match(by['tcp-open'].body, /^x\/a client=10\.123\.0\.1:\d+$/);
    assert.equal(by['tcp-open6'].status, 'ok');
    assert.match(by['tcp-open6'].body, /^x\/a client=\[::1\]:\d+$/);
    assert.equal(by['udp-open'].status, 'ok');
    assert.match(by['udp-open'].body, /^x\/a client=10\.123\.0\.1:\d+$/);
    assert.equal(by['tcp-closed'].status, 'refused');
    assert.equal(by['udp-closed'].status, 'refused');
    assert.equal(by['tcp-drop'].status, 'timeout');
    assert.equal(by['udp-drop'].status, 'timeout');
    assert.ok(by['tcp-drop'].latencyMs >= 590 && by['tcp-drop'].latencyMs < 900, `latency ${by['tcp-drop'].latencyMs}`);
    assert.equal(by.bad.status, 'error');
    // Concurrent: the whole batch costs about one timeout, not the sum.
    assert.ok(elapsed < 3000, `batch took ${elapsed} ms`);
  });

  it('holder reports no stall on a healthy connection', async () => {
    const h = await startHolder(runner, undefined, '10.123.0.1', 80);
    assert.equal(h.connected, true);
    await new Promise((r) => setTimeout(r, 700));
    const s = await h.release();
    assert.equal(s.error, undefined);
    assert.ok(s.sent >= 5, `sent ${s.sent}`);
    assert.ok(s.lines >= s.sent, `lines ${s.lines} < sent ${s.sent}`);
    assert.ok(s.maxGapMs < 400, `maxGap ${s.maxGapMs}`);
  });

  it('holder reports an error when the responder dies, and a failed connect', async () => {
    const victim = await startResponder(tools, 'x/victim', ['tcp:90']);
    children.push(victim);
    const h = await startHolder(runner, undefined, '10.123.0.1', 90);
    assert.equal(h.connected, true);
    await new Promise((r) => setTimeout(r, 300));
    victim.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const s = await h.release();
    assert.ok(s.error, 'an error is reported');
    assert.match(s.error ?? '', /EOF|reset/i);

    const refused = await startHolder(runner, undefined, '10.123.0.1', 91);
    assert.equal(refused.connected, false);
    assert.match((await refused.release()).error ?? '', /refused/i);
  });
});
