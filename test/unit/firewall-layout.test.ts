// Layout of the compiled firewall state: golden chains and sets for two small
// cases, name stability, set sharing, fail-closed policies, default deny.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ctxFor, mkNs, mkPod, NODE1, NODE2 } from './firewall-fixtures.js';
import { compilePolicy } from '../../src/controllers/firewall/compile-policy.js';
import { hash16, podChainName, policyChainName, sanitizeForComment } from '../../src/controllers/firewall/names.js';
import { compileSelector } from '../../src/controllers/firewall/selectors.js';
import { isOwnedChain, isOwnedSet, type FirewallDesired } from '../../src/controllers/firewall/model.js';
import { normalizeEntry } from '../../src/kernel/ipset/entry.js';
import { validateDesired } from '../../src/kernel/iptables/plan.js';

function dump(d: FirewallDesired): string {
  const out: string[] = [];
  for (const [k, v] of [...d.iptables.ipv4!.chains].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    out.push(':' + k);
    for (const r of v) out.push('-A ' + k + ' ' + r);
  }
  for (const s of [...d.ipsets, ...d.localPods]) out.push(`set ${s.name} ${s.type} ${s.family} ${[...s.entries].join(' | ')}`);
  return out.join('\n');
}

const GOLDEN_1 = `
:KUBE-NWPLCY-COMMON
-A KUBE-NWPLCY-COMMON -m conntrack --ctstate INVALID -j DROP
-A KUBE-NWPLCY-COMMON -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m icmp --icmp-type echo-request -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m icmp --icmp-type destination-unreachable -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m icmp --icmp-type time-exceeded -j ACCEPT
:KUBE-NWPLCY-DEFAULT
-A KUBE-NWPLCY-DEFAULT -j MARK --set-xmark 0x10000/0x10000
:KUBE-NWPLCY-LVPTSQYHHHK3NIQ6
-A KUBE-NWPLCY-LVPTSQYHHHK3NIQ6 -m mark --mark 0x10000/0x10000 -j RETURN
-A KUBE-NWPLCY-LVPTSQYHHHK3NIQ6 -m set --match-set KUBE-SRC-REG6TF6DVRJY76JS src -m set --match-set KUBE-DST-3GCLNKJLDWKVZ5TV dst,dst -p tcp -j MARK --set-xmark 0x10000/0x10000
-A KUBE-NWPLCY-LVPTSQYHHHK3NIQ6 -m set --match-set KUBE-SRC-REG6TF6DVRJY76JS src -p tcp -m tcp --dport 80:81 -j MARK --set-xmark 0x10000/0x10000
-A KUBE-NWPLCY-LVPTSQYHHHK3NIQ6 -m set --match-set KUBE-SRC-SCLXFVPLOLBANNXU src -m set --match-set KUBE-DST-3GCLNKJLDWKVZ5TV dst,dst -p tcp -j MARK --set-xmark 0x10000/0x10000
-A KUBE-NWPLCY-LVPTSQYHHHK3NIQ6 -m set --match-set KUBE-SRC-SCLXFVPLOLBANNXU src -p tcp -m tcp --dport 80:81 -j MARK --set-xmark 0x10000/0x10000
:KUBE-NWPLCY-TAIL
-A KUBE-NWPLCY-TAIL -m mark --mark 0x20000/0x20000 -j ACCEPT
:KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -j KUBE-NWPLCY-COMMON
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -m addrtype --src-type LOCAL -d 10.244.1.10 -j ACCEPT
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -d 10.244.1.10 -j KUBE-NWPLCY-LVPTSQYHHHK3NIQ6
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -s 10.244.1.10 -j KUBE-NWPLCY-DEFAULT
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/minute --limit-burst 10 -j NFLOG --nflog-group 100
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -m mark ! --mark 0x10000/0x10000 -j REJECT
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -j MARK --set-mark 0/0x10000
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -j MARK --set-mark 0x20000/0x20000
:KUBE-ROUTER-FORWARD
-A KUBE-ROUTER-FORWARD -d 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-FORWARD -s 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-FORWARD -j KUBE-NWPLCY-TAIL
:KUBE-ROUTER-INPUT
-A KUBE-ROUTER-INPUT -d 10.96.0.0/12 -j RETURN
-A KUBE-ROUTER-INPUT -p tcp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -p udp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -p sctp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -s 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-INPUT -j KUBE-NWPLCY-TAIL
:KUBE-ROUTER-OUTPUT
-A KUBE-ROUTER-OUTPUT -d 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-OUTPUT -s 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-OUTPUT -j KUBE-NWPLCY-TAIL
set KUBE-DST-3GCLNKJLDWKVZ5TV hash:ip,port inet 10.244.1.10,tcp:8080
set KUBE-SRC-REG6TF6DVRJY76JS hash:ip inet 10.244.1.11
set KUBE-SRC-SCLXFVPLOLBANNXU hash:net inet 0.0.0.0/1 | 10.0.0.0/8 nomatch | 128.0.0.0/1
`;

