// `kube-router explain`: the verdict agrees with the compiled iptables/ipset
// state (evaluated packet by packet by firewall-fixtures' evaluate) for every
// pod pair of the e2e layout under a range of policies, and names the
// policies and rule indexes that decide.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetworkPolicy, Protocol } from '../../src/informers/types.js';
import { explainFlow, explainText, type FlowEnd } from '../../src/cmd/tools/explain-eval.js';
import { ctxFor, Cluster, NODE1 } from './firewall-fixtures.js';

function end(c: Cluster, key: string): FlowEnd {
  const pod = c.pods.get(key);
  if (!pod) throw new Error(`no pod ${key}`);
  return { kind: 'pod', key, pod };
}

function explain(c: Cluster, from: string, to: string, port = 80, protocol: Protocol = 'TCP') {
  return explainFlow({ from: end(c, from), to: end(c, to), port, protocol, view: c.view, ctx: ctxFor(NODE1) });
}

const POLICIES: { name: string; ns: string; spec: Partial<NetworkPolicy['spec']> }[][] = [
  [{ name: 'deny-all', ns: 'x', spec: { policyTypes: ['Ingress'] } }],
  [{ name: 'allow-y-b', ns: 'x', spec: { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }] } }],
  [{ name: 'egress-to-y', ns: 'x', spec: { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] } }],
  [{ name: 'port-81', ns: 'x', spec: { ingress: [{ ports: [{ port: 81, protocol: 'TCP' }] }] } }],
  [{ name: 'named', ns: 'x', spec: { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }] } }],
  [{ name: 'ipblock', ns: 'y', spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } }] }] } }],
  [
    { name: 'deny-egress', ns: 'z', spec: { policyTypes: ['Egress'] } },
    { name: 'allow-dns-ish', ns: 'z', spec: { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 80, endPort: 81 }] }] } },
  ],
  [{ name: 'bad', ns: 'x', spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ ipBlock: { cidr: 'not-a-cidr' } }] }] } }],
  [{ name: 'ns-and-expr', ns: 'y', spec: { podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'c'] }] }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }] }] } }],
];

describe('explain agrees with the compiled firewall', () => {
  for (const [i, set] of POLICIES.entries()) {
    it(`policy set ${i + 1} (${set.map((p) => `${p.ns}/${p.name}`).join(', ')}): every pod pair, TCP 80/81 and UDP 81`, () => {
      const c = Cluster.e2e();
      for (const p of set) c.policy(p.ns, p.name, p.spec);
      const keys = c.pods.list().map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
      let denied = 0;
      for (const from of keys) {
        for (const to of keys) {
          if (from === to) continue;
          for (const [port, proto] of [[80, 'TCP'], [81, 'TCP'], [81, 'UDP']] as const) {
            const want = c.allowed(from, to, port, proto === 'TCP' ? 'tcp' : 'udp');
            const got = explain(c, from, to, port, proto);
            assert.equal(got.verdict === 'allow', want, `${from} -> ${to} ${proto}/${port}: ${explainText(got)}`);
            if (!want) denied++;
          }
        }
      }
      assert.ok(denied > 0, 'the policy set denies something');
    });
  }
});

describe('explain names the deciding policies and rules', () => {
  it('an allowed flow names the policy and the rule index; the other side is unisolated', () => {
    const c = Cluster.e2e()
      .policy('x', 'deny-all', { policyTypes: ['Ingress'] })
      .policy('x', 'allow-y-b', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'q' } } }] }, { from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }] });
    const e = explain(c, 'y/b', 'x/a');
    assert.equal(e.verdict, 'allow');
    assert.deepEqual(e.ingress.selectedBy, ['x/allow-y-b', 'x/deny-all']);
    assert.deepEqual(e.ingress.allowedBy, [{ policy: 'x/allow-y-b', direction: 'ingress', rule: 1 }]);
    assert.equal(e.egress.selectedBy.length, 0);
    assert.match(explainText(e), /^verdict: allow$/m);
    assert.match(explainText(e), /ingress x\/a: allow: allowed by x\/allow-y-b ingress\[1\]/);
  });

  it('a denied flow names every policy isolating the pod, and a fail-closed one', () => {
    const c = Cluster.e2e()
      .policy('x', 'deny-all', { policyTypes: ['Ingress'] })
      .policy('x', 'bad', { ingress: [{ from: [{ ipBlock: { cidr: 'nope' } }] }] });
    const e = explain(c, 'y/a', 'x/b');
    assert.equal(e.verdict, 'deny');
    assert.equal(e.ingress.verdict, 'deny');
    assert.deepEqual(e.ingress.selectedBy, ['x/bad', 'x/deny-all']);
    assert.deepEqual(e.ingress.failClosed, ['x/bad']);
    assert.match(e.ingress.reason, /isolated by x\/bad, x\/deny-all/);
  });

  it('an egress deny names the source side; a named port resolves on the destination pod', () => {
    const c = Cluster.e2e().policy('z', 'egress-named', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      egress: [{ ports: [{ port: 'serve-81-tcp', protocol: 'TCP' }] }],
    });
    assert.equal(explain(c, 'z/a', 'x/a', 80).egress.verdict, 'deny');
    const ok = explain(c, 'z/a', 'x/a', 81);
    assert.equal(ok.verdict, 'allow');
    assert.deepEqual(ok.egress.allowedBy, [{ policy: 'z/egress-named', direction: 'egress', rule: 0 }]);
  });

  it('an address that is no pod has no policy side; ipBlock except applies to it', () => {
    const c = Cluster.e2e().policy('y', 'ipblock', { ingress: [{ from: [{ ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } }] }] });
    const to = end(c, 'y/a');
    const run = (ip: string) => explainFlow({ from: { kind: 'ip', ip }, to, port: 80, protocol: 'TCP', view: c.view, ctx: ctxFor(NODE1) });
    assert.equal(run('192.0.2.5').verdict, 'allow');
    assert.equal(run('192.0.2.200').verdict, 'deny');
    assert.equal(run('192.0.2.5').egress.pod, '');
    assert.equal(c.allowedFromIp('192.0.2.200', 'y/a'), false);
    assert.equal(c.allowedFromIp('192.0.2.5', 'y/a'), true);
  });
});
