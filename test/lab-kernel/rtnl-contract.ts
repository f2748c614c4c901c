// The Rtnl contract against the kernel, in a throwaway network namespace:
//
//   node dist/test/lab-kernel/rtnl-contract.js                  (host: veth only)
//   kube-router-lab exec node1 -- node dist/test/lab-kernel/rtnl-contract.js
//                                                   (guest: dummy and ipip too)
//
// Re-runs itself inside `ip netns exec`; each case gets a fresh veth pair.
// Prints `N passed, N failed, N skipped`; exit status 1 if anything failed.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LinuxRtnl } from '../../src/kernel/rtnl/linux.js';
import { rtnlContractCases } from './rtnl-contract-cases.js';

const self = fileURLToPath(import.meta.url);
const INNER = '--in-netns';

function sh(argv: string[], allowFail = false): { ok: boolean; out: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return { ok: r.status === 0, out: r.stdout };
}

function outer(): number {
  for (const m of ['dummy', 'ipip']) sh(['modprobe', m], true);
  const ns = `kr-rtnl-${process.pid}`;
  sh(['ip', 'netns', 'add', ns]);
  try {
    return spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, INNER], { stdio: 'inherit', env: { ...process.env, KR_VERBOSE: '1' } }).status ?? 1;
  } finally {
    sh(['ip', 'netns', 'del', ns], true);
  }
}

async function inner(): Promise<number> {
  sh(['ip', 'link', 'set', 'lo', 'up']);
  const virtualLinks = sh(['ip', 'link', 'add', 'kr-probe0', 'type', 'dummy'], true).ok && sh(['ip', 'link', 'del', 'kr-probe0']).ok;
  console.log(`# dummy/ipip links ${virtualLinks ? 'available' : 'not available (cases needing them skipped)'}`);
  const rtnl = new LinuxRtnl({ timeoutMs: 10_000 });
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  try {
    for (const c of rtnlContractCases) {
      if (c.needsVirtualLinks && !virtualLinks) {
        skipped++;
        console.log(`ok - ${c.name} # SKIP no dummy/ipip in this kernel`);
        continue;
      }
      sh(['ip', 'link', 'add', 'kr-test0', 'type', 'veth', 'peer', 'name', 'kr-test1']);
      sh(['ip', 'link', 'set', 'kr-test0', 'up']);
      sh(['ip', 'link', 'set', 'kr-test1', 'up']);
      try {
        await c.run({ rtnl, link: 'kr-test0', virtualLinks });
        passed++;
        console.log(`ok - ${c.name}`);
      } catch (e) {
        failed++;
        console.log(`not ok - ${c.name}\n    ${String((e as Error).stack ?? e).split('\n').join('\n    ')}`);
      } finally {
        sh(['ip', 'link', 'del', 'kr-test0'], true);
      }
    }
    if (virtualLinks) {
      // The ipip endpoints really land in the kernel in network order (the formatIptun gotcha).
      const name = 'ipip endpoints as `ip -d link` shows them';
      try {
        await rtnl.ensureTunnel('tun-kr1', { local: '192.168.56.11', remote: '192.168.56.12', ttl: 64 });
        const out = sh(['ip', '-d', 'link', 'show', 'tun-kr1']).out;
        if (!/remote 192\.168\.56\.12 local 192\.168\.56\.11/.test(out)) throw new Error(`unexpected: ${out}`);
        passed++;
        console.log(`ok - ${name}`);
      } catch (e) {
        failed++;
        console.log(`not ok - ${name}\n    ${String(e)}`);
      } finally {
        await rtnl.deleteLink('tun-kr1').catch(() => false);
      }
    }
  } finally {
    rtnl.close();
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed ? 1 : 0;
}

process.exitCode = process.argv[2] === INNER ? await inner() : outer();
