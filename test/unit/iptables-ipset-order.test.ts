// The apply order the controllers follow, on the linked fakes: ipset creates
// and updates, then iptables, then ipset destroys. Out of order, the kernel
// (and the fakes) refuse.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIpsetKernel } from '../../src/kernel/ipset/fake.js';
import { IpsetReconciler } from '../../src/kernel/ipset/reconciler.js';
import { FakeIptablesKernel } from '../../src/kernel/iptables/fake.js';
import { linkFakeKernels } from '../../src/kernel/iptables/fake-link.js';
import { IptablesRestoreError } from '../../src/kernel/iptables/errors.js';
import { IptablesReconciler } from '../../src/kernel/iptables/reconciler.js';
import type { IptablesDesired } from '../../src/kernel/iptables/types.js';
import { AsyncMutex } from '../../src/kernel/lock.js';
import { set } from './ipset.contract.js';
import { AppliedMemo } from '../../src/controllers/firewall/applied-memo.js';
import { applyFirewall } from '../../src/controllers/firewall/reconcile.js';
import type { FirewallDesired } from '../../src/controllers/firewall/model.js';

describe('ipset + iptables apply order (linked fakes)', () => {
  const owned = (n: string): boolean => n.startsWith('KUBE-') || n.startsWith('kube-router-');
  const rules = (setName: string): IptablesDesired => ({
    table: 'filter',
    chains: new Map([['KUBE-NWPLCY-X', [`-m set --match-set ${setName} src -j ACCEPT`]]]),
    jumps: [{ fromChain: 'FORWARD', rule: '-j KUBE-NWPLCY-X', position: 'first', comment: 'x' }],
  });

  it('a rule needs its set; a referenced set is kept until the rule is gone', async () => {
    const ipsetK = new FakeIpsetKernel();
    const iptK = new FakeIptablesKernel();
    linkFakeKernels(ipsetK, iptK);
    const lock = new AsyncMutex();
    const ipset = new IpsetReconciler(ipsetK, lock);
    const ipt = new IptablesReconciler(iptK, lock);

    await assert.rejects(ipt.apply(rules('KUBE-SRC-A'), { owned }), (e: unknown) => e instanceof IptablesRestoreError && /KUBE-SRC-A/.test(e.reason));

    await ipset.applyCreatesAndUpdates([set('KUBE-SRC-A', 'hash:ip', ['10.0.0.1'])]);
    await ipt.apply(rules('KUBE-SRC-A'), { owned });

    // Policy changes: the rule now uses KUBE-SRC-B. Destroying A too early fails and is reported.
    await ipset.applyCreatesAndUpdates([set('KUBE-SRC-B', 'hash:ip', ['10.0.0.2'])]);
    const early = await ipset.destroyStale(['KUBE-SRC-B'], { owned });
    assert.deepEqual(early.kept.map((k) => k.name), ['KUBE-SRC-A']);
    await ipt.apply(rules('KUBE-SRC-B'), { owned });
    const late = await ipset.destroyStale(['KUBE-SRC-B'], { owned });
    assert.deepEqual(late.destroyed, ['KUBE-SRC-A']);
    assert.deepEqual(ipsetK.names(), ['KUBE-SRC-B']);
  });

  it('a stale set the kernel still holds right after its last rule went is retried by the next incremental sync, which stays incremental', async () => {
    const ipsetK = new FakeIpsetKernel();
    const iptK = new FakeIptablesKernel();
    linkFakeKernels(ipsetK, iptK);
    const lock = new AsyncMutex();
    const kernel = { ipset: new IpsetReconciler(ipsetK, lock), iptables: { ipv4: new IptablesReconciler(iptK, lock) } };
    const memo = new AppliedMemo();
    const desired = (withPolicy: boolean): FirewallDesired => ({
      iptables: { ipv4: withPolicy ? rules('KUBE-SRC-A') : { table: 'filter', chains: new Map(), jumps: rules('KUBE-SRC-A').jumps.slice(0, 0) } },
      ipsets: withPolicy ? [set('KUBE-SRC-A', 'hash:ip', ['10.0.0.1'])] : [],
      localPods: [],
      errors: [],
      warnings: [],
    });
    await applyFirewall(kernel, desired(true), { memo });
    assert.equal(memo.valid, true);
    // The policy goes; nf_tables releases the set only after the commit (here: a reference held a moment longer).
    ipsetK.reference('KUBE-SRC-A');
    const second = await applyFirewall(kernel, desired(false), { memo });
    assert.deepEqual(second.kept, []);
    assert.deepEqual(
      second.pendingSets.map((p) => `set ${p.set.name}: ${p.reason}`),
      ['set KUBE-SRC-A: Set cannot be destroyed: it is in use by a kernel component'],
    );
    assert.equal(memo.valid, true, 'no full reconcile for a set that is only late');
    assert.deepEqual([...memo.pendingStale.keys()], ['KUBE-SRC-A']);
    ipsetK.unreference('KUBE-SRC-A');
    const third = await applyFirewall(kernel, desired(false), { memo });
    assert.deepEqual(third.destroyedSets, ['KUBE-SRC-A']);
    assert.deepEqual(ipsetK.names(), []);
    assert.equal(memo.pendingStale.size, 0);
    assert.equal(memo.valid, true);
  });
});