const GOLDEN_2 = `
:KUBE-NWPLCY-COMMON
-A KUBE-NWPLCY-COMMON -m conntrack --ctstate INVALID -j DROP
-A KUBE-NWPLCY-COMMON -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m icmp --icmp-type echo-request -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m icmp --icmp-type destination-unreachable -j ACCEPT
-A KUBE-NWPLCY-COMMON -p icmp -m icmp --icmp-type time-exceeded -j ACCEPT
:KUBE-NWPLCY-DEFAULT
-A KUBE-NWPLCY-DEFAULT -j MARK --set-xmark 0x10000/0x10000
:KUBE-NWPLCY-S5I3EGWCBXRMYQU4
-A KUBE-NWPLCY-S5I3EGWCBXRMYQU4 -m set --match-set KUBE-DST-HNZV6QOWEK2KX3VY dst -p udp -m udp --dport 53 -j MARK --set-xmark 0x10000/0x10000
:KUBE-NWPLCY-TAIL
-A KUBE-NWPLCY-TAIL -s 10.244.1.0/24 -m set ! --match-set kube-router-local-pods src -j REJECT
-A KUBE-NWPLCY-TAIL -d 10.244.1.0/24 -m set ! --match-set kube-router-local-pods dst -j REJECT
-A KUBE-NWPLCY-TAIL -m mark --mark 0x20000/0x20000 -j ACCEPT
:KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -j KUBE-NWPLCY-COMMON
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -m addrtype --src-type LOCAL -d 10.244.1.10 -j ACCEPT
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -d 10.244.1.10 -j KUBE-NWPLCY-DEFAULT
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -s 10.244.1.10 -j KUBE-NWPLCY-S5I3EGWCBXRMYQU4
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/minute --limit-burst 10 -j NFLOG --nflog-group 100
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -m mark ! --mark 0x10000/0x10000 -j REJECT
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -j MARK --set-mark 0/0x10000
-A KUBE-POD-FW-RMZV3IXV7NDYD7YP -j MARK --set-mark 0x20000/0x20000
:KUBE-ROUTER-FORWARD
-A KUBE-ROUTER-FORWARD -d 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-FORWARD -s 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-FORWARD -j KUBE-NWPLCY-TAIL
:KUBE-ROUTER-INPUT
-A KUBE-ROUTER-INPUT -d 10.96.0.0/12 -j RETURN
-A KUBE-ROUTER-INPUT -p tcp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -p udp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -p sctp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN
-A KUBE-ROUTER-INPUT -s 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-INPUT -j KUBE-NWPLCY-TAIL
:KUBE-ROUTER-OUTPUT
-A KUBE-ROUTER-OUTPUT -d 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-OUTPUT -s 10.244.1.10 -j KUBE-POD-FW-RMZV3IXV7NDYD7YP
-A KUBE-ROUTER-OUTPUT -j KUBE-NWPLCY-TAIL
set KUBE-DST-HNZV6QOWEK2KX3VY hash:ip inet 10.244.2.12
set kube-router-local-pods hash:ip inet 10.244.1.10 | 10.244.1.11
`;

