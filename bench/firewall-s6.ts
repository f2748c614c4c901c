// Firewall enforcement latency: scenario S6 of
// shared/notes/performance-anchors.md (a script that prints figures, not a
// test). Runs in the lab guest:
//
//   kube-router-lab exec node1 -- node dist/bench/firewall-s6.js [--rounds 30]
//
// In a fresh network namespace, the S5 cluster (firewall-cluster.ts) plus a
// namespace `hot` with 100 policies that all select `app=hot`, synced once;
// then the real FirewallController runs on its event path (informer handler
// -> change tracker -> bounded-frequency runner, 50 ms minimum interval ->
// incremental compile -> ipset over netlink / iptables over nf_tables netlink
// or iptables-restore) while this
// script makes one change at a time, 150 ms apart, and measures from the
// cache event to the return of the last kernel write of the sync it caused:
//   pod+      a pod on this node created in `hot`, whose 100 policies
//             already select a resident local pod there (a deployment
//             scaling up): the window in which a new pod is not yet
//             protected (allowed traffic not yet allowed) is this latency;
//   pod-      the same pod deleted;
//   pod+first a pod on this node created in `cold`, 100 policies that
//             select no other local pod (a rolling update that deletes the
//             old pod before it creates the new one): their chains and sets
//             linger in the kernel since the previous round's pod-last (up
//             to 128 policies linger: compile-state.ts); in round 1 the pod
//             brings them in;
//   pod-last  that pod deleted (its policies linger);
//   pod+new   the first local pod of 100 policies created just before in
//             `new-N`, as a pod starts: bound to this node without an IP
//             (unmeasured: the policies selecting it are written then,
//             while its sandbox starts), then measured from the update that
//             gives it its IP (its own chain and jumps);
//   pod+cold  the same, but the pod arrives bound and with its IP in one
//             event (as after an agent restart, or an informer relist):
//             its 100 policies' chains and sets and its own in one sync
//             (~315 kernel messages), the worst case.
//             For both, the policies and the pod are deleted after the
//             change, unmeasured; their rounds run after those of the
//             other kinds;
//   policy+wide  the anchor's second change: one policy selecting 110
//             pods, all on this node, in namespace `wide`, where another
//             policy already selects them (each pod chain gets a jump);
//   policy+wide-new  the same in `wide-new`, whose pods no other policy
//             selects (each pod gets its chain and jumps: the worst case);
//             both in rounds of their own, after the others;
//   policy-wide, policy-wide-new  that policy deleted;
//   label     a remote pod relabelled (role web <-> db: peer sets change);
//   local     a local pod relabelled (app: which policies select it);
//   policy+   a policy created in a namespace with a local pod (selects all
//             of its pods, ingress from a team's namespaces);
//   policy-   that policy deleted.
// `--groups main,new,wide` chooses which rounds run (all by default);
// `--profile <kind>` (e.g. pod+cold) prints where the CPU went while syncing those.
// Goal: p99 <= 100 ms for every kind.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NetworkPolicy, Pod } from '../src/informers/types.js';
import { benchController, LOCAL_NODE, LOCAL_PODS, mkPod, recordedKernel, Recorder, syntheticCluster } from './firewall-cluster.js';
import { environment, innerNetns, runInFreshNetns } from './lib/netns.js';
import { WindowProfiler } from './lib/cpu-profile.js';
import { ms, percentile, printSummary, verdict, type Row } from './lib/report.js';

const self = fileURLToPath(import.meta.url);

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

