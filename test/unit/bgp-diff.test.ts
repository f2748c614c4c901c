import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffBgp, EMPTY_STATE, logicalPolicyName, versionPolicy, type BgpOp, type BgpState } from '../../src/bgp/state.js';
import type { BgpPath, PeerSpec, Policy } from '../../src/bgp/types.js';

const global = { asn: 64512, routerId: '10.0.0.1', listenPort: 179, listenAddresses: ['10.0.0.1'] };
const peer2: PeerSpec = { neighborAddress: '10.0.0.2', peerAsn: 64512, localAddress: '10.0.0.1' };
const peer3: PeerSpec = { neighborAddress: '10.0.0.3', peerAsn: 64512, localAddress: '10.0.0.1' };
const pod: BgpPath = { prefix: '10.244.0.0/24', family: 'ipv4', nextHop: '10.0.0.1', origin: 'igp', isWithdraw: false };
const exportPolicy: Policy = {
  name: 'kube_router_export',
  statements: [
    {
      name: 'podcidrdefinedsetiBGPpeerset',
      conditions: { prefixSet: { name: 'podcidrdefinedset', match: 'any' }, neighborSet: { name: 'iBGPpeerset', match: 'any' } },
      actions: { routeAction: 'accept' },
    },
  ],
};

function desired(over: Partial<BgpState> = {}): BgpState {
  return {
    global,
    peers: [peer2, peer3],
    definedSets: [
      { type: 'prefix', name: 'podcidrdefinedset', prefixes: [{ prefix: '10.244.0.0/24' }] },
      { type: 'neighbor', name: 'iBGPpeerset', neighbors: ['10.0.0.2', '10.0.0.3'] },
    ],
    policies: [exportPolicy],
    assignments: [{ name: 'global', direction: 'export', policies: ['kube_router_export'], defaultAction: 'reject' }],
    paths: [pod],
    ...over,
  };
}

/** What gobgpd reports once `d` is applied: its defaults filled in, versioned policy names, CIDR neighbors. */
function asGobgpdReports(d: BgpState): BgpState {
  return {
    global: d.global,
    peers: d.peers.map((p) => ({ ...p, localAsn: d.global.asn, holdTime: 90, keepaliveInterval: 30, connectRetry: 120, families: ['ipv4'] })),
    definedSets: d.definedSets.map((s) =>
      s.type === 'prefix'
        ? { ...s, prefixes: s.prefixes.map((p) => ({ prefix: p.prefix, maskLengthMin: p.maskLengthMin ?? 0, maskLengthMax: p.maskLengthMax ?? 0 })) }
        : { ...s, neighbors: s.neighbors.map((n) => `${n}/32`) },
    ),
    policies: d.policies.map(versionPolicy),
    assignments: [
      ...d.assignments.map((a) => ({ ...a, policies: a.policies.map((n) => versionPolicy(d.policies.find((p) => p.name === n)!).name) })),
      { name: 'global', direction: 'import' as const, policies: [], defaultAction: 'accept' as const },
    ],
    paths: d.paths.map((p) => ({ ...p, best: true, age: 1 })),
  };
}

const kinds = (ops: BgpOp[]): string[] => ops.map((o) => o.op);

