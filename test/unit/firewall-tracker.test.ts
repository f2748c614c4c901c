// Change tracker relevance (needs the old object) and incremental updates:
// FirewallState.update on tracked changes must equal a rebuild from scratch,
// and a pod event must recompile no policy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallChangeTracker } from '../../src/controllers/firewall/change-tracker.js';
import { FirewallState, type FirewallStateOptions } from '../../src/controllers/firewall/compile-state.js';
import type { FirewallDesired } from '../../src/controllers/firewall/model.js';
import type { LabelSelector } from '../../src/informers/types.js';
import { Cluster, ctxFor, mkNs, mkPod, mkPolicy, NODE1, NODE2 } from './firewall-fixtures.js';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Labels namespace `name` team=`team` in the cluster and tells the tracker. */
function setTeam(c: Cluster, t: FirewallChangeTracker, name: string, team: string): void {
  const old = c.namespaces.get(name)!;
  const ns = clone(old);
  ns.metadata.labels!.team = team;
  c.namespaces.put(ns);
  t.onNamespace({ type: 'update', obj: ns, old });
}

function text(d: FirewallDesired): string {
  const chains = [...d.iptables.ipv4!.chains].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k}\n  ${v.join('\n  ')}`);
  const sets = d.ipsets.map((s) => `${s.name} ${[...s.entries].sort().join(',')}`);
  return [...chains, ...sets, ...d.localPods.map((s) => `${s.name} ${[...s.entries].sort().join(',')}`)].join('\n');
}

test('pod relevance: labels, phase, IPs, node, ports matter; other changes do not', () => {
  const t = new FirewallChangeTracker();
  const p = mkPod('x', 'a', '10.244.1.10', NODE1);
  const q = clone(p);
  q.metadata.annotations = { foo: 'bar' };
  q.metadata.resourceVersion = '9';
  assert.equal(t.onPod({ type: 'update', obj: q, old: p }), false);
  const r = clone(p);
  r.metadata.labels = { pod: 'b' };
  assert.equal(t.onPod({ type: 'update', obj: r, old: p }), true);
  const s = clone(p);
  s.status!.phase = 'Succeeded';
  assert.equal(t.onPod({ type: 'update', obj: s, old: p }), true);
  const u = clone(p);
  u.spec.containers[0].ports = [{ name: 'http', containerPort: 81 }];
  assert.equal(t.onPod({ type: 'update', obj: u, old: p }), true);
  assert.equal(t.onPod({ type: 'add', obj: mkPod('x', 'n', undefined, '') }), false, 'not bound, no IP');
  assert.equal(t.onPod({ type: 'add', obj: mkPod('x', 'm', undefined, NODE1, {}, { hostNetwork: true }) }), false, 'host network');
  assert.equal(t.onPod({ type: 'add', obj: mkPod('x', 'o', undefined, NODE1, {}, { phase: 'Failed' }) }), false, 'finished');
  assert.equal(t.onPod({ type: 'add', obj: mkPod('x', 's', undefined, NODE1) }), true, 'bound, no IP yet: its node prepares its policies');
  assert.equal(t.onPod({ type: 'delete', obj: mkPod('x', 'h', undefined, NODE1, {}, { hostNetwork: true }) }), false);
  assert.deepEqual(t.drain().pods, ['x/a', 'x/s']);
  assert.equal(t.pending(), 0);
});

test('namespace and policy relevance', () => {
  const t = new FirewallChangeTracker();
  const ns = mkNs('x');
  const ns2 = clone(ns);
  ns2.metadata.annotations = { a: 'b' };
  assert.equal(t.onNamespace({ type: 'update', obj: ns2, old: ns }), false);
  const ns3 = clone(ns);
  ns3.metadata.labels!.team = 'red';
  assert.equal(t.onNamespace({ type: 'update', obj: ns3, old: ns }), true);
  const p = mkPolicy('x', 'p', {});
  const p2 = clone(p);
  p2.metadata.resourceVersion = '2';
  assert.equal(t.onPolicy({ type: 'update', obj: p2, old: p }), false);
  const p3 = clone(p);
  p3.spec.policyTypes = ['Egress'];
  assert.equal(t.onPolicy({ type: 'update', obj: p3, old: p }), true);
  assert.deepEqual(t.drain(), { policies: ['x/p'], pods: [], namespaces: ['x'] });
});

const chainsOf = (d: FirewallDesired): ReadonlyMap<string, readonly string[]> => d.iptables.ipv4!.chains;

/**
 * NODE1's state, kept by `t`'s changes: sync(what) applies them, checks the
 * desired state against a rebuild from scratch (with the same lingering
 * policies) and returns it.
 */
function trackedState(c: Cluster, t: FirewallChangeTracker, opts: FirewallStateOptions): { state: FirewallState; sync: (what: string) => FirewallDesired } {
  const state = new FirewallState(ctxFor(NODE1), opts);
  state.rebuild(c.view);
  const sync = (what: string): FirewallDesired => {
    state.update(t.drain(), c.view);
    const fresh = new FirewallState(ctxFor(NODE1), opts);
    fresh.rebuild(c.view, state.lingeringPolicies());
    const got = state.desired();
    assert.equal(text(got), text(fresh.desired()), what);
    return got;
  };
  return { state, sync };
}

test('incremental updates equal a rebuild: pod created after the policy, relabelled, deleted; namespace relabelled; policy updated and deleted', () => {
  const c = Cluster.e2e();
  c.policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] });
  c.policy('y', 'q', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { role: 'db' } } }], ports: [{ port: 'serve-80-tcp' }] }] });
  const state = new FirewallState(ctxFor(NODE1));
  state.rebuild(c.view);
  const t = new FirewallChangeTracker();
  const check = (what: string): void => {
    const stats = state.update(t.drain(), c.view);
    const fresh = new FirewallState(ctxFor(NODE1));
    fresh.rebuild(c.view);
    assert.equal(text(state.desired()), text(fresh.desired()), what);
    void stats;
  };
  const newPod = mkPod('x', 'd', '10.244.1.77', NODE1, { pod: 'a' });
  c.pods.put(newPod);
  t.onPod({ type: 'add', obj: newPod });
  check('pod created after the policy');
  const old = c.pods.get('y/b')!;
  const relabelled = clone(old);
  relabelled.metadata.labels = { pod: 'b', role: 'db' };
  c.pods.put(relabelled);
  t.onPod({ type: 'update', obj: relabelled, old });
  check('pod relabelled');
  setTeam(c, t, 'z', 'blue');
  check('namespace relabelled');
  const oldPol = c.policies.get('x/p')!;
  c.policy('x', 'p', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ ports: [{ port: 81 }] }] });
  t.onPolicy({ type: 'update', obj: c.policies.get('x/p')!, old: oldPol });
  check('policy updated');
  const gone = c.policies.get('y/q')!;
  c.policies.del('y/q');
  t.onPolicy({ type: 'delete', obj: gone });
  check('policy deleted');
  const dead = c.pods.get('x/d')!;
  c.pods.del('x/d');
  t.onPod({ type: 'delete', obj: dead });
  check('pod deleted');
});

test('a pod event recompiles no policy chain; a remote pod changes sets only', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ namespaceSelector: {} }] }] });
  const state = new FirewallState(ctxFor(NODE1));
  state.rebuild(c.view);
  const before = state.desired();
  const remote = mkPod('z', 'new', '10.244.2.90', NODE2);
  c.pods.put(remote);
  const stats = state.update({ policies: [], pods: ['z/new'], namespaces: [] }, c.view);
  assert.equal(stats.policiesCompiled, 0);
  assert.equal(stats.setsChanged, 1);
  const after = state.desired();
  assert.deepEqual([...after.iptables.ipv4!.chains], [...before.iptables.ipv4!.chains], 'no chain changed');
  assert.ok(after.ipsets[0].entries.has('10.244.2.90'));
});

test('desired() hands back the same set objects for sets no change touched (the applied memo skips them by identity)', () => {
  const c = Cluster.e2e()
    .policy('x', 'p', { ingress: [{ from: [{ namespaceSelector: {} }] }] })
    .policy('x', 'q', { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  const state = new FirewallState(ctxFor(NODE1, { defaultDeny: true }));
  state.rebuild(c.view);
  const before = state.desired();
  assert.ok(before.ipsets.length >= 2);
  const again = state.desired();
  before.ipsets.forEach((s, i) => assert.equal(again.ipsets[i], s, `${s.name} rebuilt without a change`));
  assert.equal(again.localPods[0], before.localPods[0]);
  // A remote pod in z: only the all-namespaces peer set changes.
  c.pods.put(mkPod('z', 'new', '10.244.2.90', NODE2));
  state.update({ policies: [], pods: ['z/new'], namespaces: [] }, c.view);
  const after = state.desired();
  const changed = after.ipsets.filter((s, i) => s !== before.ipsets[i]);
  assert.equal(changed.length, 1);
  assert.ok(changed[0].entries.has('10.244.2.90'));
  assert.equal(after.localPods[0], before.localPods[0], 'no local pod changed');
  // A new local pod: kube-router-local-pods is built again.
  c.pods.put(mkPod('x', 'd', '10.244.1.77', NODE1, { pod: 'a' }));
  state.update({ policies: [], pods: ['x/d'], namespaces: [] }, c.view);
  const withLocal = state.desired();
  assert.notEqual(withLocal.localPods[0], before.localPods[0]);
  assert.ok(withLocal.localPods[0].entries.has('10.244.1.77'));
});

test('incremental updates equal a rebuild for policies sharing a podSelector (KUBE-NWPLCY-SEL chain): second policy, new pod, third policy, policies deleted', () => {
  const c = Cluster.e2e();
  const sel = { matchLabels: { pod: 'a' } };
  c.policy('x', 'p1', { podSelector: sel, ingress: [{ ports: [{ port: 81 }] }] });
  const state = new FirewallState(ctxFor(NODE1));
  state.rebuild(c.view);
  const t = new FirewallChangeTracker();
  const check = (what: string, selChains: number): void => {
    state.update(t.drain(), c.view);
    const fresh = new FirewallState(ctxFor(NODE1));
    fresh.rebuild(c.view);
    const got = state.desired();
    assert.equal(text(got), text(fresh.desired()), what);
    assert.equal([...got.iptables.ipv4!.chains.keys()].filter((k) => k.startsWith('KUBE-NWPLCY-SEL-')).length, selChains, `${what}: selector chains`);
  };
  const add = (name: string, spec: Parameters<Cluster['policy']>[2]): void => {
    c.policy('x', name, spec);
    t.onPolicy({ type: 'add', obj: c.policies.get(`x/${name}`)! });
  };
  add('p2', { podSelector: sel, ingress: [{ ports: [{ port: 80 }] }] });
  check('second policy with the selector', 1);
  const pod = mkPod('x', 'a2', '10.244.1.78', NODE1, { pod: 'a' });
  c.pods.put(pod);
  t.onPod({ type: 'add', obj: pod });
  check('a second pod the selector selects', 1);
  add('p3', { podSelector: sel, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
  check('third policy (also egress: a single egress policy is jumped to directly)', 1);
  for (const name of ['p2', 'p3']) {
    const gone = c.policies.get(`x/${name}`)!;
    c.policies.del(`x/${name}`);
    t.onPolicy({ type: 'delete', obj: gone });
  }
  check('back to one policy', 0);
});

test('a set whose last policy leaves is kept filled: pod and namespace changes while out reach it, and it comes back equal to a rebuild as a new object', () => {
  const c = Cluster.e2e();
  // x/a is NODE1's only pod the policy selects; its peer set holds the pods of namespaces labelled team=blue.
  c.policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] });
  const t = new FirewallChangeTracker();
  setTeam(c, t, 'z', 'blue');
  // Without lingering policies (their sets would stay in the desired state).
  const { sync } = trackedState(c, t, { lingeringPolicies: 0 });
  const before = sync('policy active');
  const peer = before.ipsets.find((s) => s.entries.has(c.ip('z/b')));
  assert.ok(peer, 'the peer set holds z/b');
  const local = c.pods.get('x/a')!;
  c.pods.del('x/a');
  t.onPod({ type: 'delete', obj: local });
  assert.equal(sync('last selected pod gone').ipsets.length, 0, 'no set in the desired state');
  // While out: a pod joins the peer namespace, another leaves it by relabelling its namespace.
  const joined = mkPod('z', 'new', '10.244.2.91', NODE2);
  c.pods.put(joined);
  t.onPod({ type: 'add', obj: joined });
  setTeam(c, t, 'y', 'blue');
  sync('changes while the set is out');
  c.pods.put(local);
  t.onPod({ type: 'add', obj: local });
  const back = sync('selected pod back');
  const again = back.ipsets.find((s) => s.name === peer.name);
  assert.ok(again, 'the peer set is desired again');
  assert.notEqual(again, peer, 'a new object: the applied memo takes it for a set to create');
  for (const ip of ['10.244.2.91', c.ip('y/b'), c.ip('z/b')]) assert.ok(again.entries.has(ip), `${ip} in the set that came back`);
});

test('a policy whose last local pod leaves lingers: chain and sets stay (same objects) and follow changes; the next pod adds only its own chain; deleted or past the limit, it leaves', () => {
  const c = Cluster.e2e();
  c.policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] });
  c.policy('x', 'q', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }] }] });
  const t = new FirewallChangeTracker();
  setTeam(c, t, 'z', 'blue');
  const { state, sync } = trackedState(c, t, { lingeringPolicies: 1 });
  const names = new Map([...state.compiledPolicies()].map(([k, p]) => [k, p.chainNames.ipv4!.ingress!]));
  const policyChain = (d: FirewallDesired, p: string): string | undefined => (chainsOf(d).has(names.get(`x/${p}`)!) ? names.get(`x/${p}`) : undefined);
  const before = sync('both policies active');
  const pChain = policyChain(before, 'p')!;
  assert.ok(pChain, 'x/p has a chain');
  const peer = before.ipsets.find((s) => s.entries.has(c.ip('z/b')))!;
  const local = c.pods.get('x/a')!;
  c.pods.del('x/a');
  t.onPod({ type: 'delete', obj: local });
  const gone = sync('last pod of x/p gone');
  assert.deepEqual(state.lingeringPolicies(), ['x/p']);
  assert.equal(chainsOf(gone).get(pChain), chainsOf(before).get(pChain), 'the chain lingers, the same array');
  assert.equal(gone.ipsets.find((s) => s.name === peer.name), peer, 'its set lingers, the same object');
  assert.ok(![...chainsOf(gone).values()].some((rules) => rules.some((r) => r.includes(`-j ${pChain}`))), 'no rule jumps to it');
  // While it lingers, its set follows a pod joining the peer namespace.
  const joined = mkPod('z', 'new', '10.244.2.91', NODE2);
  c.pods.put(joined);
  t.onPod({ type: 'add', obj: joined });
  const during = sync('a peer joins while it lingers');
  assert.ok(during.ipsets.find((s) => s.name === peer.name)!.entries.has('10.244.2.91'));
  // The next pod it selects: only that pod's chain and the top-level jumps change.
  c.pods.put(local);
  t.onPod({ type: 'add', obj: local });
  const back = sync('the pod back');
  assert.deepEqual(state.lingeringPolicies(), []);
  const changed = [...new Set([...chainsOf(during).keys(), ...chainsOf(back).keys()])].filter((k) => chainsOf(during).get(k) !== chainsOf(back).get(k));
  assert.ok(changed.every((k) => k.startsWith('KUBE-POD-FW-') || /^KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)$/.test(k)), changed.join(','));
  // Past the limit (1 here), the oldest leaves: x/a gone again, then x/b.
  c.pods.del('x/a');
  t.onPod({ type: 'delete', obj: local });
  sync('x/p lingers again');
  const b = c.pods.get('x/b')!;
  c.pods.del('x/b');
  t.onPod({ type: 'delete', obj: b });
  const past = sync('x/q lingers too: x/p leaves');
  assert.deepEqual(state.lingeringPolicies(), ['x/q']);
  assert.equal(chainsOf(past).get(pChain), undefined, 'x/p left the desired state');
  assert.ok(policyChain(past, 'q'));
  // Deleted while it lingers, it leaves.
  const q = c.policies.get('x/q')!;
  c.policies.del('x/q');
  t.onPolicy({ type: 'delete', obj: q });
  const deleted = sync('x/q deleted');
  assert.deepEqual(state.lingeringPolicies(), []);
  assert.equal(policyChain(deleted, 'q'), undefined);
});

test('the shared chain of lingering policies lingers with them (same array); the next pod adds only its own chain; both policies deleted, it leaves', () => {
  const c = Cluster.e2e();
  for (const [name, port] of [['p1', 80], ['p2', 81]] as const) c.policy('x', name, { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port }] }] });
  const t = new FirewallChangeTracker();
  const { state, sync } = trackedState(c, t, {});
  const selOf = (d: FirewallDesired): string[] => [...chainsOf(d).keys()].filter((k) => k.startsWith('KUBE-NWPLCY-SEL-'));
  const before = sync('x/a selected by p1 and p2');
  assert.equal(selOf(before).length, 1);
  const sel = selOf(before)[0];
  const local = c.pods.get('x/a')!;
  c.pods.del('x/a');
  t.onPod({ type: 'delete', obj: local });
  const gone = sync('x/a gone');
  assert.deepEqual(state.lingeringPolicies(), ['x/p1', 'x/p2']);
  assert.equal(chainsOf(gone).get(sel), chainsOf(before).get(sel), 'the shared chain lingers, the same array');
  c.pods.put(local);
  t.onPod({ type: 'add', obj: local });
  const back = sync('x/a back');
  const changed = [...new Set([...chainsOf(gone).keys(), ...chainsOf(back).keys()])].filter((k) => chainsOf(gone).get(k) !== chainsOf(back).get(k));
  assert.ok(changed.length > 0 && changed.every((k) => k.startsWith('KUBE-POD-FW-') || /^KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)$/.test(k)), changed.join(','));
  for (const name of ['p1', 'p2']) {
    const gonePolicy = c.policies.get(`x/${name}`)!;
    c.policies.del(`x/${name}`);
    t.onPolicy({ type: 'delete', obj: gonePolicy });
  }
  assert.deepEqual(selOf(sync('both policies deleted')), []);
});

test('a pod bound here without an IP makes its policies active (chains, shared selector chain and sets written, no pod chain); its IP then adds only its own chain and jumps', () => {
  const c = Cluster.e2e();
  c.policy('y', 'p', { podSelector: { matchLabels: { pod: 'n' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] });
  // A second policy with the same podSelector: the pod chain will jump to their shared chain.
  c.policy('y', 'q', { podSelector: { matchLabels: { pod: 'n' } }, ingress: [{ ports: [{ port: 81 }] }] });
  const selChains = (d: FirewallDesired): string[] => [...chainsOf(d).keys()].filter((k) => k.startsWith('KUBE-NWPLCY-SEL-'));
  const t = new FirewallChangeTracker();
  setTeam(c, t, 'z', 'blue');
  const { state, sync } = trackedState(c, t, { lingeringPolicies: 0 });
  const pChain = (): string => state.compiledPolicies().get('y/p')!.chainNames.ipv4!.ingress!;
  const before = sync('no pod of y/p');
  assert.ok(!chainsOf(before).has(pChain()));
  // Bound to NODE1, no IP yet: the add is relevant, the policy's chain and peer set are written.
  const starting = mkPod('y', 'n', undefined, NODE1);
  c.pods.put(starting);
  assert.equal(t.onPod({ type: 'add', obj: starting }), true, 'the add of a pod bound here without an IP is relevant');
  const prepared = sync('y/n starting');
  assert.ok(chainsOf(prepared).has(pChain()), 'the chain of y/p is written while y/n starts');
  assert.ok(prepared.ipsets.some((s) => s.entries.has(c.ip('z/b'))), 'its peer set too');
  assert.ok(![...chainsOf(prepared).keys()].some((k) => k.startsWith('KUBE-POD-FW-')), 'no pod chain without an IP');
  assert.equal(selChains(prepared).length, 1, 'the shared chain of y/p and y/q is written while y/n starts');
  assert.deepEqual(
    chainsOf(prepared).get(selChains(prepared)[0]),
    ['p', 'q'].map((n) => `-j ${state.compiledPolicies().get(`y/${n}`)!.chainNames.ipv4!.ingress}`),
  );
  // The IP: only the pod chain and the top-level jumps change.
  const running = mkPod('y', 'n', '10.244.1.77', NODE1);
  c.pods.put(running);
  t.onPod({ type: 'update', obj: running, old: starting });
  const ready = sync('y/n has its IP');
  const changed = [...new Set([...chainsOf(prepared).keys(), ...chainsOf(ready).keys()])].filter((k) => chainsOf(prepared).get(k) !== chainsOf(ready).get(k));
  assert.ok(changed.length > 0 && changed.every((k) => k.startsWith('KUBE-POD-FW-') || /^KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)$/.test(k)), changed.join(','));
  const podChain = [...chainsOf(ready).keys()].find((k) => k.startsWith('KUBE-POD-FW-'))!;
  assert.ok(chainsOf(ready).get(podChain)!.some((r) => r.endsWith(`-j ${selChains(prepared)[0]}`)), 'the pod chain jumps to the shared chain');
  assert.equal(ready.ipsets.find((s) => s.entries.has(c.ip('z/b'))), prepared.ipsets.find((s) => s.entries.has(c.ip('z/b'))), 'the peer set is the same object');
  // A pod bound to another node prepares nothing here; deleted while starting, the policy leaves.
  const elsewhere = mkPod('y', 'm', undefined, NODE2, { pod: 'n' });
  c.pods.put(elsewhere);
  t.onPod({ type: 'add', obj: elsewhere });
  c.pods.put(starting);
  t.onPod({ type: 'update', obj: starting, old: running });
  assert.ok(chainsOf(sync('y/n without IP again')).has(pChain()));
  c.pods.del('y/n');
  t.onPod({ type: 'delete', obj: starting });
  assert.ok(!chainsOf(sync('y/n deleted while starting')).has(pChain()), 'y/m on NODE2 does not keep y/p here');
});

test('incremental updates equal a rebuild over 400 random events (pods, policies sharing selectors, namespaces; both nodes)', () => {
  // A fixed-seed PRNG (mulberry32): the same sequence on every run.
  let seed = 0x6b72;
  const rnd = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const c = Cluster.e2e();
  const namespaces = ['x', 'y', 'z'];
  const apps = ['a', 'b', 'c'];
  const selectors: LabelSelector[] = [{}, { matchLabels: { pod: 'a' } }, { matchLabels: { app: 'web' } }, { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] }];
  const specs = (i: number): Parameters<Cluster['policy']>[2] => {
    const podSelector = pick(selectors);
    switch (i % 4) {
      case 0:
        return { podSelector, ingress: [{ from: [{ podSelector: pick(selectors) }], ports: [{ port: 80 + (i % 3) }] }] };
      case 1:
        return { podSelector, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: pick(['red', 'blue']) } } }] }] };
      case 2:
        return { podSelector, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: pick(selectors) }], ports: [{ port: 'serve-80-tcp' }] }] };
      default:
        return { podSelector, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.244.2.0/24'] } }] }], egress: [] };
    }
  };
  // Each node with no lingering policies, at most 3 (evictions) and the default.
  const states = [NODE1, NODE2].flatMap((node) =>
    [0, 3, undefined].map((lingeringPolicies) => {
      const s = new FirewallState(ctxFor(node), { lingeringPolicies });
      s.rebuild(c.view);
      return { node: `${node} (lingering ${lingeringPolicies ?? 'default'})`, ctx: ctxFor(node), lingeringPolicies, s, t: new FirewallChangeTracker() };
    }),
  );
  const each = (f: (t: FirewallChangeTracker) => void): void => states.forEach((x) => f(x.t));
  let nextIp = 100;
  for (let step = 0; step < 400; step++) {
    const r = rnd();
    const ns = pick(namespaces);
    if (r < 0.3) {
      const name = `p${Math.floor(rnd() * 8)}`;
      const old = c.policies.get(`${ns}/${name}`);
      if (old && rnd() < 0.4) {
        c.policies.del(`${ns}/${name}`);
        each((t) => t.onPolicy({ type: 'delete', obj: old }));
      } else {
        c.policy(ns, name, specs(step));
        const obj = c.policies.get(`${ns}/${name}`)!;
        each((t) => t.onPolicy(old ? { type: 'update', obj, old } : { type: 'add', obj }));
      }
    } else if (r < 0.8) {
      const name = `q${Math.floor(rnd() * 10)}`;
      const old = c.pods.get(`${ns}/${name}`);
      if (old && rnd() < 0.3) {
        c.pods.del(`${ns}/${name}`);
        each((t) => t.onPod({ type: 'delete', obj: old }));
      } else {
        const node = old?.spec.nodeName ?? pick([NODE1, NODE2]);
        // A new pod, or one still starting, gets its IP 7 times in 10 (else: bound, no IP yet).
        const ip = old?.status?.podIP ?? (rnd() < 0.7 ? `10.244.${node === NODE1 ? 1 : 2}.${nextIp++}` : undefined);
        const labels: Record<string, string> = { pod: pick(apps) };
        if (rnd() < 0.5) labels.app = 'web';
        const obj = mkPod(ns, name, ip, node, labels);
        c.pods.put(obj);
        each((t) => t.onPod(old ? { type: 'update', obj, old } : { type: 'add', obj }));
      }
    } else {
      const old = c.namespaces.get(ns)!;
      const obj = clone(old);
      obj.metadata.labels = { ...obj.metadata.labels, team: pick(['red', 'blue', 'green']) };
      c.namespaces.put(obj);
      each((t) => t.onNamespace({ type: 'update', obj, old }));
    }
    if (rnd() < 0.6 || step === 399) {
      for (const x of states) {
        x.s.update(x.t.drain(), c.view);
        const fresh = new FirewallState(x.ctx, { lingeringPolicies: x.lingeringPolicies });
        fresh.rebuild(c.view, x.s.lingeringPolicies());
        assert.equal(text(x.s.desired()), text(fresh.desired()), `${x.node} after event ${step}`);
      }
    }
  }
  const d = states[0].s.desired();
  assert.ok([...d.iptables.ipv4!.chains.keys()].some((k) => k.startsWith('KUBE-NWPLCY-SEL-')), 'selector chains were exercised');
  assert.ok(d.ipsets.length > 0);
});

test('a namespaceSelector peer: pods of the namespaces it matches, and of one the cache lacks when it matches no labels; rebuild and incremental agree', () => {
  const c = Cluster.e2e();
  c.namespaces.put(mkNs('y', { team: 'red' }));
  c.pods.put(mkPod('w', 'orphan', '10.244.2.99', NODE2)); // namespace w not in the cache (yet)
  c.policy('x', 'no-team', { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] } }] }] });
  c.policy('x', 'red', { ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'red' } } }] }] });
  const s = new FirewallState(ctxFor(NODE1));
  s.rebuild(c.view);
  const members = (d: FirewallDesired): string[][] => d.ipsets.map((x) => [...x.entries].sort());
  const sets = members(s.desired());
  const noTeam = sets.find((e) => e.includes('10.244.2.99'));
  assert.ok(noTeam, 'the pod of the namespace the cache lacks is in the DoesNotExist set');
  assert.ok(!noTeam.includes(c.ip('y/a')), 'y has team=red');
  const red = sets.find((e) => e.includes(c.ip('y/a')));
  assert.deepEqual(red, [c.ip('y/a'), c.ip('y/b'), c.ip('y/c')].sort());
  // The same pod arriving as an event gives the same sets.
  const t = new FirewallState(ctxFor(NODE1));
  c.pods.del('w/orphan');
  t.rebuild(c.view);
  c.pods.put(mkPod('w', 'orphan', '10.244.2.99', NODE2));
  t.update({ policies: [], pods: ['w/orphan'], namespaces: [] }, c.view);
  assert.deepEqual(members(t.desired()), sets);
});
