// spec.loadBalancerSourceRanges: which sources reach a LoadBalancer IP.
// The compiled ipset members are read back through a small evaluator of the
// one fixed rule (drop a packet to a restricted LB IP:port whose source is in
// neither allow set), so the tests state who is admitted, not set layouts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileService } from '../../src/controllers/proxy/compile-service.js';
import {
  IPSET_LB_FW,
  IPSET_LB_SRC_IP,
  IPSET_LB_SRC_NET,
  type CompiledService,
  type ServiceIpsetEntries as IpsetEntries,
} from '../../src/controllers/proxy/model.js';
import { desiredFilter, desiredIpsets, SOURCE_RANGES_RULE } from '../../src/controllers/proxy/reconcile-tables.js';
import { inAnyCidr, parseCidr } from '../../src/controllers/proxy/validate-ip.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import { ctx, ep, NODE_IP, slice, svc } from './proxy-fixtures.js';
import { fakeKernels, newController, nodeObject } from './proxy-controller-helpers.js';

const LB_IP = '198.51.100.7';

function lbSvc(ranges: string[] | undefined, over: { ports?: { name: string; protocol: 'TCP' | 'UDP'; port: number; targetPort: number }[]; type?: 'LoadBalancer' | 'ClusterIP'; ingress?: string[] } = {}) {
  return svc({
    type: over.type ?? 'LoadBalancer',
    ports: over.ports ?? [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    spec: ranges === undefined ? {} : { loadBalancerSourceRanges: ranges },
    status: { loadBalancer: { ingress: (over.ingress ?? [LB_IP]).map((ip) => ({ ip })) } },
  });
}

/** Whether the source-range rule lets a packet from `src` to `dst` proto:port through. */
function admitted(e: IpsetEntries, src: string, dst: string, port: number, proto = 'tcp'): boolean {
  const pair = `${dst},${proto}:${port}`;
  if (!e[IPSET_LB_FW].inet.includes(pair)) return true;
  const nets = e[IPSET_LB_SRC_NET].inet
    .filter((m) => m.startsWith(`${pair},`))
    .map((m) => m.slice(pair.length + 1))
    .map((n) => parseCidr(n.includes('/') ? n : `${n}/32`))
    .filter((c) => c !== undefined);
  if (inAnyCidr(src, nets)) return true;
  return e[IPSET_LB_SRC_IP].inet.includes(`${pair},${src}`);
}

function compile(s: ReturnType<typeof lbSvc>): CompiledService {
  return compileService(s, [slice({ endpoints: [ep('10.244.1.5')] })], ctx());
}

test('only the listed source ranges reach the LoadBalancer IP', () => {
  const c = compile(lbSvc(['10.0.0.0/8', '203.0.113.0/24']));
  assert.deepEqual(c.warnings, []);
  assert.equal(admitted(c.ipsetEntries, '10.1.2.3', LB_IP, 80), true);
  assert.equal(admitted(c.ipsetEntries, '203.0.113.9', LB_IP, 80), true);
  assert.equal(admitted(c.ipsetEntries, '192.0.2.1', LB_IP, 80), false);
  assert.equal(admitted(c.ipsetEntries, '172.16.0.1', LB_IP, 80), false);
  // The ClusterIP and the NodePort are not restricted (kube-proxy restricts LB IPs only).
  assert.equal(admitted(c.ipsetEntries, '192.0.2.1', '10.96.0.10', 80), true);
});

test('no ranges: the LoadBalancer IP is open to every source and no member is written', () => {
  for (const ranges of [undefined, []]) {
    const c = compile(lbSvc(ranges));
    assert.equal(admitted(c.ipsetEntries, '192.0.2.1', LB_IP, 80), true);
    for (const set of [IPSET_LB_FW, IPSET_LB_SRC_NET, IPSET_LB_SRC_IP] as const) assert.deepEqual(c.ipsetEntries[set].inet, []);
  }
});

test('a range holding the node IP also admits the node itself (source = the LB IP); otherwise not', () => {
  const withNode = compile(lbSvc(['192.168.1.0/24']));
  assert.equal(admitted(withNode.ipsetEntries, NODE_IP, LB_IP, 80), true);
  assert.equal(admitted(withNode.ipsetEntries, LB_IP, LB_IP, 80), true);
  const without = compile(lbSvc(['10.0.0.0/8']));
  assert.equal(admitted(without.ipsetEntries, NODE_IP, LB_IP, 80), false);
  assert.equal(admitted(without.ipsetEntries, LB_IP, LB_IP, 80), false);
});

test('every port and protocol of the Service is restricted; entries are canonical (masked, /32 as address, trimmed)', () => {
  const c = compile(
    lbSvc([' 10.1.2.3/8 ', '192.0.2.5/32'], {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
      ],
    }),
  );
  assert.deepEqual(c.warnings, []);
  assert.deepEqual(c.ipsetEntries[IPSET_LB_FW].inet, [`${LB_IP},tcp:80`, `${LB_IP},udp:53`]);
  assert.deepEqual(c.ipsetEntries[IPSET_LB_SRC_NET].inet, [
    `${LB_IP},tcp:80,10.0.0.0/8`,
    `${LB_IP},tcp:80,192.0.2.5`,
    `${LB_IP},udp:53,10.0.0.0/8`,
    `${LB_IP},udp:53,192.0.2.5`,
  ]);
  assert.equal(admitted(c.ipsetEntries, '192.0.2.5', LB_IP, 53, 'udp'), true);
  assert.equal(admitted(c.ipsetEntries, '192.0.2.6', LB_IP, 53, 'udp'), false);
});

