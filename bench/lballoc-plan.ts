// LoadBalancer allocator plan time (a script, not a test):
//   node dist/bench/lballoc-plan.js [--services 10000] [--range 10.200.0.0/18]
//
// planAllocations() is what the leader runs on every Service event and
// periodic resync. Measured on N LoadBalancer Services (plus N ClusterIP
// Services, which the plan also reads for externalIPs):
//   cold:        none has an address yet (first leader after install)
//   steady:      every one has its address (the common resync: no change)
//   one-new:     steady plus one new Service (a Service event)
//   exhausted:   2N Services in a range of about N addresses
// Prints ms per plan (median of 5) and changes/warnings, as a table and one JSON line.

import { planAllocations } from '../src/controllers/lballoc/allocate.js';
import { parsePools } from '../src/controllers/lballoc/ranges.js';
import type { Service } from '../src/informers/types.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const N = Number(arg('services', '10000'));
const RANGE = arg('range', '10.200.0.0/18');
const pools = parsePools([RANGE]);

function lb(i: number, ip?: string): Service {
  return {
    metadata: { name: `lb-${i}`, namespace: `ns-${i % 100}`, resourceVersion: String(i + 1), creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() },
    spec: { type: 'LoadBalancer', clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
    status: ip ? { loadBalancer: { ingress: [{ ip }] } } : undefined,
  };
}

function cip(i: number): Service {
  return { metadata: { name: `c-${i}`, namespace: `ns-${i % 100}` }, spec: { type: 'ClusterIP', clusterIP: `10.97.${(i >> 8) & 255}.${i & 255}` } };
}

function time(services: Service[]): { ms: number; changes: number; warnings: number } {
  const runs: number[] = [];
  let last = planAllocations({ services, pools, defaultClass: true });
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    last = planAllocations({ services, pools, defaultClass: true });
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  runs.sort((a, b) => a - b);
  return { ms: Math.round(runs[2] * 10) / 10, changes: last.changes.length, warnings: last.warnings.length };
}

const clusterIps = Array.from({ length: N }, (_, i) => cip(i));
const cold = [...Array.from({ length: N }, (_, i) => lb(i)), ...clusterIps];
const first = planAllocations({ services: cold, pools, defaultClass: true });
const ipOf = new Map(first.changes.map((c) => [c.key, c.added[0]]));
const steady = [...Array.from({ length: N }, (_, i) => lb(i, ipOf.get(`ns-${i % 100}/lb-${i}`))), ...clusterIps];
const oneNew = [...steady, lb(N)];
const exhausted = [...Array.from({ length: 2 * N }, (_, i) => lb(i)), ...clusterIps];

const rows = {
  cold: time(cold),
  steady: time(steady),
  'one-new': time(oneNew),
  exhausted: time(exhausted),
};
console.log(`planAllocations, ${N} LoadBalancer + ${N} ClusterIP Services, range ${RANGE}`);
console.log('case        ms/plan  changes  warnings');
for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(10)} ${String(v.ms).padStart(8)} ${String(v.changes).padStart(8)} ${String(v.warnings).padStart(9)}`);
console.log(`JSON ${JSON.stringify({ bench: 'lballoc-plan', services: N, range: RANGE, ...rows })}`);
