// The demo's check and report logic, pure: collected outputs and /healthz
// bodies in, PASS / FAIL / NOT BUILT YET lines out (src/lab/vm/demo-*.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateDemo, gate, healthOf, type DemoObservations, type NodeObs, type ScenarioRun } from '../../src/lab/vm/demo-checks.js';
import { inCidr, parseGobgpNeighbors, parseHealth, parseIpvs, parseSections, type NodeHealth, type Section } from '../../src/lab/vm/demo-parse.js';
import { nodeScript } from '../../src/lab/vm/demo-plan.js';
import { checkLines, exitCodeOf, indentRaw, RAW_MAX_LINES, renderReport, summaryLine, tally } from '../../src/lab/vm/demo-report.js';

const NODES = [
  { name: 'node1', ip: '192.168.56.11', cidr: '10.244.0.0/24' },
  { name: 'node2', ip: '192.168.56.12', cidr: '10.244.1.0/24' },
  { name: 'node3', ip: '192.168.56.13', cidr: '10.244.2.0/24' },
];
const POD_IPS: Record<string, string> = { 'web-1': '10.244.0.2', 'web-2': '10.244.1.2', 'web-3': '10.244.2.2', client: '10.244.0.3' };
const POD_NODE: Record<string, string> = { 'web-1': 'node1', 'web-2': 'node2', 'web-3': 'node3', client: 'node1' };
const CLUSTER_IP = '10.96.12.34';
const NP_CLUSTER_IP = '10.96.56.78';
const NODE_PORT = 31234;

function healthBody(state: 'not-built' | 'running', disabled: string[] = []): string {
  const controllers = ['routing', 'proxy', 'firewall']
    .filter((n) => !disabled.includes(n))
    .map((name) =>
      state === 'running'
        ? { name, running: true, healthy: true, lastSyncResourceVersion: '42' }
        : { name, running: false, healthy: false, reason: `enabled (--run-${name}) but not built yet` },
    );
  return JSON.stringify({ status: 'ok', healthy: true, ready: true, cacheSynced: true, resourceVersion: '42', controllers }, null, 2);
}

const section = (output: string, code: number | null = 0): Section => ({ output, code });

const EMPTY_IPVS = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn';

function fullIpvs(nodeIP: string): string {
  const reals = Object.entries(POD_IPS)
    .filter(([n]) => n.startsWith('web'))
    .map(([, ip]) => `  -> ${ip}:80                Masq    1      0          0`)
    .join('\n');
  return `${EMPTY_IPVS}\nTCP  ${CLUSTER_IP}:80 rr\n${reals}\nTCP  ${NP_CLUSTER_IP}:80 rr\n${reals}\nTCP  ${nodeIP}:${NODE_PORT} rr\n${reals}`;
}

function gobgpTable(self: string): string {
  const rows = NODES.filter((n) => n.name !== self).map((n) => `${n.ip} 64512 00:01:07 Establ      |        1         1`);
  return ['Peer            AS  Up/Down State       |#Received  Accepted', ...rows].join('\n');
}

function routesFor(self: string, withPeers: boolean): string {
  const me = NODES.find((n) => n.name === self);
  const own = `${me?.cidr ?? ''} dev kube-bridge proto kernel scope link src 10.244.0.1`;
  const peers = NODES.filter((n) => n.name !== self).map((n) => `${n.cidr} via ${n.ip} dev eth0 proto 17`);
  return ['192.168.56.0/24 dev eth0 proto kernel scope link src 192.168.56.11', own, ...(withPeers ? peers : [])].join('\n');
}

function list(items: unknown[]): unknown {
  return { apiVersion: 'v1', kind: 'List', items };
}

function kube(): Pick<DemoObservations, 'nodes' | 'pods' | 'services' | 'slices'> {
  const nodes = list(
    NODES.map((n) => ({
      metadata: { name: n.name },
      spec: { podCIDR: n.cidr },
      status: { addresses: [{ type: 'InternalIP', address: n.ip }], conditions: [{ type: 'Ready', status: 'True' }] },
    })),
  );
  const pods = list(Object.keys(POD_IPS).map((name) => ({ metadata: { name }, spec: { nodeName: POD_NODE[name] }, status: { phase: 'Running', podIP: POD_IPS[name] } })));
  const services = list([
    { metadata: { name: 'web' }, spec: { type: 'ClusterIP', clusterIP: CLUSTER_IP, ports: [{ port: 80, protocol: 'TCP' }] } },
    { metadata: { name: 'web-np' }, spec: { type: 'NodePort', clusterIP: NP_CLUSTER_IP, ports: [{ port: 80, protocol: 'TCP', nodePort: NODE_PORT }] } },
  ]);
  const endpoints = ['web-1', 'web-2', 'web-3'].map((n) => ({ addresses: [POD_IPS[n]], conditions: { ready: true }, targetRef: { name: n }, nodeName: POD_NODE[n] }));
  const slices = list(['web', 'web-np'].map((svc) => ({ metadata: { name: `${svc}-abcde`, labels: { 'kubernetes.io/service-name': svc } }, endpoints })));
  return {
    nodes: { json: nodes, table: 'NAME    STATUS   ROLES    AGE   VERSION\nnode1   Ready    <none>   1m    v1.31.0' },
    pods: { json: pods, table: 'NAME    READY   STATUS    RESTARTS   AGE   IP' },
    services: { json: services, table: 'NAME     TYPE        CLUSTER-IP' },
    slices: { json: slices, table: 'NAME        ADDRESSTYPE   PORTS   ENDPOINTS' },
  };
}

