// Agent load-time benchmark (a script, not a test):
//   node dist/bench/agent-load.js [--runs 5]
//
// How long `node <agent>` takes from exec until the agent has loaded every
// module and reads its kubeconfig, for the tsc output (dist/src/cmd/
// kube-router.js, ~300 modules) and the bundle (dist/kube-router.mjs,
// scripts/bundle.mjs). The kubeconfig path does not exist, so each run exits
// with status 1 right after loading: what is timed is module loading, which
// every agent start, --cleanup-config run and `kube-router dump` pays. Runs
// alternate between the two so machine noise hits both alike; prints the
// median of each and the ratio bundle/tsc, as a table and one JSON line.
// Run it in the lab guest too (emulated CPU, 9p root), where it matters most:
//   node dist/src/cmd/kube-router-lab.js exec node1 -- node $PWD/dist/bench/agent-load.js

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 5;
const entries = {
  tsc: fileURLToPath(new URL('../src/cmd/kube-router.js', import.meta.url)),
  bundle: fileURLToPath(new URL('../kube-router.mjs', import.meta.url)),
};

function timeOnce(file: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [file, '--kubeconfig=/nonexistent/agent-load-bench', '--hostname-override=bench'], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 1 || !r.stdout.includes('cannot read kubeconfig')) {
    throw new Error(`${file}: expected exit 1 with "cannot read kubeconfig", got status ${r.status}: ${(r.stdout + r.stderr).slice(0, 300)}`);
  }
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const [name, file] of Object.entries(entries)) {
  if (!existsSync(file)) throw new Error(`${name}: ${file} is missing (npm run build)`);
}
const times: Record<keyof typeof entries, number[]> = { tsc: [], bundle: [] };
timeOnce(entries.tsc); // warm the page cache for both before measuring
timeOnce(entries.bundle);
for (let r = 0; r < RUNS; r++) {
  times.tsc.push(timeOnce(entries.tsc));
  times.bundle.push(timeOnce(entries.bundle));
}
const tsc = median(times.tsc);
const bundle = median(times.bundle);
console.log(`runs per entry: ${RUNS} (median)`);
console.log(`tsc output  ${tsc.toFixed(0).padStart(7)} ms  ${entries.tsc}`);
console.log(`bundle      ${bundle.toFixed(0).padStart(7)} ms  ${entries.bundle}`);
console.log(`ratio bundle/tsc ${(bundle / tsc).toFixed(2)}`);
console.log(JSON.stringify({ bench: 'agent-load', runs: RUNS, tscMs: Math.round(tsc), bundleMs: Math.round(bundle), ratio: Number((bundle / tsc).toFixed(3)) }));
