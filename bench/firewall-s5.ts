// Firewall full sync: scenario S5 of shared/notes/performance-anchors.md (a
// script that prints figures, not a test). Runs in the lab guest:
//
//   kube-router-lab exec node1 -- node dist/bench/firewall-s5.js
//
// In a fresh network namespace, with the synthetic cluster of
// firewall-cluster.ts (1,000 policies over 5,000 pods in 500 namespaces, 110
// pods on this node):
//   - the real FirewallController's first (full) sync from an empty kernel:
//     compile every policy and local pod, `ipset restore`, one
//     `iptables-restore --noflush`;
//   - the baseline: the very scripts that sync wrote, replayed by the tools
//     (`ipset restore`, `iptables-restore --noflush --wait`) into a second,
//     empty namespace. Ratio = ours / tools (goal <= 1.5);
//   - a no-op resync (the same state again): time and restore calls;
//   - the sizes: chains, rules, sets and set entries in the kernel, next to
//     kube-router's layout for the same cluster (firewall-layout.ts; ours
//     must not be larger).

import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchController, recordedKernel, Recorder, syntheticCluster } from './firewall-cluster.js';
import { kernelCounts, kubeRouterCounts, type LayoutCounts } from './firewall-layout.js';
import { deleteNetns, environment, inNetns, innerNetns, runInFreshNetns, runInFreshNetnsCaptured } from './lib/netns.js';
import { cpuTimed, ms, printSummary, ratio, timed, verdict, type Row } from './lib/report.js';

const self = fileURLToPath(import.meta.url);

function replay(rec: Recorder): { ipsetMs: number; iptablesMs: number } {
  // A bare namespace (no links needed for ipset and iptables).
  const ns = `kr-bench-fwbase-${process.pid}`;
  deleteNetns(ns);
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    let t0 = performance.now();
    for (const s of rec.ipsetScripts) inNetns(ns, 'ipset', ['restore'], s);
    const ipsetMs = performance.now() - t0;
    t0 = performance.now();
    for (const s of rec.iptablesScripts) inNetns(ns, 'iptables-restore', ['--noflush', '--wait'], s);
    const iptablesMs = performance.now() - t0;
    const check = kernelCounts(inNetns(ns, 'iptables-save', ['-t', 'filter']), inNetns(ns, 'ipset', ['save']));
    console.log(`baseline namespace holds ${check.chains} chains, ${check.rules} rules, ${check.sets} sets, ${check.entries} entries`);
    return { ipsetMs, iptablesMs };
  } finally {
    deleteNetns(ns);
  }
}

function sizeRows(ours: LayoutCounts, kr: LayoutCounts): Row[] {
  const keys: (keyof LayoutCounts)[] = ['chains', 'rules', 'sets', 'entries'];
  return keys.map((k) => ({ scenario: 'S5 size', figure: `${k}: ours / kube-router layout`, value: `${ours[k]} / ${kr[k]}`, goal: 'ours <= kube-router', verdict: verdict(ours[k] <= kr[k]) }));
}