test('0.0.0.0/0 is written as two /1 halves (hash:ip,port,net refuses /0) and admits everyone', () => {
  const c = compile(lbSvc(['0.0.0.0/0']));
  assert.deepEqual(c.ipsetEntries[IPSET_LB_SRC_NET].inet, [`${LB_IP},tcp:80,0.0.0.0/1`, `${LB_IP},tcp:80,128.0.0.0/1`]);
  for (const src of ['1.2.3.4', '200.1.1.1', NODE_IP]) assert.equal(admitted(c.ipsetEntries, src, LB_IP, 80), true);
  // The node IP is inside /0: the node itself is admitted too.
  assert.equal(admitted(c.ipsetEntries, LB_IP, LB_IP, 80), true);
});

test('a bad range is a warning naming the Service and spec.loadBalancerSourceRanges[i]; the others are served', () => {
  const c = compile(lbSvc(['10.0.0.0/8', 'not-a-cidr', '10.0.0.300/8', '192.0.2.0/24']));
  assert.deepEqual(
    c.warnings.map((w) => `${w.context.object} ${w.context.field} ${w.context.value}`),
    ['Service default/web spec.loadBalancerSourceRanges[1] not-a-cidr', 'Service default/web spec.loadBalancerSourceRanges[2] 10.0.0.300/8'],
  );
  assert.equal(admitted(c.ipsetEntries, '10.9.9.9', LB_IP, 80), true);
  assert.equal(admitted(c.ipsetEntries, '192.0.2.77', LB_IP, 80), true);
  assert.equal(admitted(c.ipsetEntries, '172.16.0.1', LB_IP, 80), false);
});

test('ranges with no usable entry of the LB IP family refuse every source (fail closed) and say so', () => {
  for (const ranges of [['bogus'], ['2001:db8::/32']]) {
    const c = compile(lbSvc(ranges));
    assert.equal(admitted(c.ipsetEntries, '10.1.2.3', LB_IP, 80), false);
    assert.equal(admitted(c.ipsetEntries, NODE_IP, LB_IP, 80), false);
    assert.ok(c.warnings.some((w) => w.context.field === 'spec.loadBalancerSourceRanges' && /every source is refused/.test(w.message)), JSON.stringify(c.warnings));
  }
});