function probe(from: string, to: string, expect: 'allow' | 'deny', got: 'allow' | 'deny', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { file: 'x.yaml', step: 3, kind: 'probe', from, to, port: 80, protocol: 'TCP', expect, got, ...extra, ok: expect === got, ms: 1000 };
}

/** Today's cluster: no controller built, so only same-node traffic works. */
function todayRuns(): { deploy: ScenarioRun; policy: ScenarioRun } {
  return {
    deploy: {
      lines: [
        { kind: 'apply', objects: [], ok: true, ms: 120 },
        { kind: 'settle', ok: true, ms: 8000 },
        probe('demo/client', 'demo/web-1', 'allow', 'allow', { body: 'demo/web-1' }),
        probe('demo/client', 'demo/web-2', 'allow', 'deny', { error: 'timeout', retried: true }),
        probe('demo/client', 'demo/web-3', 'allow', 'deny', { error: 'timeout', retried: true }),
        probe('demo/client', 'service:demo/web', 'allow', 'deny', { ip: '10.96.12.34', replies: {}, error: 'timeout', retried: true }),
        probe('node1', 'nodeport:demo/web-np@node2', 'allow', 'deny', { error: 'connect ECONNREFUSED' }),
      ],
    },
    policy: {
      lines: [
        { kind: 'apply', ok: true, ms: 50 },
        { kind: 'settle', ok: true, ms: 300 },
        probe('demo/client', 'demo/web-1', 'deny', 'allow'),
        probe('demo/client', 'service:demo/web', 'deny', 'deny'),
        { kind: 'delete', ok: true, ms: 40 },
        { kind: 'settle', ok: true, ms: 300 },
        probe('demo/client', 'demo/web-1', 'allow', 'allow', { body: 'demo/web-1' }),
      ],
    },
  };
}

function today(): DemoObservations {
  const perNode: NodeObs[] = NODES.map((n) => ({
    node: n.name,
    sections: {
      health: section(healthBody('not-built')),
      ipvs: section(EMPTY_IPVS),
      gobgp: section('context deadline exceeded', 1),
      routes: section(routesFor(n.name, false)),
    },
  }));
  return { ...kube(), perNode, ...todayRuns() };
}

function future(): DemoObservations {
  const perNode: NodeObs[] = NODES.map((n) => ({
    node: n.name,
    sections: {
      health: section(healthBody('running')),
      ipvs: section(fullIpvs(n.ip)),
      gobgp: section(gobgpTable(n.name)),
      routes: section(routesFor(n.name, true)),
    },
  }));
  const allow = (l: Record<string, unknown>): Record<string, unknown> => (l.kind === 'probe' ? { ...l, got: l.expect, ok: true, error: undefined } : l);
  const runs = todayRuns();
  return { ...kube(), perNode, deploy: { lines: runs.deploy.lines.map(allow) }, policy: { lines: runs.policy.lines.map(allow) } };
}