async function inner(ns: string): Promise<void> {
  console.log(`# firewall-s5 in netns ${ns}`);
  console.log(`# ${environment()}`);
  const gen = await timed(() => syntheticCluster());
  const { cache, size } = gen.value;
  console.log(`cluster: ${size.policies} policies, ${size.pods} pods (${size.localPods} local), ${size.namespaces} namespaces; generated in ${ms(gen.ms)}`);

  const rec = new Recorder();
  const ctl = benchController(cache, recordedKernel(rec));
  const fullStart = performance.now();
  const full = await cpuTimed(() => ctl.sync());
  // Where the full sync's time went: each kernel call, and the rest (compile, diff, encode).
  const kernelMs = rec.calls.reduce((n, c) => n + c.ms, 0);
  console.log(`full sync kernel calls: ${rec.calls.map((c) => `${c.op} ${ms(c.ms)} (ends at ${ms(c.at - fullStart)})`).join(', ')}; outside them ${ms(full.ms - kernelMs)}`);
  const errors = ctl.lastReport?.errors.length ?? 0;
  const scriptBytes = [...rec.ipsetScripts, ...rec.iptablesScripts].reduce((n, s) => n + s.length, 0);
  console.log(`full sync: ${ms(full.ms)} (cpu ${full.cpuS.toFixed(2)} s), ${rec.restores} restores, ${(scriptBytes / 1024).toFixed(0)} KiB of scripts, ${errors} policy errors`);
  const ours = kernelCounts(inNetns(ns, 'iptables-save', ['-t', 'filter']), inNetns(ns, 'ipset', ['save']));
  const kr = kubeRouterCounts(cache, 'node-0');
  console.log(`ours: ${JSON.stringify(ours)}; kube-router layout: ${JSON.stringify(kr)}`);

  const scripts = new Recorder();
  scripts.ipsetScripts.push(...rec.ipsetScripts);
  scripts.iptablesScripts.push(...rec.iptablesScripts);
  rec.clear();
  const noop = await cpuTimed(() => ctl.sync());
  console.log(`no-op resync: ${ms(noop.ms)} (cpu ${noop.cpuS.toFixed(2)} s), ${rec.restores} restores`);
  await ctl.stop();

  const base = replay(scripts);
  const tools = base.ipsetMs + base.iptablesMs;
  console.log(`baseline: ipset restore ${ms(base.ipsetMs)}, iptables-restore --noflush ${ms(base.iptablesMs)}`);

  const rows: Row[] = [
    { scenario: 'S5', figure: 'firewall full sync from empty (compile + apply)', value: ms(full.ms) },
    { scenario: 'S5', figure: 'ipset restore + iptables-restore --noflush, same scripts', value: ms(tools) },
    { scenario: 'S5', figure: 'ratio sync / tools', value: ratio(full.ms, tools), goal: '<= 1.5x', verdict: verdict(full.ms <= 1.5 * tools) },
    { scenario: 'S5', figure: 'no-op resync: time / restores', value: `${ms(noop.ms)} / ${rec.restores}` },
    ...sizeRows(ours, kr),
  ];
  printSummary('firewall-s5', rows, { size, fullMs: full.ms, fullCpuS: full.cpuS, baselineMs: base, ours, kubeRouter: kr, noopMs: noop.ms });
}

const ns = innerNetns();
if (ns !== undefined) {
  inner(ns).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  // A first run whose figures are dropped, to warm the page cache: in a fresh guest the first
  // run reads node, our modules and the iptables and ipset binaries and extensions from disk
  // (seconds under emulation), and only our sync would pay for it, the tools' replay coming
  // after. The measured run is a new process: our code is as cold as an agent's at start.
  if (!process.argv.includes('--no-warmup')) {
    console.log('# warm-up run (page cache only; its figures are not printed)');
    runInFreshNetns(self, process.argv.slice(2), [], 'ignore');
  }
  // --runs N: N measured runs (each a new process), then the median of their ratios: the
  // guest's figures drift by tens of percent from minute to minute (the host's page cache and
  // neighbours), and each run pairs our sync with the tools' replay a few seconds later.
  const at = process.argv.indexOf('--runs');
  const runs = at >= 0 ? Math.max(1, Number(process.argv[at + 1]) || 1) : 1;
  const results: { fullMs: number; toolsMs: number }[] = [];
  let status = 0;
  for (let i = 0; i < runs; i++) {
    if (runs > 1) console.log(`# measured run ${i + 1} of ${runs}`);
    const r = runInFreshNetnsCaptured(self, process.argv.slice(2));
    status ||= r.status;
    const json = /^JSON (.*)$/m.exec(r.stdout)?.[1];
    if (!json) continue;
    const j = JSON.parse(json) as { fullMs: number; baselineMs: { ipsetMs: number; iptablesMs: number } };
    results.push({ fullMs: j.fullMs, toolsMs: j.baselineMs.ipsetMs + j.baselineMs.iptablesMs });
  }
  if (runs > 1 && results.length > 0) {
    const ratios = results.map((r) => r.fullMs / r.toolsMs).sort((a, b) => a - b);
    const median = ratios[Math.floor((ratios.length - 1) / 2)];
    console.log(`\n== firewall-s5 over ${results.length} runs ==`);
    for (const [i, r] of results.entries()) console.log(`run ${i + 1}: full sync ${ms(r.fullMs)}, tools ${ms(r.toolsMs)}, ratio ${ratio(r.fullMs, r.toolsMs)}`);
    console.log(`median ratio sync / tools: ${median.toFixed(2)}x (goal <= 1.5x: ${verdict(median <= 1.5)}); range ${ratios[0].toFixed(2)}-${ratios[ratios.length - 1].toFixed(2)}x`);
    console.log(`JSON ${JSON.stringify({ title: 'firewall-s5-runs', runs: results, medianRatio: median })}`);
  }
  process.exit(status);
}
