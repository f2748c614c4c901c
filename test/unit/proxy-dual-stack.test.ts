// The service proxy with --enable-ipv6: a dual-stack Service gives IPVS
// services in both families, both VIPs on kube-dummy-if, the inet6: twins of
// kube-router's sets, and the ip6tables filter and nat rules; with IPv6 off
// the IPv6 half is left out. Over the fakes (same interfaces as the kernel
// implementations); the lab runs the IPv6 path on the real kernel.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { desiredFilter, desiredIpsets, desiredNat } from '../../src/controllers/proxy/reconcile-tables.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { createFakeIptables } from '../../src/kernel/iptables/fake.js';
import { ep, NODE_IP6, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, ipvsDump, newController, nodeObject } from './proxy-controller-helpers.js';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import { ctx } from './proxy-fixtures.js';

function dualService() {
  return svc({
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10', 'fd00:96::10'],
    spec: { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' },
  });
}

const SLICES = [
  slice({ name: 'web-v4', endpoints: [ep('10.244.1.5')] }),
  slice({ name: 'web-v6', addressType: 'IPv6', endpoints: [ep('fd00:244:1::5')] }),
];

function setup(enableIpv6: boolean) {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  const node = nodeObject();
  node.spec.podCIDRs = ['10.244.1.0/24', 'fd00:244:1::/64'];
  node.status = { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'InternalIP', address: NODE_IP6 }] };
  cache.add('Node', node);
  cache.add('Service', dualService());
  for (const s of SLICES) cache.add('EndpointSlice', s);
  const k = fakeKernels();
  const { iptables: iptables6, kernel: iptables6Kernel } = createFakeIptables({ family: 'ipv6' });
  if (enableIpv6) Object.assign(k.kernel, { iptables6, iptablesDriver6: iptables6Kernel });
  const c = newController(cache, k, { enableIpv6, serviceClusterIpRange: ['10.96.0.0/12', 'fd00:96::/112'] });
  return { c, k, iptables6Kernel };
}

test('dual-stack Service with --enable-ipv6: IPVS, VIPs, inet6: sets and ip6tables rules in both families', async () => {
  const { c, k, iptables6Kernel } = setup(true);
  await c.sync();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080', 'TCP [fd00:96::10]:80 rr -> [fd00:244:1::5]:8080']);
  const addrs = (await k.rtnl.listAddresses('kube-dummy-if')).map((a) => `${a.address}/${a.prefixLen}`).sort();
  assert.deepEqual(addrs, ['10.96.0.10/32', 'fd00:96::10/128']);
  assert.deepEqual([...(k.ipsetKernel.members('kube-router-svip') ?? [])], ['10.96.0.10']);
  assert.deepEqual([...(k.ipsetKernel.members('inet6:kube-router-svip') ?? [])], ['fd00:96::10']);
  assert.deepEqual([...(k.ipsetKernel.members('inet6:kube-router-svip-prt') ?? [])], ['fd00:96::10,tcp:80']);
  const f6 = iptables6Kernel.rules('filter', 'KUBE-ROUTER-SERVICES') ?? [];
  assert.ok(f6.some((r) => r.includes('--match-set inet6:kube-router-svip-prt dst,dst -j ACCEPT')), f6.join('\n'));
  assert.ok(f6.some((r) => r.includes('--reject-with icmp6-port-unreachable')), f6.join('\n'));
  const nat6 = iptables6Kernel.rules('nat', 'POSTROUTING') ?? [];
  assert.ok(nat6.some((r) => r.includes('--vmethod MASQ ! -s fd00:244:1::/64 ! -d fd00:244:1::/64') && r.includes(`--to-source ${NODE_IP6}`)), nat6.join('\n'));
  // The IPv4 tables keep IPv4 only.
  const f4 = k.iptablesKernel.rules('filter', 'KUBE-ROUTER-SERVICES') ?? [];
  assert.ok(f4.every((r) => !r.includes('inet6:')), f4.join('\n'));
  // A second sync changes nothing.
  await c.sync();
  assert.equal(c.lastMutations, 0);
});

test('dual-stack Service without --enable-ipv6: the IPv6 half is left out everywhere', async () => {
  const { c, k } = setup(false);
  await c.sync();
  assert.deepEqual(await ipvsDump(k.ipvs), ['TCP 10.96.0.10:80 rr -> 10.244.1.5:8080']);
  assert.deepEqual((await k.rtnl.listAddresses('kube-dummy-if')).map((a) => a.address), ['10.96.0.10']);
  assert.equal(k.ipsetKernel.members('inet6:kube-router-svip'), undefined);
});

test('IPv6 tables: inet6: set names and types, ICMPv6 accepts, /128 hairpin', () => {
  const c = compileService(
    svc({ clusterIP: 'fd00:96::10', clusterIPs: ['fd00:96::10'], annotations: { 'kube-router.io/service.hairpin': '' }, spec: { ipFamilies: ['IPv6'] } }),
    [slice({ addressType: 'IPv6', endpoints: [ep('fd00:244:1::5')] })],
    ctx(),
  );
  const input = { family: 'IPv6' as const, services: [c], localIPs: ['192.168.1.10', NODE_IP6], nodeIP: NODE_IP6, podCidr: 'fd00:244:1::/64', masqueradeAll: false, permitAll: true };
  const sets = desiredIpsets(input);
  assert.deepEqual(sets.map((s) => `${s.name} ${s.type} ${s.family}`), [
    'inet6:kube-router-svip hash:ip inet6',
    'inet6:kube-router-svip-prt hash:ip,port inet6',
    'inet6:kube-router-local-ips hash:ip inet6',
    'inet6:kube-router-lb-fw hash:ip,port inet6',
    'inet6:kube-router-lb-src-net hash:ip,port,net inet6',
    'inet6:kube-router-lb-src-ip hash:ip,port,ip inet6',
  ]);
  assert.deepEqual([...sets[2].entries], [NODE_IP6]);
  const f = desiredFilter(input);
  assert.deepEqual(f.chains.get('KUBE-ROUTER-SERVICES')?.slice(1, 5), [
    '-p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT',
    '-p ipv6-icmp -m icmp6 --icmpv6-type destination-unreachable -j ACCEPT',
    '-p ipv6-icmp -m icmp6 --icmpv6-type time-exceeded -j ACCEPT',
    '-p ipv6-icmp -m icmp6 --icmpv6-type packet-too-big -j ACCEPT',
  ]);
  assert.equal(f.jumps[0].rule, '-m set --match-set inet6:kube-router-svip dst -j KUBE-ROUTER-SERVICES');
  assert.deepEqual(desiredNat(input).chains.get('KUBE-ROUTER-HAIRPIN'), [
    '-s fd00:244:1::5/128 -d fd00:244:1::5/128 -m ipvs --vaddr fd00:96::10/128 --vport 80 -j SNAT --to-source fd00:96::10',
  ]);
});
