// Dual-stack node IPAM of the lab controller-manager: one podCIDR per
// configured family (IPv6 per-node /64), primary first, all or nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeIpam } from '../../src/lab/cluster/controller-manager/node-ipam.js';
import { AllocationError } from '../../src/lab/cluster/controller-manager/errors.js';
import { KubeRouterError } from '../../src/errors.js';

const V4 = '10.244.0.0/16';
const V6 = 'fd00:10:244::/56';

function ipam(clusterCidrs: string | string[], maskSizeIPv6 = 64): NodeIpam {
  return new NodeIpam({ clusterCidrs, maskSizeIPv4: 24, maskSizeIPv6 });
}

describe('NodeIpam', () => {
  it('single-stack: one /24 per node, as before', () => {
    const p = ipam(V4);
    assert.deepEqual(p.allocate('node1'), ['10.244.0.0/24']);
    assert.deepEqual(p.allocate('node2'), ['10.244.1.0/24']);
    assert.deepEqual(p.cidrsOf('node2'), ['10.244.1.0/24']);
    assert.deepEqual(p.families, ['IPv4']);
  });

  it('dual-stack: an IPv4 /24 and an IPv6 /64 per node, in the configured order', () => {
    const p = ipam([V4, V6]);
    assert.deepEqual(p.allocate('node1'), ['10.244.0.0/24', 'fd00:10:244::/64']);
    assert.deepEqual(p.allocate('node2'), ['10.244.1.0/24', 'fd00:10:244:1::/64']);
    assert.deepEqual(p.allocate('node1'), ['10.244.0.0/24', 'fd00:10:244::/64']);
    const v6first = ipam([V6, V4]);
    assert.deepEqual(v6first.allocate('node1'), ['fd00:10:244::/64', '10.244.0.0/24']);
  });

  it('records existing podCIDRs by family whatever their order, and names missing families', () => {
    const p = ipam([V4, V6]);
    assert.deepEqual(p.occupy('node2', ['fd00:10:244:1::/64', '10.244.1.0/24']), []);
    assert.deepEqual(p.cidrsOf('node2'), ['10.244.1.0/24', 'fd00:10:244:1::/64']);
    assert.deepEqual(p.occupy('old', ['10.244.5.0/24']), []);
    assert.deepEqual(p.missingFamilies(['10.244.5.0/24']), ['IPv6']);
    assert.deepEqual(p.occupy('bad', ['10.244.1.0/24', 'fd00:99::/64']), ['10.244.1.0/24', 'fd00:99::/64']);
    assert.deepEqual(p.allocate('node1'), ['10.244.0.0/24', 'fd00:10:244::/64']);
    assert.deepEqual(p.allocate('node3'), ['10.244.2.0/24', 'fd00:10:244:2::/64']);
  });

  it('is all or nothing: a full IPv6 range gives the IPv4 subnet back', () => {
    const p = ipam([V4, 'fd00:10:244::/63']);
    p.allocate('a');
    p.allocate('b');
    assert.throws(() => p.allocate('c'), (e: unknown) =>
      e instanceof AllocationError && e.httpCode === 500 && e.field === 'spec.podCIDRs[1]' && e.context.object === 'Node c' && /no \/64 subnets left/.test(e.message));
    assert.equal(p.cidrsOf('c'), undefined);
    // The IPv4 subnet taken for c is free again (the cursor has moved past it, as in cidrset).
    assert.deepEqual(p.occupy('d', ['10.244.2.0/24']), []);
    p.release('a');
    assert.equal(p.allocate('c')[1], 'fd00:10:244::/64');
  });

  it('refuses bad configuration with KR_ERR_CONFIG naming the option', () => {
    const field = (f: string) => (e: unknown) => e instanceof KubeRouterError && e.code === 'KR_ERR_CONFIG' && e.context.field === f;
    assert.throws(() => ipam([V4, V6], 48), field('nodeCidrMaskSizeIPv6'));
    assert.throws(() => ipam([V4, '10.245.0.0/16']), field('clusterCidr'));
    assert.throws(() => ipam([V4, V6, '10.245.0.0/16']), field('clusterCidr'));
  });
});
