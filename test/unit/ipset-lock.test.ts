// The process-wide lock: FIFO, exclusive, released on errors; and the ipset
// reconciler really serialises through it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncMutex } from '../../src/kernel/lock.js';
import { FakeIpsetKernel } from '../../src/kernel/ipset/fake.js';
import { IpsetReconciler } from '../../src/kernel/ipset/reconciler.js';
import type { IpsetDriver } from '../../src/kernel/ipset/types.js';
import { set } from './ipset.contract.js';

describe('AsyncMutex', () => {
  it('runs callers one at a time, in order, and survives a throwing caller', async () => {
    const m = new AsyncMutex();
    const log: string[] = [];
    let inside = 0;
    const job = (name: string, ms: number, fail = false) =>
      m.runExclusive(async () => {
        inside++;
        assert.equal(inside, 1);
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        inside--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a', 20), job('b', 1, true), job('c', 5)]);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    assert.equal(results[1].status, 'rejected');
    assert.deepEqual((results[2] as PromiseFulfilledResult<string>).value, 'c');
    assert.equal(m.locked, false);
  });

  it('serialises concurrent ipset applies (save and restore of one never interleave with another)', async () => {
    const kernel = new FakeIpsetKernel();
    const events: string[] = [];
    const slow: IpsetDriver = {
      save: async () => {
        events.push('save');
        await new Promise((r) => setTimeout(r, 5));
        return kernel.save();
      },
      restore: async (s) => {
        events.push('restore');
        return kernel.restore(s);
      },
    };
    const lock = new AsyncMutex();
    const a = new IpsetReconciler(slow, lock);
    const b = new IpsetReconciler(slow, lock);
    await Promise.all([
      a.applyCreatesAndUpdates([set('kube-router-a', 'hash:ip', ['10.0.0.1'])]),
      b.applyCreatesAndUpdates([set('kube-router-b', 'hash:ip', ['10.0.0.2'])]),
    ]);
    assert.deepEqual(events, ['save', 'restore', 'save', 'restore']);
    assert.deepEqual(kernel.names(), ['kube-router-a', 'kube-router-b']);
  });
});
