// The ipset contract against the real kernel, each test in a fresh network
// namespace (ipsets are per netns), plus a swap observed from outside.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execLocal, netnsExec } from '../../src/kernel/exec.js';
import { LinuxIpsetDriver } from '../../src/kernel/ipset/linux.js';
import { IpsetReconciler } from '../../src/kernel/ipset/reconciler.js';
import { AsyncMutex } from '../../src/kernel/lock.js';
import { ipsetContract, set } from '../unit/ipset.contract.js';

const isRoot = process.getuid?.() === 0;
let seq = 0;

async function sh(argv: string[]): Promise<void> {
  const r = await execLocal(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
}

async function newNetns(): Promise<string> {
  const ns = `krt-ipset-${process.pid}-${seq++}`;
  await sh(['ip', 'netns', 'add', ns]);
  return ns;
}

function ips(n: number, second: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${second}.${(i >> 8) & 255}.${i & 255}`);
}

if (!isRoot) {
  describe('ipset (linux)', { skip: 'needs root (ip netns, ipset)' }, () => undefined);
} else {
  ipsetContract('linux netns', async () => {
    const ns = await newNetns();
    const exec = netnsExec(ns);
    const rule = (op: string, name: string): string[] => ['iptables', '-w', op, 'INPUT', '-m', 'set', '--match-set', name, 'src', '-j', 'ACCEPT'];
    return {
      driver: new LinuxIpsetDriver({ exec }),
      reference: async (name) => void (await sh(['ip', 'netns', 'exec', ns, ...rule('-A', name)])),
      unreference: async (name) => void (await sh(['ip', 'netns', 'exec', ns, ...rule('-D', name)])),
      close: async () => void (await execLocal(['ip', 'netns', 'del', ns])),
    };
  });

  describe('ipset (linux) swap and timing', () => {
    let ns: string;
    before(async () => {
      ns = await newNetns();
    });
    after(async () => {
      await execLocal(['ip', 'netns', 'del', ns]);
    });

    it('a set swapped under a concurrent `ipset test` loop is never observed without a common member; 10k members timed', async () => {
      const ipset = new IpsetReconciler(new LinuxIpsetDriver({ exec: netnsExec(ns) }), new AsyncMutex());
      const common = '10.200.0.1';
      let t = performance.now();
      await ipset.applyCreatesAndUpdates([set('kube-router-svip', 'hash:ip', [common, ...ips(10_000, 1)])]);
      const createMs = performance.now() - t;
      // A shell loop in the netns testing the member present in every version.
      const loop = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', `i=0; f=0; while [ ! -e /tmp/krt-stop-${ns} ]; do ipset -q test kube-router-svip ${common} || f=$((f+1)); i=$((i+1)); done; echo "$i $f"`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      loop.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // Listen for the end now: the loop may already be gone when we stop it.
      const closed = new Promise((r) => loop.on('close', r));
      const swaps: number[] = [];
      for (let k = 2; k < 7; k++) {
        t = performance.now();
        const r = await ipset.applyCreatesAndUpdates([set('kube-router-svip', 'hash:ip', [common, ...ips(10_000, k)])]);
        swaps.push(performance.now() - t);
        assert.deepEqual(r.swapped, ['kube-router-svip']);
      }
      await sh(['touch', `/tmp/krt-stop-${ns}`]);
      await closed;
      await execLocal(['rm', '-f', `/tmp/krt-stop-${ns}`]);
      const [iterations, failures] = out.trim().split(' ').map(Number);
      assert.ok(iterations > 0, 'the test loop ran');
      assert.equal(failures, 0, `member missing ${failures} times out of ${iterations}`);
      t = performance.now();
      const noop = await ipset.applyCreatesAndUpdates([set('kube-router-svip', 'hash:ip', [common, ...ips(10_000, 6)])]);
      const noopMs = performance.now() - t;
      assert.equal(noop.lines, 0);
      console.log(
        `# ipset 10k members: create ${createMs.toFixed(0)} ms, swap ${swaps.map((x) => x.toFixed(0)).join('/')} ms, ` +
          `no-op read-back ${noopMs.toFixed(0)} ms, concurrent tests ${iterations}`,
      );
    });
  });
}
