// One EndpointSlice change -> kernel updated: scenario S2 of
// shared/notes/performance-anchors.md (a script that prints figures, not a
// test). Runs in the lab guest (a real kernel with ip_vs):
//
//   kube-router-lab exec node1 -- node dist/bench/proxy-churn.js [--sizes 100,10000] [--changes 300] [--endpoints 10]
//
// For each size, in a fresh network namespace: the synthetic cluster of
// lib/proxy-cluster.ts is loaded by the real ProxyController (started with
// its bounded-frequency runner, the first full sync untimed), then
// `--changes` times one EndpointSlice update is delivered through the
// in-memory informer cache (FakeSharedCache: the store, index and event path
// of the real cache), replacing one endpoint of a different Service each
// time (one destination out, one in). Latency = from the event's delivery
// (just before the cache emits it) to the return of the last kernel call the
// sync made (counting-kernel.ts stamps every call). Changes are spaced
// beyond the runner's 100 ms minimum interval, so each is measured alone.
// Baseline: one `ipvsadm --restore` exec doing the same two edits.
// Goals: p99 <= 100 ms in the guest; p99 at the largest size <= 1.5x p99 at
// the smallest (the cost follows the change, not the cluster).

import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { countingLinuxKernel } from './lib/counting-kernel.js';
import { environment, innerNetns, runInFreshNetns } from './lib/netns.js';
import { benchController, clusterIP, replaceEndpoint, serviceObject, syntheticCluster, SyncLog } from './lib/proxy-cluster.js';
import { ms, percentile, printSummary, ratio, timed, verdict, type Row } from './lib/report.js';

const self = fileURLToPath(import.meta.url);

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

/** Replacement pod addresses, outside the generated ones: 10.250.x.y. */
function freshIP(k: number): string {
  return `10.250.${(k >> 8) & 255}.${(k & 255) || 1}`;
}

/** Median ms of `n` single `ipvsadm --restore` execs, each adding one destination (removed again, untimed). */
function ipvsadmBaseline(services: number, n: number): number {
  const times: number[] = [];
  for (let k = 0; k < n; k++) {
    const vip = `${clusterIP(k % services)}:80`;
    const a = `10.251.0.${k + 1}:8080`;
    const input = `-a -t ${vip} -r ${a} -m -w 1\n`;
    const undo = `-d -t ${vip} -r ${a}\n`;
    const t0 = performance.now();
    const r = spawnSync('ipvsadm', ['--restore'], { input });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`ipvsadm --restore: ${r.stderr.toString()}`);
    spawnSync('ipvsadm', ['--restore'], { input: undo }); // untimed: back to the loaded state
  }
  return percentile(times, 50);
}

