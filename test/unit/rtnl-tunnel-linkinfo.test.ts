// The IFLA_LINKINFO the agent sends for its overlay tunnels: ipip for IPv4
// next hops, ip6tnl in ip6ip6 mode (16-byte endpoints, proto 41) for IPv6
// ones; an endpoint of the wrong family is refused, never cut to 4 bytes
// (the lab showed `ipip remote 253.0.0.86`, fd00:56:: truncated, before).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeRtnl } from '../../src/kernel/rtnl/fake.js';
import { parseIp6tnlLinkInfo, parseIpipLinkInfo, tunnelLinkInfo } from '../../src/kernel/rtnl/messages.js';

test('ip6ip6: kind ip6tnl with both IPv6 endpoints and proto IPv6', () => {
  const info = parseIp6tnlLinkInfo(tunnelLinkInfo({ mode: 'ip6ip6', local: 'fd00:56::11', remote: 'fd00:57::13' }));
  assert.deepEqual(info, { kind: 'ip6tnl', local: 'fd00:56::11', remote: 'fd00:57::13', proto: 41 });
});

test('ipip (the default mode): IPv4 endpoints as before', () => {
  const info = parseIpipLinkInfo(tunnelLinkInfo({ local: '192.168.56.11', remote: '192.168.57.13' }));
  assert.equal(info.local, '192.168.56.11');
  assert.equal(info.remote, '192.168.57.13');
});

test('an endpoint of the wrong family is an error naming it', () => {
  assert.throws(() => tunnelLinkInfo({ mode: 'ipip', local: 'fd00:56::11', remote: '192.168.57.13' }), /ipip tunnel endpoint 'fd00:56::11' is not an IPv4 address/);
  assert.throws(() => tunnelLinkInfo({ mode: 'ip6ip6', local: 'fd00:56::11', remote: '192.168.57.13' }), /ip6ip6 tunnel remote '192\.168\.57\.13' is not an IPv6 address/);
});

test('the fake refuses the same endpoints', async () => {
  const rtnl = new FakeRtnl();
  await assert.rejects(rtnl.ensureTunnel('tun-x', { mode: 'ipip', local: 'fd00:56::11', remote: '192.168.57.13' }), /is not an IPv4 address/);
  assert.equal((await rtnl.ensureTunnel('tun-y', { mode: 'ip6ip6', local: 'fd00:56::11', remote: 'fd00:57::13' })).kind, 'ip6tnl');
});