test('only LoadBalancer Services with ingress IPs are restricted; a ClusterIP Service with the field is left alone', () => {
  const cip = compile(lbSvc(['bogus'], { type: 'ClusterIP' }));
  assert.deepEqual(cip.warnings, []);
  assert.deepEqual(cip.ipsetEntries[IPSET_LB_FW].inet, []);
  const noIngress = compile(lbSvc(['10.0.0.0/8'], { ingress: [] }));
  assert.deepEqual(noIngress.ipsetEntries[IPSET_LB_FW].inet, []);
  // Two ingress IPs: both restricted.
  const two = compile(lbSvc(['10.0.0.0/8'], { ingress: [LB_IP, '198.51.100.8'] }));
  assert.equal(admitted(two.ipsetEntries, '192.0.2.1', '198.51.100.8', 80), false);
  assert.equal(admitted(two.ipsetEntries, '10.0.0.1', '198.51.100.8', 80), true);
});

test('a change of the ranges changes the compiled state (so the sets are rewritten)', () => {
  const a = compile(lbSvc(['10.0.0.0/8']));
  const b = compile(lbSvc(['10.0.0.0/16']));
  assert.notDeepEqual(a.ipsetEntries, b.ipsetEntries);
});

test('desired sets: the three source-range sets are always present with their types; the drop rule comes first in KUBE-ROUTER-SERVICES', () => {
  const c = compile(lbSvc(['10.0.0.0/8']));
  const sets = desiredIpsets({ services: [c], localIPs: [NODE_IP], nodeIP: NODE_IP, podCidr: '', masqueradeAll: false, permitAll: true });
  const byName = new Map(sets.map((s) => [s.name, s]));
  assert.equal(byName.get(IPSET_LB_FW)?.type, 'hash:ip,port');
  assert.equal(byName.get(IPSET_LB_SRC_NET)?.type, 'hash:ip,port,net');
  assert.equal(byName.get(IPSET_LB_SRC_IP)?.type, 'hash:ip,port,ip');
  assert.deepEqual([...(byName.get(IPSET_LB_SRC_NET)?.entries ?? [])], [`${LB_IP},tcp:80,10.0.0.0/8`]);
  const empty = desiredIpsets({ services: [], localIPs: [], nodeIP: '', podCidr: '', masqueradeAll: false, permitAll: true });
  assert.ok([IPSET_LB_FW, IPSET_LB_SRC_NET, IPSET_LB_SRC_IP].every((n) => empty.some((s) => s.name === n && s.entries.size === 0)));
  for (const permitAll of [true, false]) {
    assert.equal(desiredFilter({ permitAll }).chains.get('KUBE-ROUTER-SERVICES')?.[0], SOURCE_RANGES_RULE);
  }
});

test('controller: the kernel gets the sets and the rule; --cleanup-config removes them', async () => {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  cache.add('Service', lbSvc(['10.0.0.0/8', 'nope']));
  cache.add('EndpointSlice', slice({ endpoints: [ep('10.244.1.5')] }));
  const k = fakeKernels();
  const c = newController(cache, k, { loadbalancerIpRange: ['198.51.100.0/24'] });
  await c.sync();
  assert.deepEqual([...(k.ipsetKernel.members(IPSET_LB_FW) ?? [])], [`${LB_IP},tcp:80`]);
  assert.deepEqual([...(k.ipsetKernel.members(IPSET_LB_SRC_NET) ?? [])], [`${LB_IP},tcp:80,10.0.0.0/8`]);
  assert.deepEqual([...(k.ipsetKernel.members(IPSET_LB_SRC_IP) ?? [])], []);
  assert.ok(k.iptablesKernel.rules('filter', 'KUBE-ROUTER-SERVICES')?.some((r) => r.includes(`--match-set ${IPSET_LB_FW} dst,dst`) && r.endsWith('-j DROP')));
  await c.cleanup();
  for (const n of [IPSET_LB_FW, IPSET_LB_SRC_NET, IPSET_LB_SRC_IP]) assert.equal(k.ipsetKernel.members(n), undefined, n);
  assert.equal(k.iptablesKernel.rules('filter', 'KUBE-ROUTER-SERVICES'), undefined);
});