describe('demo parsers', () => {
  it('splits the node script output into sections with their exit status', () => {
    const s = parseSections('@@demo-begin health\n{"a":1}\n@@demo-end health 0\n\n@@demo-begin gobgp\nerr\n@@demo-end gobgp 1\n@@demo-begin routes\npartial');
    assert.deepEqual(s.health, { output: '{"a":1}', code: 0 });
    assert.deepEqual(s.gobgp, { output: 'err', code: 1 });
    assert.deepEqual(s.routes, { output: 'partial', code: null });
    assert.match(nodeScript('192.168.56.11'), /curl -sS -m 5 http:\/\/192\.168\.56\.11:20244\/healthz/);
  });

  it('reads controller states from /healthz: not built, running, disabled, no answer', () => {
    const h = parseHealth('node1', healthBody('not-built', ['firewall']));
    assert.equal(h.answered, true);
    assert.equal(h.controllers.routing.state, 'not-built');
    assert.match(h.controllers.routing.note ?? '', /not built yet/);
    assert.equal(h.controllers.firewall.state, 'disabled');
    assert.equal(parseHealth('node1', healthBody('running')).controllers.proxy.state, 'running');
    const none = parseHealth('node2', 'curl: (7) Failed to connect');
    assert.equal(none.answered, false);
    assert.equal(none.controllers.routing.state, 'unknown');
  });

  it('parses ipvsadm -Ln, gobgp neighbor and CIDR membership', () => {
    const t = parseIpvs(fullIpvs('192.168.56.11'));
    assert.deepEqual(t.get(`TCP ${CLUSTER_IP}:80`), ['10.244.0.2:80', '10.244.1.2:80', '10.244.2.2:80']);
    assert.equal(parseIpvs(EMPTY_IPVS).size, 0);
    const peers = parseGobgpNeighbors(gobgpTable('node1'));
    assert.equal(peers.get('192.168.56.12'), 'Establ');
    assert.equal(peers.size, 2);
    assert.equal(inCidr('10.244.1.7', '10.244.1.0/24'), true);
    assert.equal(inCidr('10.244.2.7', '10.244.1.0/24'), false);
    assert.equal(inCidr('10.100.0.1', '10.96.0.0/12'), true);
  });
});

describe('demo checks', () => {
  it('gates on the controllers a check needs: not built wins over the result', () => {
    const h: NodeHealth[] = [parseHealth('node1', healthBody('not-built'))];
    assert.deepEqual(gate(false, ['proxy', 'routing'], h), { verdict: 'not-built', blocked: ['proxy', 'routing'] });
    assert.deepEqual(gate(false, [], h), { verdict: 'fail' });
    assert.deepEqual(gate(false, ['routing'], [parseHealth('node1', healthBody('running'))]), { verdict: 'fail' });
    assert.deepEqual(gate(true, ['routing'], [parseHealth('node1', 'no body')]), { verdict: 'pass' });
    assert.deepEqual(gate(true, ['firewall'], [parseHealth('node1', healthBody('running', ['firewall']))]), { verdict: 'not-enabled', blocked: ['firewall'] });
  });

  it('today: what exists passes, everything a controller provides is NOT BUILT YET, nothing fails', () => {
    const checks = evaluateDemo(today());
    const byVerdict = (v: string): string[] => checks.filter((c) => c.verdict === v).map((c) => c.title);
    assert.deepEqual(byVerdict('fail'), []);
    assert.equal(byVerdict('pass').length, 9);
    assert.equal(byVerdict('not-built').length, 16);
    const ipvs = checks.find((c) => c.title === 'node2: ipvsadm -Ln');
    assert.equal(ipvs?.verdict, 'not-built');
    assert.deepEqual(ipvs?.blocked, ['proxy']);
    assert.equal(ipvs?.seen, 'no virtual servers');
    assert.match(ipvs?.expected ?? '', new RegExp(`TCP ${CLUSTER_IP}:80, TCP ${NP_CLUSTER_IP}:80, TCP 192\\.168\\.56\\.12:${NODE_PORT}`));
    assert.equal(checks.find((c) => c.title.startsWith('ClusterIP'))?.seen, 'got deny (10.96.12.34:80); timeout; after one retry');
    const gobgp = checks.find((c) => c.title === 'node1: gobgp neighbor');
    assert.equal(gobgp?.seen, 'gobgp exit 1: context deadline exceeded');
    const t = tally(checks);
    assert.equal(summaryLine(t), 'demo: 9 passed, 0 failed, 16 not built yet');
    assert.equal(exitCodeOf(t), 0);
  });

  it('once the controllers run, the same expectations all PASS', () => {
    const checks = evaluateDemo(future());
    assert.deepEqual(
      checks.filter((c) => c.verdict !== 'pass').map((c) => `${c.title}: ${c.seen}`),
      [],
    );
    assert.equal(summaryLine(tally(checks)), 'demo: 25 passed, 0 failed, 0 not built yet');
  });

  it('a running controller that does not deliver FAILs (missing real server, missing route, policy not enforced)', () => {
    const obs = future();
    const n2 = obs.perNode[1];
    n2.sections.ipvs = section(fullIpvs('192.168.56.12').replace(/\n\s+-> 10\.244\.2\.2:80.*$/m, ''));
    n2.sections.routes = section(routesFor('node2', false));
    obs.policy?.lines.splice(2, 1, probe('demo/client', 'demo/web-1', 'deny', 'allow'));
    const failed = evaluateDemo(obs).filter((c) => c.verdict === 'fail');
    assert.deepEqual(
      failed.map((c) => c.title),
      ['node2: ipvsadm -Ln', "node2: ip route has the other nodes' podCIDRs", 'NetworkPolicy web-deny-ingress: client -> web-1 (same node) is blocked'],
    );
    assert.match(failed[0].seen, new RegExp(`missing TCP ${CLUSTER_IP}:80 -> 10\\.244\\.2\\.2:80`));
    assert.match(failed[1].seen, /10\.244\.0\.0\/24: no route/);
    assert.equal(exitCodeOf(tally(evaluateDemo(obs))), 1);
  });

  it('checks that need no controller FAIL for real: a pod outside its podCIDR, a same-node probe denied, a missing probe line', () => {
    const obs = today();
    const pods = obs.pods.json as { items: { status: { podIP: string } }[] };
    pods.items[1].status.podIP = '10.244.9.9';
    obs.deploy.lines = obs.deploy.lines.map((l) => (l.to === 'demo/web-1' ? probe('demo/client', 'demo/web-1', 'allow', 'deny', { error: 'timeout' }) : l));
    obs.policy = { lines: [], error: 'lab control: POST /v1/scenario/run: socket hang up' };
    const checks = evaluateDemo(obs);
    const fail = checks.filter((c) => c.verdict === 'fail');
    assert.ok(fail.some((c) => c.title.startsWith('pods Running') && /web-2 Running 10\.244\.9\.9 on node2 \(10\.244\.1\.0\/24\) <-/.test(c.seen)));
    assert.ok(fail.some((c) => c.title.startsWith('same-node') && c.seen === 'got deny; timeout'));
    assert.ok(fail.some((c) => c.title.startsWith('policy deleted') && /socket hang up/.test(c.seen)));
  });

  it('an agent without a /healthz answer fails the agents check and does not hide controller checks', () => {
    const obs = today();
    obs.perNode[2] = { node: 'node3', sections: {}, error: 'lab control: POST /v1/exec answered 404' };
    const checks = evaluateDemo(obs);
    assert.equal(checks[0].verdict, 'fail');
    assert.match(checks[0].seen, /node3: no \/healthz answer \(lab control: POST \/v1\/exec answered 404\)/);
    // node3's own checks: its controllers are unknown, so they are judged (and fail).
    assert.equal(checks.find((c) => c.title === 'node3: ipvsadm -Ln')?.verdict, 'fail');
    assert.equal(healthOf(obs)[2].answered, false);
  });
});

