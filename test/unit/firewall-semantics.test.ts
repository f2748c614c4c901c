// NetworkPolicy v1 semantics of the firewall compiler, asserted as
// reachability (upstream e2e style: namespaces x, y, z with pods a, b, c;
// a and b on node-1, c on node-2) through an evaluator of the compiled
// iptables/ipset state of both nodes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL, Cluster, mkPod, NODE1, NODE2, pairs } from './firewall-fixtures.js';

const X = ['x/a', 'x/b', 'x/c'];

test('no policy: everything reachable', () => {
  assert.deepEqual(Cluster.e2e().matrix(), []);
});

test('default deny ingress (no policyTypes, no ingress): selected pods isolated for ingress only', () => {
  const c = Cluster.e2e().policy('x', 'deny', {});
  assert.deepEqual(c.matrix(), pairs(ALL, X));
  assert.ok(c.allowed('x/a', 'y/b'), 'egress is not restricted');
});

test('ingress: [] with policyTypes Ingress denies all ingress; ingress: [{}] allows all', () => {
  const c = Cluster.e2e().policy('x', 'deny', { policyTypes: ['Ingress'], ingress: [] });
  assert.deepEqual(c.matrix(), pairs(ALL, X));
  c.policy('x', 'deny', { policyTypes: ['Ingress'], ingress: [{}] });
  assert.deepEqual(c.matrix(), []);
});

test('policyTypes defaulting: egress rules imply Egress; `egress: []` without policyTypes does not', () => {
  const c = Cluster.e2e().policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  // Ingress (always) with no ingress rules: x/a unreachable. Egress: x/a only to x/b.
  assert.deepEqual(c.matrix(), [...pairs(ALL, ['x/a']), ...pairs(['x/a'], ALL, (_f, t) => t === 'x/b')].sort());
  const d = Cluster.e2e().policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, egress: [] });
  assert.deepEqual(d.matrix(), pairs(ALL, ['x/a']), 'Ingress only');
});

test('default deny egress', () => {
  const c = Cluster.e2e().policy('x', 'deny', { policyTypes: ['Egress'] });
  assert.deepEqual(c.matrix(), pairs(X, ALL));
  assert.equal(c.allowedToIp('x/a', '8.8.8.8', 53, 'udp'), false);
  assert.ok(c.allowedToIp('y/a', '8.8.8.8', 53, 'udp'));
});

test('policies selecting a pod are unioned', () => {
  const c = Cluster.e2e()
    .policy('x', 'from-b', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })
    .policy('x', 'from-c', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }] }] });
  assert.deepEqual(c.matrix(), pairs(ALL, ['x/a'], (f) => f === 'x/b' || f === 'x/c'));
});

test('podSelector peer is scoped to the policy namespace', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  assert.deepEqual(c.matrix(), pairs(ALL, X, (f) => f === 'x/b'));
});

test('namespaceSelector alone: all pods of matching namespaces', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] });
  assert.deepEqual(c.matrix(), pairs(ALL, X, (f) => f.startsWith('y/')));
});

test('namespaceSelector AND podSelector in one peer; OR across peers', () => {
  const and = Cluster.e2e().policy('x', 'p', {
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'a' } } }] }],
  });
  assert.deepEqual(and.matrix(), pairs(ALL, X, (f) => f === 'y/a'));
  const or = Cluster.e2e().policy('x', 'p', {
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'a' } } }] }],
  });
  assert.deepEqual(or.matrix(), pairs(ALL, X, (f) => f.startsWith('y/') || f === 'x/a'));
});

test('matchExpressions: In, NotIn, Exists, DoesNotExist', () => {
  const cases: [string, object, (f: string) => boolean][] = [
    ['In', { key: 'pod', operator: 'In', values: ['a', 'b'] }, (f) => f === 'x/a' || f === 'x/b'],
    ['NotIn', { key: 'pod', operator: 'NotIn', values: ['a'] }, (f) => f === 'x/b' || f === 'x/c'],
    ['Exists', { key: 'pod', operator: 'Exists' }, (f) => f.startsWith('x/')],
    ['DoesNotExist', { key: 'pod', operator: 'DoesNotExist' }, () => false],
  ];
  for (const [name, expr, allowedFrom] of cases) {
    const c = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ podSelector: { matchExpressions: [expr as never] } }] }] });
    assert.deepEqual(c.matrix(), pairs(ALL, X, allowedFrom), name);
  }
  const ns = Cluster.e2e().policy('x', 'p', {
    ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x', 'y'] }] } }] }],
  });
  assert.deepEqual(ns.matrix(), pairs(ALL, X, (f) => f.startsWith('z/')), 'namespace NotIn');
});

