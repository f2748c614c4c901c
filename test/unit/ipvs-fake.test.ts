// The IPVS contract suite against the in-memory fake, plus the fake's own
// test hooks (mutation count, call log, counters).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeIpvs } from '../../src/kernel/ipvs/fake.js';
import { ipvsDestination, ipvsService } from '../../src/kernel/ipvs/types.js';
import { ipvsContractCases } from '../lab-kernel/ipvs-contract-cases.js';

describe('IPVS contract: FakeIpvs', () => {
  for (const c of ipvsContractCases) {
    test(c.name, () => c.run(new FakeIpvs()));
  }
});

describe('FakeIpvs hooks', () => {
  const svc = ipvsService({ protocol: 'TCP', address: '10.96.0.1', port: 443 });
  const dst = ipvsDestination({ address: '192.168.56.11', port: 6443 });

  test('counts successful mutations only and logs calls', async () => {
    const f = new FakeIpvs();
    await f.addService(svc);
    await f.addDestination(svc, dst);
    await assert.rejects(f.addService(svc));
    await f.listAll();
    assert.equal(f.mutations, 2);
    assert.deepEqual(f.calls, [
      'IPVS_CMD_NEW_SERVICE TCP 10.96.0.1:443',
      'IPVS_CMD_NEW_DEST TCP 10.96.0.1:443 -> 192.168.56.11:6443',
      'IPVS_CMD_NEW_SERVICE TCP 10.96.0.1:443',
      'IPVS_CMD_GET_SERVICE',
      'IPVS_CMD_GET_DEST TCP 10.96.0.1:443',
    ]);
  });

  test('setCounters shows up in listings, and listings are copies', async () => {
    const f = new FakeIpvs();
    await f.addService(svc);
    await f.addDestination(svc, dst);
    f.setCounters(svc, undefined, { conns: 5, inBytes: 1000 });
    f.setCounters(svc, dst, { activeConns: 2, inactConns: 1, inPkts: 7 });
    const [s] = await f.listServices();
    assert.equal(s.stats.conns, 5);
    assert.equal(s.stats.inBytes, 1000);
    s.stats.conns = 99;
    const [d] = await f.listDestinations(svc);
    assert.equal(d.activeConns, 2);
    assert.equal(d.inactConns, 1);
    assert.equal(d.stats.inPkts, 7);
    assert.equal((await f.listServices())[0].stats.conns, 5);
  });
});

