// The firewall controller on the linked fake kernels: a policy's chains and
// sets appear, a relabel touches only what it affects, a no-op resync writes
// nothing, a bad policy is reported by name and fails closed, cleanup leaves
// other agents' state, a failed apply keeps the previous rules.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Iptables } from '../../src/kernel/iptables/types.js';
import { IptablesRestoreError } from '../../src/kernel/iptables/errors.js';
import { mkPolicy, mkPod, NODE1, NODE2 } from './firewall-fixtures.js';
import { changedChains, rig, snapshot } from './firewall-controller-helpers.js';

const ours = (names: string[], prefix: string): string[] => names.filter((n) => n.startsWith(prefix));

describe('FirewallController', () => {
  it('a policy applied -> policy chain, pod chains, jumps and sets exist', async () => {
    const r = await rig();
    r.cache.add('NetworkPolicy', mkPolicy('x', 'allow-from-a', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }] }] }));
    await r.ctl.sync();
    const chains = r.iptK.chains('filter');
    assert.equal(ours(chains, 'KUBE-NWPLCY-').filter((c) => !/COMMON|DEFAULT|TAIL/.test(c)).length, 1);
    // x/a and x/b are on node-1 and selected; x/c is not local.
    assert.equal(ours(chains, 'KUBE-POD-FW-').length, 2);
    for (const c of ['KUBE-ROUTER-INPUT', 'KUBE-ROUTER-FORWARD', 'KUBE-ROUTER-OUTPUT']) assert.ok(chains.includes(c), c);
    for (const b of ['INPUT', 'FORWARD', 'OUTPUT']) assert.match((r.iptK.rules('filter', b) ?? [])[0] ?? '', /-j KUBE-ROUTER-/);
    const sets = r.ipsetK.names().filter((n) => n.startsWith('KUBE-SRC-'));
    assert.equal(sets.length, 1);
    assert.deepEqual(r.ipsetK.members(sets[0]), ['10.244.1.10']);
    const metrics = await r.registry.getMetricsAsJSON();
    const val = (n: string): number | undefined => metrics.find((m) => m.name === n)?.values[0]?.value;
    assert.ok((val('kube_router_controller_policy_chains') ?? 0) >= 7);
    assert.ok((val('kube_router_controller_policy_ipsets') ?? 0) >= 1);
    assert.ok((val('kube_router_controller_policy_rules') ?? 0) > 0);
    assert.ok(metrics.some((m) => m.name === 'kube_router_controller_iptables_sync_time'));
  });

  it('a no-op resync writes 0 restore lines and starts no restore', async () => {
    const r = await rig();
    r.cache.add('NetworkPolicy', mkPolicy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }));
    await r.ctl.sync();
    const ipt = r.iptK.restores.length;
    const ips = r.ipsetK.restores.length;
    await r.ctl.sync();
    assert.equal(r.ctl.lastReport?.result.lines, 0);
    assert.equal(r.iptK.restores.length, ipt);
    assert.equal(r.ipsetK.restores.length, ips);
  });

  it('a pod relabelled -> only its set membership changes, no chain is rewritten', async () => {
    const r = await rig();
    r.cache.add('NetworkPolicy', mkPolicy('x', 'allow-from-a', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }] }] }));
    await r.ctl.sync();
    const before = snapshot(r.iptK);
    const iptRestores = r.iptK.restores.length;
    const ipsRestores = r.ipsetK.restores.length;
    // x/c lives on node-2: relabelled to pod=a it joins the peer set only.
    r.cache.update('Pod', mkPod('x', 'c', '10.244.2.12', NODE2, { pod: 'a' }));
    await r.ctl.sync();
    assert.deepEqual(changedChains(before, snapshot(r.iptK)), []);
    assert.equal(r.iptK.restores.length, iptRestores);
    assert.equal(r.ipsetK.restores.length, ipsRestores + 1);
    const script = r.ipsetK.restores[r.ipsetK.restores.length - 1];
    assert.match(script, /^add KUBE-SRC-\S+ 10\.244\.2\.12/m);
    assert.equal(script.trim().split('\n').length, 1);
    assert.equal(r.ctl.lastReport?.full, false);
  });

  it('incremental syncs read nothing back and write only what changed; a full sync reads and repairs everything', async () => {
    const r = await rig();
    r.cache.add('NetworkPolicy', mkPolicy('x', 'allow-from-a', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }] }] }));
    await r.ctl.sync();
    const reads = (): number => r.iptK.saves + r.ipsetK.saves;
    // Nothing changed: no read, no write.
    let before = reads();
    await r.ctl.sync();
    assert.equal(reads(), before);
    // A remote pod relabelled into the peer set: one ipset restore of that member (no read back), iptables untouched.
    const ipt = { saves: r.iptK.saves, restores: r.iptK.restores.length };
    before = r.ipsetK.saves;
    const ipsetRestores = r.ipsetK.restores.length;
    r.cache.update('Pod', mkPod('x', 'c', '10.244.2.12', NODE2, { pod: 'a' }));
    await r.ctl.sync();
    assert.equal(r.ipsetK.saves, before);
    assert.equal(r.ipsetK.restores.length, ipsetRestores + 1);
    assert.match(r.ipsetK.restores[ipsetRestores], /^add KUBE-SRC-\S+ 10\.244\.2\.12\n$/);
    assert.deepEqual({ saves: r.iptK.saves, restores: r.iptK.restores.length }, ipt);
    const peer = r.ipsetK.names().find((n) => n.startsWith('KUBE-SRC-')) as string;
    assert.ok(r.ipsetK.members(peer)?.includes('10.244.2.12'));
    // Drift behind our back (a member removed by hand) is repaired by the next full sync, not by incremental ones.
    await r.ipsetK.restore(`del ${peer} 10.244.2.12\n`);
    await r.ctl.sync();
    assert.ok(!r.ipsetK.members(peer)?.includes('10.244.2.12'));
    await r.ctl.syncFull();
    assert.ok(r.ipsetK.members(peer)?.includes('10.244.2.12'));
    // The policy deleted: the pod chains go, written without reading iptables back.
    const iptSaves = r.iptK.saves;
    const iptRestores = r.iptK.restores.length;
    const podChains = (): string[] => r.iptK.chains('filter').filter((c) => c.startsWith('KUBE-POD-FW-'));
    const chainsBefore = podChains().length;
    const ipsetSaves = r.ipsetK.saves;
    r.cache.delete('NetworkPolicy', 'x/allow-from-a');
    await r.ctl.sync();
    assert.equal(r.iptK.saves, iptSaves);
    // Its peer set is destroyed without reading the sets back.
    assert.equal(r.ipsetK.saves, ipsetSaves);
    assert.ok(!r.ipsetK.names().includes(peer));
    assert.equal(r.iptK.restores.length, iptRestores + 1);
    assert.ok(podChains().length < chainsBefore);
  });

  it('a local pod relabelled out of a policy -> only its own chain and jumps change', async () => {
    const r = await rig();
    r.cache.add('NetworkPolicy', mkPolicy('x', 'deny-b', { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'] }));
    await r.ctl.sync();
    const before = snapshot(r.iptK);
    assert.equal(ours([...before.keys()], 'KUBE-POD-FW-').length, 1);
    r.cache.update('Pod', mkPod('x', 'b', '10.244.1.11', 'node-1', { pod: 'other' }));
    await r.ctl.sync();
    const after = snapshot(r.iptK);
    assert.equal(ours([...after.keys()], 'KUBE-POD-FW-').length, 0);
    const changed = changedChains(before, after);
    // The policy now selects no local pod: its chain lingers, unchanged and
    // jumped to by no pod chain (ready for the next pod it selects); no
    // policy chain is rewritten.
    assert.ok(changed.every((c) => c.startsWith('KUBE-POD-FW-') || /^KUBE-ROUTER-(FORWARD|OUTPUT|INPUT)$/.test(c)), changed.join(','));
    const policyChains = (m: Map<string, string>): string[] => ours([...m.keys()], 'KUBE-NWPLCY-').filter((c) => !/-(DEFAULT|COMMON|TAIL)$/.test(c));
    assert.deepEqual(policyChains(after), policyChains(before));
    assert.equal(policyChains(after).length, 1);
    assert.ok(![...after.values()].some((rules) => rules.includes(`-j ${policyChains(after)[0]}`)), 'no rule jumps to the lingering chain');
    const lingering = async (): Promise<number | undefined> => (await r.registry.getMetricsAsJSON()).find((m) => m.name === 'kube_router_controller_firewall_lingering_policies')?.values[0]?.value;
    assert.equal(await lingering(), 1);
    // Deleted, it leaves the kernel.
    r.cache.delete('NetworkPolicy', 'x/deny-b');
    await r.ctl.sync();
    assert.equal(policyChains(snapshot(r.iptK)).length, 0);
    assert.equal(await lingering(), 0);
  });

  it('a policy selecting no local pod writes no chain and no set until a local pod matches', async () => {
    const r = await rig();
    // x/c is on node-2 only: the policy compiles, but nothing of it reaches this node's kernel.
    r.cache.add('NetworkPolicy', mkPolicy('x', 'c-only', { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }));
    await r.ctl.sync();
    const policyChains = (): string[] => ours([...snapshot(r.iptK).keys()], 'KUBE-NWPLCY-').filter((c) => !/-(DEFAULT|COMMON|TAIL)$/.test(c));
    assert.equal(policyChains().length, 0);
    assert.equal(r.ipsetK.names().filter((n) => n.startsWith('KUBE-SRC-') || n.startsWith('KUBE-DST-')).length, 0);
    // x/a (node-1) relabelled pod=c: now selected, the chain and its peer set appear.
    r.cache.update('Pod', mkPod('x', 'a', '10.244.1.10', NODE1, { pod: 'c' }));
    await r.ctl.sync();
    assert.equal(policyChains().length, 1);
    assert.ok(r.ipsetK.names().some((n) => n.startsWith('KUBE-SRC-')));
  });

  it('a bad ipBlock -> an error naming the policy, logged once; that policy fails closed, others enforced', async () => {
    const r = await rig();
    r.cache.add('NetworkPolicy', mkPolicy('x', 'bad-block', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: 'not-a-cidr' } }] }] }));
    r.cache.add('NetworkPolicy', mkPolicy('y', 'allow-from-a', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }] }] }));
    await r.ctl.sync();
    const errs = r.ctl.lastReport?.errors ?? [];
    assert.equal(errs.length, 1);
    assert.match(errs[0].message, /NetworkPolicy x\/bad-block/);
    const logged = r.logs.filter((l) => l.level >= 50 && /bad-block/.test(`${l.object} ${l.msg}`));
    assert.equal(logged.length, 1);
    // Other policy enforced: its sets and chains are in the kernel.
    assert.deepEqual(r.ipsetK.members(r.ipsetK.names().find((n) => n.startsWith('KUBE-SRC-')) as string), ['10.244.1.13']);
    // The bad policy still selects x/a (fail closed): x/a has a pod chain.
    assert.ok(ours(r.iptK.chains('filter'), 'KUBE-POD-FW-').length >= 3);
    // Unchanged errors are not logged again.
    r.cache.add('NetworkPolicy', mkPolicy('z', 'other', { podSelector: {} }));
    await r.ctl.sync();
    assert.equal(r.logs.filter((l) => l.level >= 50 && /bad-block/.test(`${l.object} ${l.msg}`)).length, 1);
  });

  it('a failed iptables apply keeps the previous rules and is retried', async () => {
    let fail = false;
    const r = await rig({}, (k) => {
      const real = k.iptables.ipv4 as Iptables;
      const flaky: Iptables = {
        family: 'ipv4',
        read: (t, o, a) => real.read(t, o, a),
        apply: async (d, o) => {
          if (fail) throw new IptablesRestoreError('iptables-restore', 'iptables-restore: line 3 failed\nError occurred at line: 3\n', ['x']);
          return real.apply(d, o);
        },
      };
      return { ipset: k.ipset, iptables: { ipv4: flaky } };
    });
    r.cache.add('NetworkPolicy', mkPolicy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }));
    await r.ctl.sync();
    const before = snapshot(r.iptK);
    fail = true;
    r.cache.add('NetworkPolicy', mkPolicy('y', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }));
    await assert.rejects(r.ctl.sync());
    assert.deepEqual(changedChains(before, snapshot(r.iptK)), []);
    fail = false;
    await r.ctl.sync();
    assert.ok(changedChains(before, snapshot(r.iptK)).length > 0);
  });

  it('cleanup removes our chains, jumps and sets and leaves a user chain and rule', async () => {
    const r = await rig();
    await r.iptK.restore('*filter\n:USER-CHAIN - [0:0]\n-A USER-CHAIN -j ACCEPT\n-A FORWARD -j USER-CHAIN\nCOMMIT\n');
    await r.ipsetK.restore('create user-set hash:ip family inet\n');
    r.cache.add('NetworkPolicy', mkPolicy('x', 'allow-from-a', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }] }] }));
    await r.ctl.sync();
    assert.ok(r.iptK.chains('filter').some((c) => c.startsWith('KUBE-')));
    await r.ctl.cleanup();
    assert.deepEqual(r.iptK.chains('filter').filter((c) => c.startsWith('KUBE-')), []);
    assert.deepEqual(r.iptK.chains('filter').sort(), ['FORWARD', 'INPUT', 'OUTPUT', 'USER-CHAIN']);
    assert.deepEqual(r.iptK.rules('filter', 'FORWARD'), ['-j USER-CHAIN']);
    assert.deepEqual(r.ipsetK.names(), ['user-set']);
  });

  it('start(): events drive syncs through the runner; stop() touches nothing', async () => {
    const r = await rig({ netpolDefaultDeny: true }, undefined, { realClock: true });
    await r.ctl.start();
    const until = async (cond: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((res) => setTimeout(res, 5));
      assert.ok(cond());
    };
    await until(() => r.ipsetK.names().includes('kube-router-local-pods'));
    r.cache.add('NetworkPolicy', mkPolicy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }));
    await until(() => r.iptK.chains('filter').some((c) => c.startsWith('KUBE-POD-FW-')));
    assert.deepEqual(r.ipsetK.members('kube-router-local-pods'), ['10.244.1.10', '10.244.1.11', '10.244.1.13', '10.244.1.14', '10.244.1.16', '10.244.1.17']);
    const h = r.ctl.health();
    assert.equal(h.name, 'firewall');
    assert.ok(h.lastSyncAt !== undefined);
    const before = snapshot(r.iptK);
    await r.ctl.stop();
    r.cache.delete('NetworkPolicy', 'x/deny');
    await new Promise((res) => setTimeout(res, 30));
    assert.deepEqual(changedChains(before, snapshot(r.iptK)), []);
  });

  it('a stale set the kernel still holds when its policy goes is destroyed by a follow-up sync, without another event', async () => {
    const r = await rig({}, undefined, { realClock: true, pendingRetryMs: 20 });
    await r.ctl.start();
    const until = async (cond: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((res) => setTimeout(res, 5));
      assert.ok(cond());
    };
    await until(() => r.ctl.lastReport !== undefined);
    r.cache.add('NetworkPolicy', mkPolicy('x', 'from-y', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y' } } }] }] }));
    await until(() => r.ipsetK.names().some((n) => n.startsWith('KUBE-SRC-')));
    const set = r.ipsetK.names().find((n) => n.startsWith('KUBE-SRC-')) as string;
    // nf_tables frees the set after the commit that deleted its last rule: held a moment longer here.
    r.ipsetK.reference(set);
    r.cache.delete('NetworkPolicy', 'x/from-y');
    await until(() => r.ctl.lastReport?.result.pendingSets.some((p) => p.set.name === set) === true);
    assert.ok(!r.iptK.chains('filter').some((c) => c.startsWith('KUBE-POD-FW-')), 'the chains went in that sync');
    r.ipsetK.unreference(set);
    await until(() => !r.ipsetK.names().includes(set));
    assert.equal(r.ctl.lastReport?.full, false, 'retried incrementally');
    assert.deepEqual(r.logs.filter((l) => l.level >= 40 && l.msg.includes(set)), [], 'a set only late is not a warning');
    await r.ctl.stop();
  });
});