test('golden: ingress from a pod selector and an ipBlock 0.0.0.0/0 with except, named port and endPort', () => {
  const c = new Cluster();
  c.namespaces.put(mkNs('x'));
  c.pods.put(mkPod('x', 'a', '10.244.1.10', NODE1, { pod: 'a' }, { ports: [{ name: 'http', containerPort: 8080 }] }));
  c.pods.put(mkPod('x', 'b', '10.244.1.11', NODE1, { pod: 'b' }, { ports: [] }));
  c.policy('x', 'allow-b', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }, { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }], ports: [{ port: 'http' }, { port: 80, endPort: 81 }] }],
  });
  const d = c.desired(NODE1);
  assert.equal(dump(d), GOLDEN_1.trim());
  assert.deepEqual(d.iptables.ipv4!.jumps.map((j) => `${j.fromChain} ${j.position} ${j.rule}`), [
    'INPUT first -j KUBE-ROUTER-INPUT',
    'FORWARD first -j KUBE-ROUTER-FORWARD',
    'OUTPUT first -j KUBE-ROUTER-OUTPUT',
  ]);
  // Acceptable to the kernel modules as they are.
  validateDesired(d.iptables.ipv4!, isOwnedChain);
  for (const s of d.ipsets) for (const e of s.entries) assert.equal(normalizeEntry(s.name, s.type, s.family, e), e);
  assert.ok(d.ipsets.every((s) => isOwnedSet(s.name)));
});

test('golden: egress to a namespaceSelector on UDP 53, --netpol-default-deny', () => {
  const c = new Cluster({ defaultDeny: true });
  c.namespaces.put(mkNs('x'));
  c.namespaces.put(mkNs('y', { team: 'blue' }));
  c.pods.put(mkPod('x', 'a', '10.244.1.10', NODE1, { pod: 'a' }, { ports: [] }));
  c.pods.put(mkPod('x', 'b', '10.244.1.11', NODE1, { pod: 'b' }, { ports: [] }));
  c.pods.put(mkPod('y', 'c', '10.244.2.12', NODE2, { pod: 'c' }, { ports: [] }));
  c.policy('x', 'egress-dns', {
    podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a'] }] },
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }], ports: [{ protocol: 'UDP', port: 53 }] }],
  });
  assert.equal(dump(c.desired(NODE1)), GOLDEN_2.trim());
});

test('names: kube-router shapes, stable across recompiles and independent of the spec', () => {
  assert.match(policyChainName('x', 'p', 'ipv4', 'ingress'), /^KUBE-NWPLCY-[A-Z2-7]{16}$/);
  assert.match(podChainName('x', 'a', 'ipv4'), /^KUBE-POD-FW-[A-Z2-7]{16}$/);
  assert.notEqual(policyChainName('x', 'p', 'ipv4', 'ingress'), policyChainName('x', 'p', 'ipv6', 'ingress'));
  assert.equal(hash16('abc'), hash16('abc'));
  const c = Cluster.e2e().policy('x', 'p', { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  const n1 = [...c.desired(NODE1).iptables.ipv4!.chains.keys()].sort();
  c.pods.put(mkPod('x', 'a', '10.244.1.99', NODE1)); // new IP
  c.policy('x', 'p', { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }] }] }); // new rules
  const n2 = [...c.desired(NODE1).iptables.ipv4!.chains.keys()].sort();
  assert.deepEqual(n2, n1, 'same chains: names hash identity, not content or a sync version');
});

test('sets: one set per distinct peer selector, shared by every policy that repeats it', () => {
  const c = Cluster.e2e();
  for (let i = 0; i < 20; i++) {
    c.policy(`x`, `p${i}`, { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'a', 'a'] }] } }], ports: [{ port: 80 + i }] }] });
  }
  const d = c.desired(NODE1);
  assert.equal(d.ipsets.length, 1);
  assert.deepEqual([...d.ipsets[0].entries], [c.ip('y/a'), c.ip('y/b')].sort());
  // Key order and value order do not matter for the canonical form.
  assert.equal(compileSelector({ matchLabels: { a: '1', b: '2' } }).canonical, compileSelector({ matchLabels: { b: '2', a: '1' } }).canonical);
  assert.equal(
    compileSelector({ matchExpressions: [{ key: 'k', operator: 'In', values: ['2', '1'] }] }).canonical,
    compileSelector({ matchExpressions: [{ key: 'k', operator: 'In', values: ['1', '2', '1'] }] }).canonical,
  );
});