describe('demo report', () => {
  it('prints one line per check with what was expected and seen, raw output indented under it', () => {
    const checks = evaluateDemo(today());
    const ipvs = checks.find((c) => c.title === 'node1: ipvsadm -Ln');
    assert.ok(ipvs);
    const lines = checkLines(ipvs);
    assert.match(lines[0], /^NOT BUILT YET \(proxy controller\)  node1: ipvsadm -Ln: expected TCP .* -> the 3 web pods :80; seen no virtual servers$/);
    assert.equal(lines[1], '      IP Virtual Server version 1.2.1 (size=4096)');
    const cip = checks.find((c) => c.title.startsWith('ClusterIP'));
    assert.ok(cip);
    assert.match(checkLines(cip)[0], /^NOT BUILT YET \(proxy, routing controllers\)  ClusterIP: client -> Service demo\/web/);
    const same = checks.find((c) => c.title.startsWith('same-node'));
    assert.ok(same);
    assert.equal(checkLines(same)[0], 'PASS  same-node pod to pod: client -> web-1 (both on node1), TCP 80: expected allow: connects, reply demo/web-1; seen got allow; reply "demo/web-1"');
  });

  it('has section headers, says plainly what is not there yet, and ends with the summary', () => {
    const obs = today();
    const out = renderReport(evaluateDemo(obs), healthOf(obs));
    assert.ok(out.includes('== service proxy (IPVS)'));
    assert.ok(out.includes('== network policy'));
    const missing = out.slice(out.indexOf('== not there yet') + 1, -2);
    assert.equal(missing.length, 3);
    assert.match(missing[0], /^ {2}routing controller: enabled but not built yet \(agent \/healthz on node1, node2, node3\); it will provide .*; 10 check\(s\) wait for it$/);
    assert.equal(out.at(-1), 'demo: 9 passed, 0 failed, 16 not built yet');
    const done = renderReport(evaluateDemo(future()), healthOf(future()));
    assert.ok(done.includes('  nothing: every controller the agents enable is running'));
  });

  it('trims raw output', () => {
    const raw = Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat(i === 0 ? 300 : 1)}`).join('\n');
    const lines = indentRaw(`\n${raw}\n\n`);
    assert.equal(lines.length, RAW_MAX_LINES + 1);
    assert.ok(lines[0].endsWith('...'));
    assert.equal(lines.at(-1), `      ... (${40 - RAW_MAX_LINES} more lines)`);
    assert.deepEqual(indentRaw('  \n'), ['      (empty)']);
  });
});
