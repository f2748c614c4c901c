// IPVS write/read figures in the lab guest, in a throwaway netns (not a test):
//
//   kube-router-lab exec node1 -- node dist/test/lab-kernel/ipvs-bench.js [services] [endpoints]
//
// Loads S services x E destinations three ways and prints the times:
// LinuxIpvs.apply (batched), LinuxIpvs one call at a time, `ipvsadm --restore`;
// then listAll and `ipvsadm -Ln` of the full table.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LinuxIpvs } from '../../src/kernel/ipvs/linux.js';
import { ipvsDestination, ipvsService, type IpvsOp } from '../../src/kernel/ipvs/types.js';

const self = fileURLToPath(import.meta.url);

function outer(args: string[]): number {
  spawnSync('modprobe', ['ip_vs']);
  const ns = `kr-ipvs-bench-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']); // without any IPv4 address, IPv4 destinations are EINVAL
  try {
    return spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, '--in-netns', ...args], { stdio: 'inherit' }).status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

function ops(services: number, endpoints: number): IpvsOp[] {
  const out: IpvsOp[] = [];
  for (let s = 0; s < services; s++) {
    const service = ipvsService({ protocol: 'TCP', address: `10.96.${s >> 8}.${s & 255}`, port: 80 });
    out.push({ op: 'addService', service });
    for (let e = 0; e < endpoints; e++) {
      const n = s * endpoints + e;
      out.push({ op: 'addDestination', service, destination: ipvsDestination({ address: `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`, port: 8080 }) });
    }
  }
  return out;
}

function restoreText(all: IpvsOp[]): string {
  return all
    .map((o) => {
      const vip = `${o.service.address}:${o.service.port}`;
      return o.op === 'addService' ? `-A -t ${vip} -s rr` : o.op === 'addDestination' ? `-a -t ${vip} -r ${o.destination.address}:${o.destination.port} -m -w 1` : '';
    })
    .join('\n');
}

async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  console.log(`${label}: ${(performance.now() - t0).toFixed(0)} ms`);
  return r;
}

async function inner(services: number, endpoints: number): Promise<number> {
  const ipvs = new LinuxIpvs({ timeoutMs: 30_000 });
  const all = ops(services, endpoints);
  console.log(`# ${services} services x ${endpoints} destinations = ${all.length} operations`);
  try {
    await ipvs.flush();
    const r = await time('LinuxIpvs.apply (batched)', () => ipvs.apply(all));
    if (r.errors.length) console.log(`  ${r.errors.length} errors, first: ${r.errors[0].error.message}`);
    for (const dumpSockets of [1, 4, 16]) {
      const reader = new LinuxIpvs({ timeoutMs: 30_000, dumpSockets });
      const listed = await time(`LinuxIpvs.listAll, ${dumpSockets} socket(s)`, () => reader.listAll());
      console.log(`  listed ${listed.length} services, ${listed.reduce((a, x) => a + x.destinations.length, 0)} destinations`);
      reader.close();
    }
    await time('ipvsadm -Ln', async () => spawnSync('ipvsadm', ['-Ln'], { maxBuffer: 1 << 28 }));
    await ipvs.flush();
    await time('LinuxIpvs one call at a time', async () => {
      for (const o of all) {
        if (o.op === 'addService') await ipvs.addService(o.service);
        else if (o.op === 'addDestination') await ipvs.addDestination(o.service, o.destination);
      }
    });
    await ipvs.flush();
    await time('ipvsadm --restore', async () => spawnSync('ipvsadm', ['--restore'], { input: restoreText(all), maxBuffer: 1 << 28 }));
    await ipvs.flush();
  } finally {
    ipvs.close();
  }
  return 0;
}

const argv = process.argv.slice(2);
if (argv[0] === '--in-netns') process.exitCode = await inner(Number(argv[1] ?? 1000), Number(argv[2] ?? 10));
else process.exitCode = outer(argv);