test('empty podSelector peer = all pods of the namespace; empty namespaceSelector = all namespaces', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ podSelector: {} }] }] });
  assert.deepEqual(c.matrix(), pairs(ALL, X, (f) => f.startsWith('x/')));
  const d = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ namespaceSelector: {} }] }] });
  assert.deepEqual(d.matrix(), []);
  assert.equal(d.allowedFromIp('172.16.0.9', 'x/a'), false, 'pods only, not outside addresses');
});

test('absent from = all sources (pods and outside addresses)', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ ports: [{ port: 80 }] }] });
  assert.deepEqual(c.matrix(80), []);
  assert.ok(c.allowedFromIp('172.16.0.9', 'x/a', 80));
  assert.deepEqual(c.matrix(81), pairs(ALL, X));
});

test('ipBlock with except (ingress and egress), 0.0.0.0/0', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ ipBlock: { cidr: '172.16.0.0/16', except: ['172.16.1.0/24'] } }] }] });
  assert.ok(c.allowedFromIp('172.16.0.9', 'x/a'));
  assert.equal(c.allowedFromIp('172.16.1.9', 'x/a'), false);
  assert.equal(c.allowedFromIp('172.17.0.1', 'x/a'), false);
  const e = Cluster.e2e().policy('x', 'p', { policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.2.0/24'] } }] }] });
  assert.ok(e.allowedToIp('x/a', '8.8.8.8'));
  assert.ok(e.allowedToIp('x/a', '200.1.1.1'));
  assert.ok(e.allowed('x/a', 'y/b'), 'pod on node-1 inside 0.0.0.0/0');
  assert.equal(e.allowed('x/a', 'y/c'), false, 'pod on node-2 in the except');
});

test('ports: number, protocol default TCP, UDP, SCTP, endPort, protocol-only', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ ports: [{ port: 80 }] }] });
  assert.ok(c.allowed('y/a', 'x/a', 80, 'tcp'));
  assert.equal(c.allowed('y/a', 'x/a', 81, 'tcp'), false);
  assert.equal(c.allowed('y/a', 'x/a', 80, 'udp'), false);
  const u = Cluster.e2e().policy('x', 'p', { ingress: [{ ports: [{ protocol: 'UDP', port: 81 }, { protocol: 'SCTP', port: 80 }] }] });
  assert.ok(u.allowed('y/a', 'x/a', 81, 'udp'));
  assert.ok(u.allowed('y/a', 'x/a', 80, 'sctp'));
  assert.equal(u.allowed('y/a', 'x/a', 81, 'tcp'), false);
  const r = Cluster.e2e().policy('x', 'p', { ingress: [{ ports: [{ port: 80, endPort: 85 }] }] });
  assert.ok(r.allowed('y/a', 'x/a', 80) && r.allowed('y/a', 'x/a', 83) && r.allowed('y/a', 'x/a', 85));
  assert.equal(r.allowed('y/a', 'x/a', 86), false);
  const p = Cluster.e2e().policy('x', 'p', { ingress: [{ ports: [{ protocol: 'UDP' }] }] });
  assert.ok(p.allowed('y/a', 'x/a', 80, 'udp') && p.allowed('y/a', 'x/a', 9999, 'udp'));
  assert.equal(p.allowed('y/a', 'x/a', 80, 'tcp'), false);
});

test('named port (ingress): resolved per TARGET pod, with its own protocol', () => {
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }] });
  assert.ok(c.allowed('y/a', 'x/a', 81, 'udp'));
  assert.equal(c.allowed('y/a', 'x/a', 81, 'tcp'), false);
  assert.equal(c.allowed('y/a', 'x/a', 80, 'udp'), false);
  // A target that gives the name another number.
  c.pods.put(mkPod('x', 'b', '10.244.1.11', NODE1, { pod: 'b' }, { ports: [{ name: 'serve-81-udp', containerPort: 9000, protocol: 'UDP' }] }));
  assert.ok(c.allowed('y/a', 'x/b', 9000, 'udp'));
  assert.equal(c.allowed('y/a', 'x/b', 81, 'udp'), false);
  assert.equal(c.allowed('y/a', 'x/a', 9000, 'udp'), false);
});