async function inner(ns: string): Promise<void> {
  const services = Number(arg('services', '100'));
  const endpoints = Number(arg('endpoints', '10'));
  const changes = Number(arg('changes', '300'));
  console.log(`# proxy-churn: ${services} services x ${endpoints} endpoints, ${changes} changes, netns ${ns}`);
  console.log(`# ${environment()}`);
  const cache = await syntheticCluster(services, endpoints);
  const log = new SyncLog();
  const k = countingLinuxKernel();
  const ctl = benchController(cache, k.kernel, log);
  const first = log.nextSync(1_800_000);
  const load = await timed(async () => {
    await ctl.start();
    return first;
  });
  console.log(`loaded by the first (full) sync in ${ms(load.ms)}, ${load.value.mutations} mutations`);
  await sleep(300);

  const latency: number[] = [];
  const logged: number[] = [];
  const reads: number[] = [];
  let wrong = 0;
  for (let c = 0; c < changes; c++) {
    const i = (c * 7919 + 13) % services;
    k.counters.reset();
    const done = log.nextSync(60_000);
    const t0 = performance.now();
    replaceEndpoint(cache, i, freshIP(c + 1));
    const rec = await done;
    latency.push(k.counters.lastReturnAt - t0);
    logged.push(rec.at - t0);
    reads.push(rec.phasesMs.ipvsRead ?? 0);
    // One destination out and one in per virtual service: the ClusterIP's,
    // and for the 2 % NodePort Services also the NodePort's (one node address).
    const expected = serviceObject(i).spec.type === 'NodePort' ? 4 : 2;
    if (rec.full || k.counters.mutations !== expected) {
      wrong++;
      console.log(`change ${c} (service ${i}): ${rec.full ? 'full' : 'partial'} sync of ${rec.services} service(s), ${k.counters.mutations} kernel mutations, ${rec.mutations} logged`);
    }
    await sleep(120);
  }
  await ctl.stop();
  const p50 = percentile(latency, 50);
  const p99 = percentile(latency, 99);
  console.log(`S2 ${services} svc: event -> last kernel call p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(Math.max(...latency))}; ${wrong} changes not applied as one partial sync of 2 mutations per virtual service`);
  let ipvsadmMs = NaN;
  try {
    ipvsadmMs = ipvsadmBaseline(services, 20);
  } catch (e) {
    console.log(`ipvsadm baseline failed: ${(e as Error).message}`);
  }
  const rows: Row[] = [
    { scenario: `S2 ${services} svc`, figure: 'event -> last kernel call, p50', value: ms(p50) },
    { scenario: `S2 ${services} svc`, figure: 'event -> last kernel call, p99', value: ms(p99), goal: '<= 100 ms', verdict: verdict(p99 <= 100) },
    { scenario: `S2 ${services} svc`, figure: 'event -> last kernel call, max', value: ms(Math.max(...latency)) },
    { scenario: `S2 ${services} svc`, figure: 'event -> sync logged, p99', value: ms(percentile(logged, 99)) },
    { scenario: `S2 ${services} svc`, figure: 'IPVS read phase, p50 (ms granularity)', value: ms(percentile(reads, 50)) },
    { scenario: `S2 ${services} svc`, figure: 'one ipvsadm --restore exec, p50', value: ms(ipvsadmMs) },
    { scenario: `S2 ${services} svc`, figure: 'ratio p50 / ipvsadm exec', value: ratio(p50, ipvsadmMs) },
    { scenario: `S2 ${services} svc`, figure: 'changes not applied as 1 partial sync, 2 mutations per virtual service', value: String(wrong), goal: '0', verdict: verdict(wrong === 0) },
  ];
  printSummary(`proxy-churn ${services}x${endpoints}`, rows, { services, endpoints, changes, p50, p99, loadMs: load.ms, ipvsadmMs, latency });
}

async function outer(): Promise<number> {
  const sizes = arg('sizes', '100,10000').split(',').map(Number);
  const all: Row[] = [];
  const p99: number[] = [];
  let rc = 0;
  for (const n of sizes) {
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [self, '--one', '--services', String(n), '--endpoints', arg('endpoints', '10'), '--changes', arg('changes', '100')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let buf = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.startsWith('JSON ')) {
            const j = JSON.parse(line.slice(5)) as { rows: Row[]; p99: number };
            all.push(...j.rows);
            p99.push(j.p99);
            process.stdout.write(`${line.slice(0, 400)}${line.length > 400 ? ' ...' : ''}\n`);
          } else process.stdout.write(`${line}\n`);
        }
      });
      child.on('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0) rc = code;
  }
  if (p99.length >= 2) {
    const r = p99[p99.length - 1] / p99[0];
    all.push({ scenario: 'S2', figure: `p99(${sizes[sizes.length - 1]}) / p99(${sizes[0]})`, value: `${r.toFixed(2)}x`, goal: '<= 1.5x', verdict: verdict(r <= 1.5) });
  }
  printSummary('proxy-churn (all sizes)', all);
  return rc;
}

const ns = innerNetns();
if (ns !== undefined) {
  await inner(ns);
  process.exit(0); // nothing of the bench may keep the process alive
} else if (process.argv.includes('--one')) {
  process.exitCode = runInFreshNetns(self, ['--services', arg('services', '100'), '--endpoints', arg('endpoints', '10'), '--changes', arg('changes', '100')]);
} else process.exitCode = await outer();
