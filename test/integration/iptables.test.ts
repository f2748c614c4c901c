// The iptables contract against the real kernel, nft and legacy backends,
// IPv4 and IPv6, each test in a fresh network namespace; plus a rough timing.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execLocal, netnsExec } from '../../src/kernel/exec.js';
import { detectBackend } from '../../src/kernel/iptables/backend.js';
import { LinuxIptablesDriver } from '../../src/kernel/iptables/linux.js';
import { IptablesReconciler } from '../../src/kernel/iptables/reconciler.js';
import type { IptablesBackend, IptablesFamily } from '../../src/kernel/iptables/types.js';
import { AsyncMutex } from '../../src/kernel/lock.js';
import { iptablesContract } from '../unit/iptables.contract.js';

const isRoot = process.getuid?.() === 0;
let seq = 0;

async function newNetns(): Promise<string> {
  const ns = `krt-ipt-${process.pid}-${seq++}`;
  const r = await execLocal(['ip', 'netns', 'add', ns]);
  assert.equal(r.code, 0, r.stderr);
  return ns;
}

function harness(backend: IptablesBackend, family: IptablesFamily) {
  return async () => {
    const ns = await newNetns();
    return {
      driver: new LinuxIptablesDriver({ family, backend, exec: netnsExec(ns) }),
      close: async () => void (await execLocal(['ip', 'netns', 'del', ns])),
    };
  };
}

if (!isRoot) {
  describe('iptables (linux)', { skip: 'needs root (ip netns, iptables)' }, () => undefined);
} else {
  iptablesContract('linux nft ipv4', harness('nft', 'ipv4'));
  iptablesContract('linux legacy ipv4', harness('legacy', 'ipv4'));
  iptablesContract('linux nft ipv6', harness('nft', 'ipv6'), true);

  describe('iptables (linux) backend and timing', () => {
    let ns: string;
    before(async () => {
      ns = await newNetns();
    });
    after(async () => {
      await execLocal(['ip', 'netns', 'del', ns]);
    });

    it('detects the backend from `iptables --version`', async () => {
      const b = await detectBackend(netnsExec(ns));
      assert.ok(b === 'nft' || b === 'legacy');
    });

    const timed = async (backend: IptablesBackend): Promise<void> => {
      const ipt = new IptablesReconciler(new LinuxIptablesDriver({ family: 'ipv4', backend, exec: netnsExec(ns) }), new AsyncMutex());
      const owned = (c: string): boolean => c.startsWith('KUBE-POD-FW-');
      const chains = new Map<string, string[]>();
      for (let c = 0; c < 100; c++) {
        const rules: string[] = [];
        for (let r = 0; r < 10; r++) rules.push(`-s 10.${c}.${r}.0/24 -p tcp --dport ${1000 + r} -j ACCEPT`);
        chains.set(`KUBE-POD-FW-${String(c).padStart(16, '0')}`, rules);
      }
      const jumps = [...chains.keys()].map((name) => ({ fromChain: 'FORWARD', rule: `-j ${name}`, position: 'first' as const, comment: name }));
      let t = performance.now();
      const r1 = await ipt.apply({ table: 'filter', chains, jumps }, { owned });
      const createMs = performance.now() - t;
      assert.equal(r1.created.length, 100);
      t = performance.now();
      const r2 = await ipt.apply({ table: 'filter', chains, jumps }, { owned });
      const noopMs = performance.now() - t;
      assert.equal(r2.lines, 0);
      chains.set('KUBE-POD-FW-0000000000000042', ['-j DROP']);
      t = performance.now();
      const r3 = await ipt.apply({ table: 'filter', chains, jumps }, { owned });
      const changeMs = performance.now() - t;
      assert.deepEqual(r3.rewritten, ['KUBE-POD-FW-0000000000000042']);
      assert.equal(r3.lines, 2);
      console.log(
        `# iptables ${backend}: 1,000 rules + 100 jumps: create ${createMs.toFixed(0)} ms, ` +
          `no-op ${noopMs.toFixed(0)} ms, one chain ${changeMs.toFixed(0)} ms`,
      );
    };
    it('nft: 1,000 rules in 100 chains: create, no-op, one-chain change (timed)', () => timed('nft'));
    it('legacy: 1,000 rules in 100 chains: create, no-op, one-chain change (timed)', () => timed('legacy'));
  });
}
