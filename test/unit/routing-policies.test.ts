// Defined sets, kube_router_export / kube_router_import and assignments against kube-router's semantics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BgpState } from '../../src/bgp/state.js';
import { diffBgp, EMPTY_STATE, versionPolicy } from '../../src/bgp/state.js';
import type { DefinedSet, Statement } from '../../src/bgp/types.js';
import { compileRouting } from '../../src/controllers/routing/compile.js';
import { compilePolicies } from '../../src/controllers/routing/policies.js';
import { input, service, threeNodes } from './routing-fixtures.test.js';

function bgpOf(r: ReturnType<typeof compileRouting>): BgpState {
  assert.ok(r.bgp);
  return r.bgp;
}
const set = (b: BgpState, name: string): DefinedSet | undefined => b.definedSets.find((s) => s.name === name);
const statements = (b: BgpState, policy: string): Statement[] => b.policies.find((p) => p.name === policy)?.statements ?? [];
const summary = (st: Statement[]): string[] =>
  st.map((s) => `${s.conditions.prefixSet?.name} ${s.conditions.neighborSet?.name} ${s.actions.routeAction}`);

const EXT = { peerRouterIps: ['192.168.1.1'], peerRouterAsns: [65000] };

describe('defined sets', () => {
  it("kube-router's sets, empty ones left out", () => {
    const svc = service('web', { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'] });
    const b = bgpOf(compileRouting(input(threeNodes(), { services: [svc] }, { ...EXT, advertiseClusterIp: true })));
    assert.deepEqual(
      b.definedSets.map((s) => s.name),
      [
        'podcidrdefinedset',
        'servicevipsdefinedset',
        'defaultroutedefinedset',
        'defaultroutedefinedsetv6',
        'clusterpodcidrdefinedset',
        'iBGPpeerset',
        'externalpeerset',
        'allpeerset',
      ],
    );
    assert.deepEqual(set(b, 'podcidrdefinedset'), { type: 'prefix', name: 'podcidrdefinedset', prefixes: [{ prefix: '10.244.1.0/24', maskLengthMin: 24, maskLengthMax: 24 }] });
    assert.deepEqual(set(b, 'servicevipsdefinedset'), { type: 'prefix', name: 'servicevipsdefinedset', prefixes: [{ prefix: '10.96.0.10/32', maskLengthMin: 32, maskLengthMax: 32 }] });
    assert.deepEqual(set(b, 'defaultroutedefinedset'), { type: 'prefix', name: 'defaultroutedefinedset', prefixes: [{ prefix: '0.0.0.0/0', maskLengthMin: 0, maskLengthMax: 0 }] });
    assert.deepEqual(set(b, 'iBGPpeerset'), { type: 'neighbor', name: 'iBGPpeerset', neighbors: ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32'] });
    assert.deepEqual(set(b, 'externalpeerset'), { type: 'neighbor', name: 'externalpeerset', neighbors: ['192.168.1.1/32'] });
    assert.deepEqual(set(b, 'allpeerset'), { type: 'neighbor', name: 'allpeerset', neighbors: ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32', '192.168.1.1/32'] });
    assert.deepEqual(set(b, 'clusterpodcidrdefinedset'), {
      type: 'prefix',
      name: 'clusterpodcidrdefinedset',
      prefixes: ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24'].map((prefix) => ({ prefix, maskLengthMin: 24, maskLengthMax: 32 })),
    });
  });

  it('customimportreject: min = CIDR length, max = 32', () => {
    const b = bgpOf(compileRouting(input(threeNodes({ n1: { 'kube-router.io/node.bgp.customimportreject': '172.16.0.0/12' } }))));
    assert.deepEqual(set(b, 'customimportrejectdefinedset'), {
      type: 'prefix',
      name: 'customimportrejectdefinedset',
      prefixes: [{ prefix: '172.16.0.0/12', maskLengthMin: 12, maskLengthMax: 32 }],
    });
    assert.ok(summary(statements(b, 'kube_router_import')).includes('customimportrejectdefinedset allpeerset reject'));
  });
});

describe('export policy', () => {
  it('iBGP only: pod CIDRs to iBGP peers, default reject', () => {
    const b = bgpOf(compileRouting(input(threeNodes())));
    assert.deepEqual(summary(statements(b, 'kube_router_export')), ['podcidrdefinedset iBGPpeerset accept']);
    assert.deepEqual(statements(b, 'kube_router_export')[0].name, 'podcidrdefinedsetiBGPpeerset');
    assert.deepEqual(b.assignments, [
      { name: 'global', direction: 'export', policies: ['kube_router_export'], defaultAction: 'reject' },
      { name: 'global', direction: 'import', policies: ['kube_router_import'], defaultAction: 'accept' },
    ]);
  });

  it('external peers get VIPs, and pod CIDRs only with --advertise-pod-cidr; actions only on external exports', () => {
    const svc = service('web', { clusterIP: '10.96.0.10' });
    const ann = {
      n1: {
        'kube-router.io/node.bgp.communities': '65000:100',
        'kube-router.io/path-prepend.as': '65000',
        'kube-router.io/path-prepend.repeat-n': '2',
      },
    };
    const on = bgpOf(compileRouting(input(threeNodes(ann), { services: [svc] }, { ...EXT, advertiseClusterIp: true, overrideNexthop: true })));
    const st = statements(on, 'kube_router_export');
    assert.deepEqual(summary(st), [
      'podcidrdefinedset iBGPpeerset accept',
      'servicevipsdefinedset externalpeerset accept',
      'podcidrdefinedset externalpeerset accept',
    ]);
    assert.deepEqual(st[0].actions, { routeAction: 'accept' }, 'no next-hop-self, communities or prepend toward iBGP');
    for (const s of st.slice(1)) {
      assert.deepEqual(s.actions, {
        routeAction: 'accept',
        community: { type: 'add', communities: ['65000:100'] },
        asPrepend: { asn: 65000, repeat: 2 },
        nextHop: { self: true },
      });
    }
    const off = bgpOf(compileRouting(input(threeNodes(), { services: [svc] }, { ...EXT, advertiseClusterIp: true, advertisePodCidr: false })));
    assert.deepEqual(summary(statements(off, 'kube_router_export')), ['podcidrdefinedset iBGPpeerset accept', 'servicevipsdefinedset externalpeerset accept']);
  });

  it('VIPs never go to iBGP peers', () => {
    const svc = service('web', { clusterIP: '10.96.0.10' });
    const b = bgpOf(compileRouting(input(threeNodes(), { services: [svc] }, { advertiseClusterIp: true })));
    assert.ok(!summary(statements(b, 'kube_router_export')).some((s) => s.startsWith('servicevips')));
  });
});

describe('import policy', () => {
  it('rejects VIPs, default routes from all peers and cluster pod CIDRs from external peers', () => {
    const svc = service('web', { clusterIP: '10.96.0.10' });
    const b = bgpOf(compileRouting(input(threeNodes(), { services: [svc] }, { ...EXT, advertiseClusterIp: true })));
    assert.deepEqual(summary(statements(b, 'kube_router_import')), [
      'servicevipsdefinedset allpeerset reject',
      'defaultroutedefinedset allpeerset reject',
      'defaultroutedefinedsetv6 allpeerset reject',
      'clusterpodcidrdefinedset externalpeerset reject',
    ]);
  });

  it('a route an external peer sends for (a part of) a cluster pod CIDR matches the reject statement', () => {
    const b = bgpOf(compileRouting(input(threeNodes(), {}, EXT)));
    const st = statements(b, 'kube_router_import').find((s) => s.name === 'clusterpodcidrdefinedsetexternalpeerset');
    assert.ok(st);
    assert.equal(st.actions.routeAction, 'reject');
    // Evaluate the prefix-set match as gobgpd does: the route is inside an entry and its length within min..max.
    const entries = (set(b, 'clusterpodcidrdefinedset') as Extract<DefinedSet, { type: 'prefix' }>).prefixes;
    const matches = (prefix: string): boolean => {
      const [addr, len] = prefix.split('/');
      const n = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
      return entries.some((e) => {
        const [eAddr, eLen] = e.prefix.split('/');
        const mask = Number(eLen) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(eLen));
        const inside = (n(addr) & mask) >>> 0 === n(eAddr);
        return inside && Number(len) >= (e.maskLengthMin ?? 0) && Number(len) <= (e.maskLengthMax ?? 32);
      });
    };
    assert.equal(matches('10.244.2.0/24'), true);
    assert.equal(matches('10.244.2.128/25'), true);
    assert.equal(matches('10.245.0.0/24'), false);
    // iBGP peers are not in the external peer set, so node routes are still accepted.
    const ext = set(b, 'externalpeerset') as Extract<DefinedSet, { type: 'neighbor' }>;
    assert.deepEqual(ext.neighbors, ['192.168.1.1/32']);
  });

  it('--cluster-cidr widens the rejected pod network', () => {
    const b = bgpOf(compileRouting(input(threeNodes(), {}, { ...EXT, clusterCidr: ['10.244.0.0/16'] })));
    const entries = (set(b, 'clusterpodcidrdefinedset') as Extract<DefinedSet, { type: 'prefix' }>).prefixes.map((e) => e.prefix);
    assert.ok(entries.includes('10.244.0.0/16'));
  });
});

describe('route reflector server and the BGP layer', () => {
  it('an rr.server node has no sets, policies or assignments (kube-router skips AddPolicies)', () => {
    const b = bgpOf(compileRouting(input(threeNodes({ n1: { 'kube-router.io/rr.server': '1' } }))));
    assert.deepEqual([b.definedSets, b.policies, b.assignments], [[], [], []]);
  });

  it('the desired state diffs cleanly against a fresh gobgpd and versions the policies', () => {
    const b = bgpOf(compileRouting(input(threeNodes(), {}, EXT)));
    const ops = diffBgp(b, EMPTY_STATE);
    assert.equal(ops[0].op, 'start-bgp');
    const exportName = versionPolicy(b.policies[0]).name;
    assert.ok(ops.some((o) => o.op === 'set-policy-assignment' && o.assignment.policies[0] === exportName));
    assert.equal(ops.filter((o) => o.op === 'add-path').length, 1);
  });

  it('compilePolicies is deterministic and sorted', () => {
    const base = {
      podCidrs: ['10.244.1.0/24'],
      clusterPodCidrs: ['10.244.3.0/24', '10.244.1.0/24'],
      vips: ['10.96.0.20', '10.96.0.3'],
      ibgpPeerIps: ['10.0.0.3', '10.0.0.1'],
      externalPeerIps: [],
      customImportReject: [],
      communities: [],
      enableIbgp: true,
      advertisePodCidr: true,
      overrideNexthop: false,
    };
    const a = compilePolicies(base);
    const vipSet = a.definedSets.find((s) => s.name === 'servicevipsdefinedset') as Extract<DefinedSet, { type: 'prefix' }>;
    assert.deepEqual(vipSet.prefixes.map((p) => p.prefix), ['10.96.0.3/32', '10.96.0.20/32']);
    assert.deepEqual(compilePolicies({ ...base, ibgpPeerIps: [...base.ibgpPeerIps].reverse() }), a);
  });
});