function hotPolicy(i: number, namespace = 'hot'): NetworkPolicy {
  return {
    metadata: { namespace, name: `${namespace}-${i}` },
    spec: { podSelector: { matchLabels: { app: 'hot' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${i % 10}` } } }], ports: [{ protocol: 'TCP', port: 8000 + i }] }] },
  };
}

async function inner(ns: string): Promise<void> {
  const rounds = Number(arg('rounds', '30'));
  /** Which rounds run: main (pod+ ... policy-), new (pod+new, pod+cold), wide (policy+wide, policy-wide, policy+wide-new, policy-wide-new). */
  const groups = new Set(arg('groups', 'main,new,wide').split(','));
  /** `--profile <kind>`: CPU profile of the syncs of that kind's changes (diagnostic: they run slower). */
  const profileKind = arg('profile', '');
  const profiler = new WindowProfiler();
  console.log(`# firewall-s6 in netns ${ns}, ${rounds} rounds`);
  console.log(`# ${environment()}`);
  const { cache, size } = await syntheticCluster();
  for (const name of ['hot', 'cold']) {
    cache.add('Namespace', { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, team: 't0' } } });
    for (let i = 0; i < 100; i++) cache.add('NetworkPolicy', hotPolicy(i, name));
  }
  const hotPodIn = (namespace: string, name: string, ip: string): Pod => {
    const pod = mkPod(0, 0, { app: 'hot', role: 'web' }, 0);
    return { ...pod, metadata: { ...pod.metadata, namespace, name }, status: { ...pod.status, podIP: ip, podIPs: [{ ip }] } };
  };
  cache.add('Pod', hotPodIn('hot', 'resident', '10.200.0.199'));
  const rec = new Recorder();
  const ctl = benchController(cache, recordedKernel(rec));
  const t0 = performance.now();
  await ctl.sync();
  console.log(`cluster: ${size.policies + 200} policies, ${size.pods + 1} pods (${size.localPods + 1} local); first sync ${ms(performance.now() - t0)}`);
  const synced = ctl.lastReport;
  await ctl.start();
  // start() runs a (full) sync of its own: let it finish before measuring.
  for (let waited = 0; ctl.lastReport === synced && waited < 120_000; waited += 50) await sleep(50);
  await sleep(500);

  const samples = new Map<string, number[]>();
  /** Per kind: time in kernel calls (ipset reads/writes, iptables writes) per change, and which calls. */
  const kernelMs = new Map<string, number[]>();
  const callsBy = new Map<string, Map<string, { n: number; ms: number }>>();
  /** Per kind: time inside the nf_tables batches' sendmsg (the kernel applying them) per change. */
  const nftKernelMs = new Map<string, number[]>();
  const nftKernelTotal = (): number => rec.iptablesDrivers.reduce((a, d) => a + d.netlinkStats.kernelMs, 0);
  let noops = 0;
  const measure = async (kind: string, change: () => void): Promise<void> => {
    // The kind is the label's first word: policy+wide is not policy+wide-new.
    const profiled = profileKind !== '' && kind.split(' ')[0] === profileKind;
    if (profiled) await profiler.start();
    const before = ctl.lastReport;
    const restores = rec.restores;
    const firstCall = rec.calls.length;
    const nftBefore = nftKernelTotal();
    const start = performance.now();
    change();
    const deadline = start + 60_000;
    while (ctl.lastReport === before && performance.now() < deadline) await new Promise((r) => setImmediate(r));
    if (ctl.lastReport === before) throw new Error(`${kind}: no sync within 60 s`);
    if (profiled) await profiler.stop();
    if (rec.restores === restores) noops++;
    const l = samples.get(kind) ?? [];
    l.push((rec.restores === restores ? performance.now() : rec.lastReturnAt) - start);
    samples.set(kind, l);
    const calls = rec.calls.slice(firstCall);
    const k = kernelMs.get(kind) ?? [];
    k.push(calls.reduce((a, c) => a + c.ms, 0));
    kernelMs.set(kind, k);
    const nk = nftKernelMs.get(kind) ?? [];
    nk.push(nftKernelTotal() - nftBefore);
    nftKernelMs.set(kind, nk);
    const by = callsBy.get(kind) ?? new Map<string, { n: number; ms: number }>();
    for (const c of calls) {
      const e = by.get(c.op) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += c.ms;
      by.set(c.op, e);
    }
    callsBy.set(kind, by);
    await sleep(150);
  };

  /** A change made and synced, not measured (setting up the next measured one). */
  const settle = async (change: () => void): Promise<void> => {
    const before = ctl.lastReport;
    change();
    for (let waited = 0; ctl.lastReport === before && waited < 5_000; waited += 5) await sleep(5);
    await sleep(150);
  };
  // A namespace with a local pod: ns-0 holds pod-0 on this node.
  const localPod = cache.store('Pod').get('ns-0/pod-0') as Pod;
  const remotePod = cache.store('Pod').get('ns-7/pod-3') as Pod;
  for (let r = 0; r < rounds && groups.has('main'); r++) {
    const ip = `10.200.0.${200 + (r % 50)}`;
    await measure('pod+ (new local pod, 100 policies)', () => cache.add('Pod', hotPodIn('hot', `new-${r}`, ip)));
    await measure('pod- (that pod deleted)', () => cache.delete('Pod', `hot/new-${r}`));
    await measure('pod+first (first local pod of 100 policies)', () => cache.add('Pod', hotPodIn('cold', `new-${r}`, ip)));
    await measure('pod-last (that pod deleted)', () => cache.delete('Pod', `cold/new-${r}`));
    const role = r % 2 === 0 ? 'web' : 'db'; // ns-7/pod-3 starts as db
    await measure('label (remote pod relabelled)', () => cache.update('Pod', { ...remotePod, metadata: { ...remotePod.metadata, labels: { ...remotePod.metadata.labels, role } } }));
    const app = r % 2 === 0 ? 'app4' : 'app0';
    await measure('local (local pod relabelled)', () => cache.update('Pod', { ...localPod, metadata: { ...localPod.metadata, labels: { ...localPod.metadata.labels, app } } }));
    const pol: NetworkPolicy = { metadata: { namespace: 'ns-0', name: `extra-${r}` }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${r % 10}` } } }] }] } };
    await measure('policy+ (policy over a local pod)', () => cache.add('NetworkPolicy', pol));
    await measure('policy- (that policy deleted)', () => cache.delete('NetworkPolicy', `ns-0/extra-${r}`));
  }
  // pod+new after the other kinds, in rounds of its own: each round creates
  // and deletes 100 policies (and their compiled chains and sets), several
  // times the garbage of a round of the other kinds, whose collection would
  // otherwise land on their samples.
  for (let r = 0; r < rounds && groups.has('new'); r++) {
    const ip = `10.200.0.${200 + (r % 50)}`;
    for (const kind of ['new', 'cold'] as const) {
      const ns = `${kind}-${r}`;
      await settle(() => {
        cache.add('Namespace', { metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, team: 't0' } } });
        for (let i = 0; i < 100; i++) cache.add('NetworkPolicy', hotPolicy(i, ns));
      });
      const pod = hotPodIn(ns, 'new', ip);
      if (kind === 'new') {
        await settle(() => cache.add('Pod', { ...pod, status: { phase: 'Pending', hostIP: pod.status?.hostIP } }));
        await measure('pod+new (its IP; its 100 new policies written as it started)', () => cache.update('Pod', pod));
      } else {
        await measure('pod+cold (first local pod of 100 new policies, with its IP at once)', () => cache.add('Pod', pod));
      }
      await settle(() => {
        for (let i = 0; i < 100; i++) cache.delete('NetworkPolicy', `${ns}/${ns}-${i}`);
      });
      await settle(() => cache.delete('Pod', `${ns}/new`));
    }
  }

  // policy+wide: the anchor's second change, one policy selecting 110 pods,
  // in rounds of their own after the others (220 more local pods would
  // change the other kinds' tables). Two namespaces of 110 pods on this
  // node: in `wide-new` no other policy selects them (each pod gets its
  // chain and jumps: the worst case), in `wide` a resident policy with
  // another podSelector already does (each pod chain gets one jump).
  if (groups.has('wide')) {
    await settle(() => {
      for (const [k, ns] of ['wide', 'wide-new'].entries()) {
        cache.add('Namespace', { metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, team: 't0' } } });
        for (let i = 0; i < LOCAL_PODS; i++) {
          const pod = hotPodIn(ns, `w-${i}`, `10.199.${k}.${i + 1}`);
          cache.add('Pod', { ...pod, metadata: { ...pod.metadata, labels: { app: 'wide', role: 'web' } } });
        }
      }
      cache.add('NetworkPolicy', { metadata: { namespace: 'wide', name: 'resident' }, spec: { podSelector: { matchLabels: { app: 'wide' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 443 }] }] } });
    });
    for (let r = 0; r < rounds; r++) {
      for (const ns of ['wide', 'wide-new']) {
        const pol: NetworkPolicy = {
          metadata: { namespace: ns, name: `wide-${r}` },
          spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${r % 10}` } } }], ports: [{ protocol: 'TCP', port: 80 }] }] },
        };
        const what = ns === 'wide' ? 'already selected by another policy' : 'selected by none before';
        await measure(`policy+${ns} (policy selecting ${LOCAL_PODS} local pods, ${what})`, () => cache.add('NetworkPolicy', pol));
        await measure(`policy-${ns} (that policy deleted)`, () => cache.delete('NetworkPolicy', `${ns}/wide-${r}`));
      }
    }
  }

  await ctl.stop();

  // Baselines in the same namespace, with the same table and sets loaded:
  // the anchor's single `ipset add` exec, and the smallest iptables write
  // (a one-rule chain created, then removed) through a fresh
  // `iptables-restore --noflush` process, as a tool run would do it.
  const timedRun = (argv: string[], input: string): number => {
    const t = performance.now();
    const r = spawnSync(argv[0], argv.slice(1), { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    return performance.now() - t;
  };
  const anySet = rec.ipsetScripts.join('\n').match(/^create (KUBE-\S+) hash:ip /m)?.[1];
  const ipsetAdd: number[] = [];
  const iptOne: number[] = [];
  for (let i = 0; i < 10; i++) {
    if (anySet) {
      ipsetAdd.push(timedRun(['ipset', 'add', anySet, `10.254.0.${i + 1}`], ''));
      spawnSync('ipset', ['del', anySet, `10.254.0.${i + 1}`]);
    }
    iptOne.push(timedRun(['iptables-restore', '--noflush', '--wait'], '*filter\n:KR-BENCH-ONE - [0:0]\n-A KR-BENCH-ONE -s 10.254.0.1/32 -j RETURN\nCOMMIT\n'));
    spawnSync('iptables-restore', ['--noflush', '--wait'], { input: '*filter\n-F KR-BENCH-ONE\n-X KR-BENCH-ONE\nCOMMIT\n' });
  }

  const rows: Row[] = [];
  const all: number[] = [];
  for (const [kind, l] of samples) {
    all.push(...l);
    const p99 = percentile(l, 99);
    rows.push({ scenario: 'S6', figure: `${kind}: p50 / p99 / max`, value: `${ms(percentile(l, 50))} / ${ms(p99)} / ${ms(Math.max(...l))}`, goal: 'p99 <= 100 ms', verdict: verdict(p99 <= 100) });
    // The first round runs code V8 has not compiled yet (under emulation, hundreds of ms): shown apart.
    const warm = l.slice(1);
    if (warm.length > 1) rows.push({ scenario: 'S6', figure: `  rounds 2-${l.length} (the first one runs cold code): p50 / p99`, value: `${ms(percentile(warm, 50))} / ${ms(percentile(warm, 99))}`, verdict: verdict(percentile(warm, 99) <= 100) });
    // V8 tiers a function up after enough calls: under emulation the code run once per sync
    // (compile, plan) stays slow for the first rounds. An agent that has handled tens of
    // events is past that: shown apart as well, not instead.
    const steady = l.slice(10);
    if (steady.length > 1) rows.push({ scenario: 'S6', figure: `  rounds 11-${l.length} (after 10 of each kind): p50 / p99 / max`, value: `${ms(percentile(steady, 50))} / ${ms(percentile(steady, 99))} / ${ms(Math.max(...steady))}`, verdict: verdict(percentile(steady, 99) <= 100) });
    const k = kernelMs.get(kind) ?? [];
    const per = [...(callsBy.get(kind) ?? new Map<string, { n: number; ms: number }>())].map(([op, e]) => `${op} x${(e.n / l.length).toFixed(1)} ${ms(e.ms / e.n)}`).join(', ');
    rows.push({ scenario: 'S6', figure: `  of which in kernel calls, p50 (calls per change, mean time)`, value: `${ms(percentile(k, 50))} (${per || 'none'})` });
    // What the kernel itself took of the iptables writes: the rest of a write is our planning and encoding.
    const nk = nftKernelMs.get(kind) ?? [];
    if (nk.some((v) => v > 0)) rows.push({ scenario: 'S6', figure: `  of which the nf_tables batch, send to answer (the kernel applying it), p50`, value: ms(percentile(nk, 50)) });
  }
  const p99 = percentile(all, 99);
  rows.push({ scenario: 'S6', figure: `all ${all.length} changes: p50 / p99`, value: `${ms(percentile(all, 50))} / ${ms(p99)}`, goal: 'p99 <= 100 ms', verdict: verdict(p99 <= 100) });
  rows.push({ scenario: 'S6', figure: 'changes that needed no kernel write', value: String(noops) });
  for (const d of rec.iptablesDrivers) {
    const n = d.netlinkStats;
    rows.push({ scenario: 'S6', figure: `iptables writes over nf_tables netlink / through iptables-restore (${d.family})`, value: `${n.applied} / ${n.fellBack}${n.lastReason ? ` (last reason: ${n.lastReason})` : ''}; chains read back ${n.chainsRead}` });
  }
  const oneRule = percentile(iptOne, 50);
  if (ipsetAdd.length) rows.push({ scenario: 'S6 base', figure: 'one `ipset add` exec (the anchor baseline), p50', value: ms(percentile(ipsetAdd, 50)) });
  rows.push({ scenario: 'S6 base', figure: 'one-rule `iptables-restore --noflush` exec into this table, p50', value: ms(oneRule) });
  rows.push({ scenario: 'S6 base', figure: 'all changes p50 / that one-rule restore', value: `${(percentile(all, 50) / oneRule).toFixed(2)}x` });
  if (profileKind !== '') console.log(['', `# CPU self time while syncing ${profileKind}:`, ...profiler.top(40)].join('\n'));
  printSummary('firewall-s6', rows, { localNode: LOCAL_NODE, rounds, samples: Object.fromEntries(samples) });
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
  process.exit(runInFreshNetns(self, process.argv.slice(2)));
}