test('fail closed: a policy that cannot be compiled is reported by name and field, isolates its pods, others enforced', () => {
  const bad = Cluster.e2e()
    .policy('x', 'bad-cidr', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }, { from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })
    .policy('x', 'bad-op', { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'Near' as never }] } }] }] })
    .policy('y', 'good', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  const d = bad.desired(NODE1);
  assert.deepEqual(
    d.errors.map((e) => `${e.context.object} ${e.context.field}`),
    ['NetworkPolicy x/bad-cidr spec.ingress[0].from[0].ipBlock.cidr', 'NetworkPolicy x/bad-op spec.ingress[0].from[0].podSelector.matchExpressions[0].operator'],
  );
  assert.ok(d.errors.every((e) => e.code === 'KR_ERR_OBJECT'));
  assert.equal(bad.allowed('x/b', 'x/a'), false, 'the valid rule of a broken policy allows nothing');
  assert.equal(bad.allowed('y/a', 'x/c'), false);
  assert.ok(bad.allowed('y/a', 'x/b'), 'pods it does not select are untouched');
  assert.ok(bad.allowed('y/b', 'y/a'), 'other policies enforced');
  assert.equal(bad.allowed('y/c', 'y/a'), false);
  const p = compilePolicy({ metadata: { namespace: 'x', name: 'q' }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 80, endPort: 70 }] }] } }, ctxFor(NODE1));
  assert.equal(p.errors[0]?.context.field, 'spec.ingress[0].ports[0].endPort');
  assert.equal(p.sets.size, 0);
});

test('--netpol-default-deny: local pods (selected or not) in kube-router-local-pods, REJECT gate in TAIL; off without a pod CIDR', () => {
  const c = Cluster.e2e({ defaultDeny: true }).policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } } });
  const d = c.desired(NODE1);
  assert.deepEqual([...d.localPods[0].entries].sort(), ['x/a', 'x/b', 'y/a', 'y/b', 'z/a', 'z/b'].map((k) => c.ip(k)).sort());
  assert.ok(c.allowed('y/a', 'x/b'), 'unselected local pods stay reachable');
  assert.equal(c.allowed('y/a', 'x/a'), false);
  // A pod the compiler has not seen yet is rejected.
  const { evaluate } = awaitEvaluate();
  assert.equal(evaluate(d, { src: '10.244.2.5', dst: '10.244.1.200', proto: 'tcp', dport: 80, hook: 'FORWARD' }).verdict, 'REJECT');
  const off = Cluster.e2e({ defaultDeny: true, podCidrs: [] }).desired(NODE1);
  assert.equal(off.localPods.length, 0);
  assert.match(off.warnings[0], /pod CIDR/);
});

test('KUBE-ROUTER-INPUT returns early for service, node-port, external and LB ranges of its family only', () => {
  const c = Cluster.e2e({ serviceClusterIpRanges: ['10.96.0.0/12', 'fd00::/108'], serviceExternalIpRanges: ['203.0.113.0/24'], loadbalancerIpRanges: ['198.51.100.0/24'], nodePortRange: '30000:32767' });
  const input = c.desired(NODE1).iptables.ipv4!.chains.get('KUBE-ROUTER-INPUT')!;
  assert.deepEqual(input.filter((r) => r.endsWith('-j RETURN')), [
    '-d 10.96.0.0/12 -j RETURN',
    '-p tcp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN',
    '-p udp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN',
    '-p sctp -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN',
    '-d 203.0.113.0/24 -j RETURN',
    '-d 198.51.100.0/24 -j RETURN',
  ]);
});

test('dual stack: per-family chains and inet6: set twins; ipBlocks only in their family', () => {
  const c = new Cluster({ families: ['ipv4', 'ipv6'], serviceClusterIpRanges: ['10.96.0.0/12', 'fd00::/108'] });
  c.namespaces.put(mkNs('x'));
  const pod = mkPod('x', 'a', '10.244.1.10', NODE1);
  pod.status!.podIPs = [{ ip: '10.244.1.10' }, { ip: 'fd00:244:1::10' }];
  c.pods.put(pod);
  c.policy('x', 'p', { ingress: [{ from: [{ podSelector: {} }, { ipBlock: { cidr: '::/0' } }] }] });
  const d = c.desired(NODE1);
  assert.ok(d.iptables.ipv6!.chains.get('KUBE-ROUTER-INPUT')!.includes('-d fd00::/108 -j RETURN'));
  const names = d.ipsets.map((s) => `${s.name} ${s.family} ${[...s.entries].join(',')}`);
  assert.equal(names.length, 3);
  assert.ok(names.some((n) => /^inet6:KUBE-SRC-[A-Z2-7]{16} inet6 8000::\/1,::\/1$/.test(n)));
  assert.ok(names.some((n) => /^inet6:KUBE-SRC-[A-Z2-7]{16} inet6 fd00:244:1::10$/.test(n)));
  assert.ok(names.some((n) => /^KUBE-SRC-[A-Z2-7]{16} inet 10.244.1.10$/.test(n)));
  assert.ok(d.ipsets.every((s) => s.name.length <= 31));
});

