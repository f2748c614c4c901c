// The IPVS contract suite against the real kernel, as a standalone script for
// the lab guest (the host kernel has no IPVS):
//
//   kube-router-lab exec node1 -- node dist/test/lab-kernel/ipvs-contract.js
//
// It makes a throwaway network namespace and re-runs itself inside it, so the
// node's own IPVS table is never touched. Inside: every contract case on an
// empty table (flushed before each), then real traffic through a masquerade
// service to a "pod" namespace, and LinuxIpvs' decoding compared with
// `ipvsadm -Ln` and `ipvsadm -Ln --stats` for the same state.
// Prints `N passed, N failed`; exit status 1 if anything failed.

import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LinuxIpvs } from '../../src/kernel/ipvs/linux.js';
import { ipvsDestination, ipvsService } from '../../src/kernel/ipvs/types.js';
import { SvcFlag } from '../../src/kernel/ipvs/attrs.js';
import { ipvsContractCases } from './ipvs-contract-cases.js';
import { compareWithIpvsadm } from './ipvsadm-compare.js';

const self = fileURLToPath(import.meta.url);
const INNER = '--in-netns';

function sh(argv: string[], allowFail = false): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

function outer(): number {
  sh(['modprobe', 'ip_vs'], true);
  const ns = `kr-ipvs-${process.pid}`;
  sh(['ip', 'netns', 'add', ns]);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, INNER, ns], { stdio: 'inherit' });
    return r.status ?? 1;
  } finally {
    sh(['ip', 'netns', 'del', ns], true);
    sh(['ip', 'netns', 'del', `${ns}-pod`], true);
  }
}

