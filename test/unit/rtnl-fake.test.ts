// The Rtnl contract suite against FakeRtnl (dummy/ipip cases included: the
// fake has every link kind), plus the pure helpers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeRtnl } from '../../src/kernel/rtnl/fake.js';
import { canonicalAddr, addrToInetUnion, bytesToAddr, compareAddr } from '../../src/kernel/rtnl/inet.js';
import { parsePrefix, planAddressSync } from '../../src/kernel/rtnl/types.js';
import { rtnlContractCases } from '../lab-kernel/rtnl-contract-cases.js';

describe('Rtnl contract: FakeRtnl', () => {
  for (const c of rtnlContractCases) {
    test(c.name, () => {
      const rtnl = new FakeRtnl();
      rtnl.addLink('kr-test0', 'veth');
      return c.run({ rtnl, link: 'kr-test0', virtualLinks: true });
    });
  }

  test('deleting a link drops its addresses and routes; mutations are counted', async () => {
    const f = new FakeRtnl();
    await f.ensureDummyLink('kube-dummy-if');
    await f.addAddress('kube-dummy-if', { address: '10.96.0.1', prefixLen: 32, scope: 253 });
    await f.addRoute({ dst: '10.96.0.0/12', oif: 'kube-dummy-if' });
    const before = f.mutations;
    await f.ensureDummyLink('kube-dummy-if');
    assert.equal(f.mutations, before, 'ensure on an existing up link changes nothing');
    await f.deleteLink('kube-dummy-if');
    assert.deepEqual(await f.listRoutes({ family: 2 }), []);
    await f.ensureDummyLink('kube-dummy-if');
    assert.deepEqual(await f.listAddresses('kube-dummy-if'), []);
  });
});

describe('rtnl helpers', () => {
  test('addresses canonicalised and converted', () => {
    assert.equal(canonicalAddr('FD00:0:0::0:1'), 'fd00::1');
    assert.equal(canonicalAddr('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalAddr('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.deepEqual(addrToInetUnion('10.96.0.10'), Buffer.from([10, 96, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert.equal(bytesToAddr(addrToInetUnion('fd00::a'), 10), 'fd00::a');
    assert.throws(() => canonicalAddr('10.0.0.256'), /not an IP address/);
    assert.ok(compareAddr('10.0.0.2', '10.0.0.10') < 0);
    assert.ok(compareAddr('10.0.0.2', 'fd00::1') < 0);
  });

  test('prefixes', () => {
    assert.deepEqual(parsePrefix('10.244.0.0/16'), { address: '10.244.0.0', len: 16 });
    assert.deepEqual(parsePrefix('fd00::1'), { address: 'fd00::1', len: 128 });
    assert.throws(() => parsePrefix('10.0.0.0/33'), /bad prefix/);
  });

  test('planAddressSync never removes IPv6 link-local addresses', () => {
    const p = planAddressSync(
      [{ address: 'fe80::1', prefixLen: 64, scope: 253 }, { address: '10.0.0.1', prefixLen: 32, scope: 253 }],
      [{ address: '10.0.0.2', prefixLen: 32, scope: 253 }],
    );
    assert.deepEqual(p.add.map((a) => a.address), ['10.0.0.2']);
    assert.deepEqual(p.remove.map((a) => a.address), ['10.0.0.1']);
  });
});