test('comments: sanitized when kept', () => {
  assert.equal(sanitizeForComment('a"b\\c\nd\x00e'), 'abcde');
  const c = new Cluster({ ruleComments: true });
  c.namespaces.put(mkNs('x'));
  c.pods.put(mkPod('x', 'a', '10.244.1.10', NODE1));
  c.policy('x', 'p', {});
  const rules = [...c.desired(NODE1).iptables.ipv4!.chains.values()].flat();
  assert.ok(rules.some((r) => r.includes('-m comment --comment "run through nw policy x/p"')));
  assert.ok(rules.every((r) => (r.match(/"/g) ?? []).length % 2 === 0));
});

import { evaluate as evaluateFn } from './firewall-fixtures.js';
function awaitEvaluate(): { evaluate: typeof evaluateFn } {
  return { evaluate: evaluateFn };
}

test('policies sharing a podSelector: each selected pod jumps once to their KUBE-NWPLCY-SEL chain, which jumps to each; one policy: a direct jump', () => {
  const sel = { matchLabels: { pod: 'a' } };
  const c = Cluster.e2e().policy('x', 'from-b', { podSelector: sel, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] });
  const podChain = podChainName('x', 'a', 'ipv4');
  const rulesOf = (d: FirewallDesired, chain: string): readonly string[] => d.iptables.ipv4!.chains.get(chain) ?? [];
  const one = c.desired(NODE1);
  assert.ok(rulesOf(one, podChain).includes(`-d ${c.ip('x/a')} -j ${policyChainName('x', 'from-b', 'ipv4', 'ingress')}`));
  assert.ok(![...one.iptables.ipv4!.chains.keys()].some((k) => k.startsWith('KUBE-NWPLCY-SEL-')));
  c.policy('x', 'from-c', { podSelector: sel, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }] }] });
  c.pods.put(mkPod('x', 'a2', '10.244.1.78', NODE1, { pod: 'a' }));
  const two = c.desired(NODE1);
  const selChains = [...two.iptables.ipv4!.chains.keys()].filter((k) => k.startsWith('KUBE-NWPLCY-SEL-'));
  assert.equal(selChains.length, 1);
  assert.match(selChains[0], /^KUBE-NWPLCY-SEL-[A-Z2-7]{12}$/);
  assert.deepEqual(rulesOf(two, selChains[0]), [`-j ${policyChainName('x', 'from-b', 'ipv4', 'ingress')}`, `-j ${policyChainName('x', 'from-c', 'ipv4', 'ingress')}`]);
  for (const [pod, ip] of [['a', c.ip('x/a')], ['a2', '10.244.1.78']]) {
    const jumps = rulesOf(two, podChainName('x', pod, 'ipv4')).filter((r) => r.startsWith(`-d ${ip} -j KUBE-NWPLCY-`));
    assert.deepEqual(jumps, [`-d ${ip} -j ${selChains[0]}`], `x/${pod}: one jump for both policies`);
  }
  // The union still holds through the shared chain, and pods of another selector are untouched.
  assert.ok(c.allowed('x/b', 'x/a') && c.allowed('x/c', 'x/a') && c.allowed('x/b', 'x/a2'));
  assert.equal(c.allowed('y/b', 'x/a'), false);
  assert.ok(c.allowed('y/b', 'x/b'));
  // A third policy of the selector: the pods' chains do not change, the shared chain gains a jump.
  c.policy('x', 'from-y', { podSelector: sel, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] });
  const three = c.desired(NODE1);
  assert.deepEqual(rulesOf(three, podChain), rulesOf(two, podChain));
  assert.equal(rulesOf(three, selChains[0]).length, 3);
  assert.ok(c.allowed('y/b', 'x/a'));
});