test('named port (egress): resolved per DESTINATION pod', () => {
  const c = Cluster.e2e();
  c.pods.put(mkPod('y', 'b', '10.244.1.14', NODE1, { pod: 'b' }, { ports: [{ name: 'serve-80-tcp', containerPort: 8080 }] }));
  c.policy('x', 'p', { policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'serve-80-tcp' }] }] });
  assert.ok(c.allowed('x/a', 'y/a', 80));
  assert.ok(c.allowed('x/a', 'y/b', 8080));
  assert.equal(c.allowed('x/a', 'y/b', 80), false);
  assert.equal(c.allowed('x/a', 'y/a', 81), false);
  const all = Cluster.e2e().policy('x', 'p', { policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-81-tcp' }] }] });
  assert.ok(all.allowed('x/a', 'z/c', 81));
  assert.equal(all.allowedToIp('x/a', '8.8.8.8', 81), false, 'a name resolves to pods only');
});

test('egress `to` absent with ports: all destinations on those ports', () => {
  const c = Cluster.e2e().policy('x', 'p', { policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
  assert.ok(c.allowedToIp('x/a', '8.8.8.8', 53, 'udp'));
  assert.equal(c.allowedToIp('x/a', '8.8.8.8', 80, 'tcp'), false);
});

test('same-node flow checks the source egress and the destination ingress separately (policy with both types)', () => {
  // Ingress from the namespace allowed, egress denied: x/a -> x/b must be denied by x/a's egress
  // although x/b's ingress allows it (one chain per direction keeps the verdicts apart).
  const c = Cluster.e2e().policy('x', 'p', { policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: {} }] }], egress: [] });
  assert.equal(c.allowed('x/a', 'x/b'), false);
  assert.equal(c.allowed('x/a', 'x/c'), false);
  assert.equal(c.allowed('y/a', 'x/a'), false, 'not from the namespace');
});

test('hostNetwork pods: never policed, never matched by pod selectors', () => {
  const c = Cluster.e2e();
  c.pods.put(mkPod('x', 'h', undefined, NODE2, { pod: 'b' }, { hostNetwork: true }));
  c.policy('x', 'deny-all', { policyTypes: ['Ingress'] });
  c.policy('x', 'from-b', { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  const d = c.desired(NODE2);
  assert.equal([...d.iptables.ipv4!.chains.keys()].filter((k) => k.startsWith('KUBE-POD-FW-')).length, 1, 'only x/c gets a chain on node-2');
  assert.equal(c.allowed('x/h', 'x/a'), false, 'a remote host-network pod (node IP) is not "pod b"');
  assert.ok(c.allowed('x/b', 'x/a'));
  assert.ok(c.allowed('x/h', 'x/c'), 'node-local source (kubelet probes) is allowed');
});

test('pods without IP or finished are ignored; terminating pods are still policed and matched', () => {
  const c = Cluster.e2e();
  c.pods.put(mkPod('x', 'done', '10.244.1.50', NODE1, { pod: 'b' }, { phase: 'Succeeded' }));
  c.pods.put(mkPod('x', 'pending', undefined, NODE1, { pod: 'b' }));
  c.pods.put(mkPod('x', 'term', '10.244.1.51', NODE1, { pod: 'b' }, { deletionTimestamp: '2024-01-01T00:00:00Z' }));
  c.policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  const sets = c.desired(NODE1).ipsets;
  const members = sets.flatMap((s) => [...s.entries]);
  assert.ok(members.includes('10.244.1.51'), 'terminating pod matched');
  assert.ok(!members.includes('10.244.1.50'), 'finished pod not matched');
  const chains = [...c.desired(NODE1).iptables.ipv4!.chains.keys()].filter((k) => k.startsWith('KUBE-POD-FW-'));
  assert.equal(chains.length, 1, 'only x/a has a chain');
});

test('replies (ESTABLISHED) and traffic from the node itself are allowed under deny-all', async () => {
  const { evaluate } = await import('./firewall-fixtures.js');
  const c = Cluster.e2e().policy('x', 'deny', { policyTypes: ['Ingress', 'Egress'] });
  const d = c.desired(NODE1);
  const dst = c.ip('x/a');
  assert.equal(evaluate(d, { src: '10.244.2.99', dst, proto: 'tcp', dport: 80, hook: 'FORWARD' }).verdict, 'REJECT');
  assert.equal(evaluate(d, { src: '10.244.2.99', dst, proto: 'tcp', dport: 80, hook: 'FORWARD', ctstate: 'ESTABLISHED' }).verdict, 'ACCEPT');
  assert.equal(evaluate(d, { src: '192.168.0.1', dst, proto: 'tcp', dport: 8080, hook: 'OUTPUT', srcLocal: true }).verdict, 'ACCEPT');
  void NODE2;
});