let passed = 0;
let failed = 0;
function report(name: string, err?: unknown): void {
  if (err === undefined) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}\n    ${String(err instanceof Error ? err.stack ?? err.message : err).split('\n').join('\n    ')}`);
  }
}

/** A masquerade service to an echo server in a second namespace, a few connections through it. */
async function traffic(ipvs: LinuxIpvs, ns: string): Promise<void> {
  const pod = `${ns}-pod`;
  sh(['ip', 'netns', 'add', pod]);
  sh(['ip', 'link', 'set', 'lo', 'up']);
  sh(['ip', 'link', 'add', 'kr-veth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
  sh(['ip', 'addr', 'add', '10.244.0.1/24', 'dev', 'kr-veth0']);
  sh(['ip', 'link', 'set', 'kr-veth0', 'up']);
  sh(['ip', 'addr', 'add', '10.96.0.10/32', 'dev', 'lo']);
  sh(['ip', '-n', pod, 'link', 'set', 'lo', 'up']);
  sh(['ip', '-n', pod, 'addr', 'add', '10.244.0.2/24', 'dev', 'eth0']);
  sh(['ip', '-n', pod, 'link', 'set', 'eth0', 'up']);
  sh(['ip', '-n', pod, 'route', 'add', 'default', 'via', '10.244.0.1']);
  const server = spawn('ip', ['netns', 'exec', pod, process.execPath, '-e',
    "require('net').createServer(s=>s.pipe(s)).listen(8080,'10.244.0.2',()=>console.log('listening'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('echo server did not start in 60 s')), 60_000);
      server.stdout.once('data', () => {
        clearTimeout(t);
        resolve();
      });
    });
    const svc = ipvsService({ protocol: 'TCP', address: '10.96.0.10', port: 80 });
    await ipvs.addService(svc);
    await ipvs.addDestination(svc, ipvsDestination({ address: '10.244.0.2', port: 8080 }));
    for (let i = 0; i < 3; i++) {
      const reply = await new Promise<string>((resolve, reject) => {
        const c = connect({ host: '10.96.0.10', port: 80 }, () => c.end(`hello ${i}\n`));
        let got = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => (got += d));
        c.on('end', () => resolve(got));
        c.on('error', reject);
        c.setTimeout(10_000, () => c.destroy(new Error('timeout through the virtual service')));
      });
      if (reply !== `hello ${i}\n`) throw new Error(`echo through 10.96.0.10:80 returned ${JSON.stringify(reply)}`);
    }
    await sleep(500);
  } finally {
    server.kill();
  }
}

async function inner(ns: string): Promise<number> {
  const ipvs = new LinuxIpvs({ timeoutMs: 10_000 });
  try {
    let info;
    try {
      info = await ipvs.getInfo();
    } catch (e) {
      report('the IPVS generic netlink family answers', e);
      console.log(`${passed} passed, ${failed} failed`);
      return 1;
    }
    // A namespace without any IPv4 address has no local routing table, and then the kernel
    // refuses every IPv4 destination with EINVAL (ip_vs_new_dest: inet_addr_type() is
    // RTN_BROADCAST). Every real node has addresses; lo up gives this one 127.0.0.1.
    sh(['ip', 'link', 'set', 'lo', 'up']);
    console.log(`# IPVS ${info.version}, connection table ${info.connTabSize}, netns ${ns}`);
    for (const c of ipvsContractCases) {
      try {
        await ipvs.flush();
        await c.run(ipvs);
        report(c.name);
      } catch (e) {
        report(c.name, e);
      }
    }
    await ipvs.flush();
    try {
      await traffic(ipvs, ns);
      report('traffic through a masquerade service to a pod namespace');
    } catch (e) {
      report('traffic through a masquerade service to a pod namespace', e);
    }
    // More state for the comparison: IPv6, fwmark, persistence, weights, DSR.
    const more = [
      ipvsService({ protocol: 'UDP', address: '10.96.0.53', port: 53, scheduler: 'sh', flags: SvcFlag.SCHED1 | SvcFlag.SCHED2 }),
      ipvsService({ protocol: 'TCP', address: 'fd00:96::20', port: 443, flags: SvcFlag.PERSISTENT, timeout: 10800, netmask: 128 }),
      ipvsService({ fwmark: 3001, scheduler: 'mh' }),
    ];
    for (const s of more) await ipvs.addService(s);
    await ipvs.addDestination(more[0], ipvsDestination({ address: '10.244.1.5', port: 53, weight: 2 }));
    await ipvs.addDestination(more[0], ipvsDestination({ address: '10.244.2.6', port: 53, weight: 0 }));
    await ipvs.addDestination(more[1], ipvsDestination({ address: 'fd00:244::5', port: 8443 }));
    await ipvs.addDestination(more[2], ipvsDestination({ address: '10.244.1.5', port: 0, fwdMethod: 'tunnel' }));
    // 10.244.0.1 is an address of this netns (kr-veth0). Kernels since 2.6.37 keep such a destination
    // as written (no conversion to Local), so a reconciler sees no spurious difference.
    await ipvs.addDestination(more[0], ipvsDestination({ address: '10.244.0.1', port: 53 }));
    try {
      const local = (await ipvs.listDestinations(more[0])).find((d) => d.address === '10.244.0.1');
      if (local?.fwdMethod !== 'masq') throw new Error(`decoded ${local?.fwdMethod}`);
      report('a masq destination on a local address stays masq');
    } catch (e) {
      report('a masq destination on a local address stays masq', e);
    }
    try {
      const state = await ipvs.listAll();
      const problems = compareWithIpvsadm(state, await ipvs.listAll());
      if (problems.length) throw new Error(problems.join('\n'));
      const web = state.find((x) => x.service.port === 80);
      if (!web || web.service.stats.conns !== 3) throw new Error(`expected 3 connections on TCP 10.96.0.10:80, decoded ${web?.service.stats.conns}`);
      report('decoding matches ipvsadm -Ln and ipvsadm -Ln --stats (3 connections counted)');
      console.log(sh(['ipvsadm', '-Ln', '--stats']).replace(/^/gm, '# '));
    } catch (e) {
      report('decoding matches ipvsadm -Ln and ipvsadm -Ln --stats (3 connections counted)', e);
    }
    await ipvs.flush();
  } finally {
    ipvs.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

const argv = process.argv.slice(2);
if (argv[0] === INNER) {
  process.exitCode = await inner(argv[1] ?? '?');
} else {
  process.exitCode = outer();
}