describe('bgp desired/actual diff', () => {
  it('no change: zero operations', () => {
    assert.deepEqual(diffBgp(desired(), asGobgpdReports(desired())), []);
  });

  it('a fresh gobgpd (asn 0): StartBgp, then everything in dependency order', () => {
    const ops = diffBgp(desired(), EMPTY_STATE);
    assert.deepEqual(kinds(ops), ['start-bgp', 'add-defined-set', 'add-defined-set', 'add-policy', 'set-policy-assignment', 'add-peer', 'add-peer', 'add-path']);
    const pol = ops.find((o) => o.op === 'add-policy');
    assert.ok(pol?.op === 'add-policy');
    assert.match(pol.policy.name, /^kube_router_export-v[0-9a-f]{8}$/);
    assert.match(pol.policy.statements[0].name, /^podcidrdefinedsetiBGPpeerset-v[0-9a-f]{8}$/);
    const set = ops.find((o) => o.op === 'set-policy-assignment');
    assert.ok(set?.op === 'set-policy-assignment');
    assert.deepEqual(set.assignment.policies, [pol.policy.name]);
  });

  it('peer added, removed, changed', () => {
    const actual = asGobgpdReports(desired());
    const peer4: PeerSpec = { neighborAddress: '10.0.0.4', peerAsn: 65000, ebgpMultihopTtl: 2 };
    const changed: PeerSpec = { ...peer3, holdTime: 30 };
    const ops = diffBgp(desired({ peers: [changed, peer4] }), actual);
    assert.deepEqual(ops, [
      { op: 'delete-peer', address: '10.0.0.2' },
      { op: 'update-peer', peer: changed },
      { op: 'add-peer', peer: peer4 },
    ]);
  });

  it('peer defaults are not differences (keepalive = holdtime/3, local ASN, 0.0.0.0, port 179)', () => {
    const d = desired({ peers: [{ ...peer2, holdTime: 30, remotePort: 179 }] });
    const actual = asGobgpdReports(d);
    actual.peers = [{ ...peer2, localAsn: 64512, holdTime: 30, keepaliveInterval: 10, connectRetry: 120, families: ['ipv4'] }];
    assert.deepEqual(diffBgp(d, actual), []);
  });

  it('an IPv6 peer is compared canonically', () => {
    const v6: PeerSpec = { neighborAddress: '2001:DB8:0::2', peerAsn: 64512 };
    const d = desired({ peers: [v6] });
    const actual = asGobgpdReports(d);
    actual.peers = [{ neighborAddress: '2001:db8::2', peerAsn: 64512, localAsn: 64512, holdTime: 90, keepaliveInterval: 30, connectRetry: 120, families: ['ipv6'] }];
    assert.deepEqual(diffBgp(d, actual), []);
  });

  it('set members changed: additions before the policy swap, removals after, minimal', () => {
    const d = desired();
    const actual = asGobgpdReports(d);
    const d2 = desired({
      definedSets: [
        { type: 'prefix', name: 'podcidrdefinedset', prefixes: [{ prefix: '10.244.0.0/24' }, { prefix: '10.244.9.0/24' }] },
        { type: 'neighbor', name: 'iBGPpeerset', neighbors: ['10.0.0.2'] },
      ],
    });
    assert.deepEqual(diffBgp(d2, actual), [
      { op: 'add-defined-set', set: { type: 'prefix', name: 'podcidrdefinedset', prefixes: [{ prefix: '10.244.9.0/24' }] } },
      { op: 'delete-defined-set', set: { type: 'neighbor', name: 'iBGPpeerset', neighbors: ['10.0.0.3/32'] }, all: false },
    ]);
  });

  it('a set no longer desired is deleted after the policies that used it', () => {
    const actual = asGobgpdReports(desired());
    const ops = diffBgp(desired({ definedSets: [desired().definedSets[0]], policies: [], assignments: [] }), actual);
    assert.deepEqual(kinds(ops), ['set-policy-assignment', 'delete-policy', 'delete-defined-set']);
    assert.deepEqual(ops[0], {
      op: 'set-policy-assignment',
      assignment: { name: 'global', direction: 'export', policies: [], defaultAction: 'accept' },
    });
  });

  it('policy changed: new version added, assignment switched, old version deleted', () => {
    const actual = asGobgpdReports(desired());
    const oldName = actual.policies[0].name;
    const changed: Policy = {
      ...exportPolicy,
      statements: [{ ...exportPolicy.statements[0], actions: { routeAction: 'accept', community: { type: 'add', communities: ['65000:1'] } } }],
    };
    const ops = diffBgp(desired({ policies: [changed] }), actual);
    assert.deepEqual(kinds(ops), ['add-policy', 'set-policy-assignment', 'delete-policy']);
    const [add, set, del] = ops;
    assert.ok(add.op === 'add-policy' && set.op === 'set-policy-assignment' && del.op === 'delete-policy');
    assert.notEqual(add.policy.name, oldName);
    assert.equal(logicalPolicyName(add.policy.name), 'kube_router_export');
    assert.deepEqual(set.assignment.policies, [add.policy.name]);
    assert.equal(del.name, oldName);
  });

  it('default action changed: only the assignment', () => {
    const actual = asGobgpdReports(desired());
    const d = desired({ assignments: [{ name: 'global', direction: 'export', policies: ['kube_router_export'], defaultAction: 'accept' }] });
    assert.deepEqual(kinds(diffBgp(d, actual)), ['set-policy-assignment']);
  });

  it('paths: added, removed, changed attributes re-added', () => {
    const actual = asGobgpdReports(desired());
    const vip: BgpPath = { prefix: '10.96.0.10/32', family: 'ipv4', nextHop: '10.0.0.1', origin: 'igp', isWithdraw: false };
    assert.deepEqual(diffBgp(desired({ paths: [pod, vip] }), actual), [{ op: 'add-path', path: vip }]);
    assert.deepEqual(diffBgp(desired({ paths: [] }), actual), [{ op: 'delete-path', path: actual.paths[0] }]);
    const withCommunity = { ...pod, communities: ['65000:7'] };
    assert.deepEqual(diffBgp(desired({ paths: [withCommunity] }), actual), [{ op: 'add-path', path: withCommunity }]);
  });

  it('a changed router id or ASN stops and restarts BGP, then re-adds everything (StopBgp clears all)', () => {
    const actual = asGobgpdReports(desired());
    const ops = diffBgp(desired({ global: { ...global, asn: 65000 } }), actual);
    assert.deepEqual(kinds(ops), [
      'stop-bgp',
      'start-bgp',
      'add-defined-set',
      'add-defined-set',
      'add-policy',
      'set-policy-assignment',
      'add-peer',
      'add-peer',
      'add-path',
    ]);
  });

  it('versionPolicy is stable and content-addressed', () => {
    assert.equal(versionPolicy(exportPolicy).name, versionPolicy(structuredClone(exportPolicy)).name);
    const other = { ...exportPolicy, statements: [{ ...exportPolicy.statements[0], actions: { routeAction: 'reject' as const } }] };
    assert.notEqual(versionPolicy(exportPolicy).name, versionPolicy(other).name);
  });
});
