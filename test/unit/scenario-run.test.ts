import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeCluster, podPortsReach, type FakeClusterOptions } from '../../src/lab/scenario/fake-cluster.js';
import { runScenarioFiles, type RunOptions, type RunSummary } from '../../src/lab/scenario/runner.js';
import { TargetResolver } from '../../src/lab/scenario/targets.js';
import { DEFAULT_CLUSTER_SPEC } from '../../src/lab/scenario/cluster.js';

const PODS = `
  - apply: |
      apiVersion: v1
      kind: Pod
      metadata: {name: a, namespace: x}
      spec:
        nodeName: node1
        containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: b, namespace: x}
      spec:
        nodeName: node2
        containers: [{name: c, ports: [{containerPort: 80}]}]
`;

interface Run extends RunSummary {
  lines: string[];
  json: Record<string, unknown>[];
  sleeps: number[];
  cluster: FakeCluster;
}

async function run(files: Record<string, string>, copts: FakeClusterOptions = {}, ropts: RunOptions = {}, cluster = new FakeCluster(copts)): Promise<Run> {
  const lines: string[] = [];
  const sleeps: number[] = [];
  const out = { write: (s: string) => lines.push(...s.split('\n').filter((l) => l !== '')) };
  const summary = await runScenarioFiles(Object.keys(files), cluster, out, {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    parse: {
      readFile: (p) => {
        const f = files[p];
        if (f === undefined) throw new Error(`ENOENT ${p}`);
        return f;
      },
    },
    ...ropts,
  });
  const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { ...summary, lines, json, sleeps, cluster };
}

test('target resolution: pod, node, IP, service, nodeport', async () => {
  const c = new FakeCluster();
  await c.configure(DEFAULT_CLUSTER_SPEC);
  await c.apply([
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x' }, spec: { nodeName: 'node2' } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'NodePort', ports: [{ port: 53, protocol: 'UDP' }, { port: 80 }] },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
  ]);
  const r = new TargetResolver(c);
  assert.deepEqual(await r.address('x/a', 80, undefined), { ip: '10.244.1.2', port: 80, protocol: 'TCP' });
  assert.deepEqual(await r.address('node3', 22, 'TCP'), { ip: '192.168.56.13', port: 22, protocol: 'TCP' });
  assert.deepEqual(await r.address('10.96.0.10', 53, 'UDP'), { ip: '10.96.0.10', port: 53, protocol: 'UDP' });
  assert.deepEqual(await r.address('service:default/web', undefined, undefined), { ip: '10.96.0.10', port: 53, protocol: 'UDP' });
  assert.deepEqual(await r.address('service:default/web', 80, undefined), { ip: '10.96.0.10', port: 80, protocol: 'TCP' });
  assert.deepEqual(await r.address('service:default/web', 53, 'TCP'), { ip: '10.96.0.10', port: 53, protocol: 'TCP' });
  assert.deepEqual(await r.address('nodeport:default/web@node3', undefined, undefined), { ip: '192.168.56.13', port: 30000, protocol: 'UDP' });
  assert.deepEqual(await r.address('nodeport:default/web@node1', 80, undefined), { ip: '192.168.56.11', port: 30001, protocol: 'TCP' });
  assert.deepEqual(await r.address('nodeport:default/web@node1', 30001, undefined), { ip: '192.168.56.11', port: 30001, protocol: 'TCP' });
  assert.deepEqual(await r.place('x/a'), { kind: 'pod', namespace: 'x', name: 'a' });
  assert.deepEqual(await r.place('node1'), { kind: 'node', name: 'node1' });
  assert.equal(await r.template({ fn: 'net', namespace: 'x', pod: 'a', bits: 24 }), '10.244.1.0/24');
  assert.equal(await r.template({ fn: 'nodeip', node: 'node2' }), '192.168.56.12');
  await assert.rejects(r.address('x/nope', 80, undefined), /'x\/nope': no pod x\/nope/);
  await assert.rejects(r.address('node9', 80, undefined), /no node 'node9' \(nodes: node1, node2, node3\)/);
  await assert.rejects(r.address('service:default/nope', undefined, undefined), /no service default\/nope/);
  await assert.rejects(r.address('service:default/headless', undefined, undefined), /has no ClusterIP/);
  await assert.rejects(r.address('nodeport:default/web', undefined, undefined), /expected nodeport:namespace\/name@node/);
  await assert.rejects(r.address('nodeport:default/web@node1', 9999, undefined), /has no port 9999/);
  await assert.rejects(r.address('x/a', undefined, undefined), /a port is required/);
  await assert.rejects(r.place('x/nope'), /no such pod/);
});

test('templates in applied objects take the pods\' current IPs', async () => {
  const r = await run({
    's.yaml': `steps:${PODS}
  - apply: |
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: p, namespace: x}
      spec:
        podSelector: {}
        ingress: [{from: [{ipBlock: {cidr: "{{net x/a 24}}", except: ["{{ip x/b}}/32"]}}]}]
`,
  });
  assert.equal(r.exitCode, 0, r.lines.join('\n'));
  const pol = await r.cluster.get('NetworkPolicy', 'x', 'p');
  assert.deepEqual((pol?.spec as { ingress: unknown[] }).ingress, [{ from: [{ ipBlock: { cidr: '10.244.0.0/24', except: ['10.244.1.2/32'] } }] }]);
  assert.deepEqual(r.json[1].objects, ['NetworkPolicy x/p']);
});

test('a template naming a pod without an IP fails the apply and skips the rest of the file', async () => {
  const r = await run(
    {
      's.yaml': `steps:${PODS}
  - apply: {apiVersion: v1, kind: ConfigMap, metadata: {name: m, namespace: x}, data: {ip: "{{ip x/a}}"}}
  - probe: {from: x/a, to: x/b, port: 80, expect: allow}
`,
    },
    { assignPodIPs: false },
  );
  assert.equal(r.exitCode, 1);
  assert.equal(r.json.length, 2);
  assert.equal(r.json[1].ok, false);
  assert.equal(r.json[1].skipped, 1);
  assert.match(String(r.json[1].error), /\{\{ip x\/a\}\}.*pod x\/a has no IP/);
  assert.deepEqual(r.lines.slice(-2), ['s.yaml: 1 passed, 1 failed', '1 passed, 1 failed']);
});

test('consecutive probe and matrix steps run as one batch; other steps split batches', async () => {
  const r = await run({
    's.yaml': `steps:${PODS}
  - probe: {from: x/a, to: x/b, port: 80, expect: allow, body: "^x/b$"}
  - probe: {from: x/b, to: x/a, port: 53, protocol: UDP, expect: allow, body: x/a}
  - matrix: {pods: [x/a, x/b], expect: allow}
  - settle: {}
  - probe: {from: node1, to: x/a, port: 81, expect: deny}
  - probe: {from: x/a, to: x/b, port: 53, protocol: UDP, expect: deny}
`,
  });
  assert.equal(r.exitCode, 0, r.lines.join('\n'));
  assert.deepEqual(r.cluster.batches.map((b) => b.length), [6, 2]);
  assert.deepEqual(r.sleeps, []);
  const probes = r.json.filter((j) => j.kind === 'probe' || j.kind === 'matrix');
  assert.deepEqual(probes.map((j) => j.step), [2, 3, 4, 4, 4, 4, 6, 7]);
  assert.deepEqual(r.json[1], {
    file: 's.yaml',
    step: 2,
    kind: 'probe',
    from: 'x/a',
    to: 'x/b',
    ip: '10.244.1.2',
    port: 80,
    protocol: 'TCP',
    expect: 'allow',
    got: 'allow',
    wantBody: '^x/b$',
    body: 'x/b',
    ok: true,
    ms: 1,
  });
  assert.deepEqual(Object.keys(r.json[1]).slice(-2), ['ok', 'ms']);
  assert.deepEqual(r.cluster.batches[0][0], { from: { kind: 'pod', namespace: 'x', name: 'a' }, toIP: '10.244.1.2', port: 80, protocol: 'TCP', timeoutMs: 1000 });
});

test('wrong results are probed once more after 2 s, and pass if right then', async () => {
  // x/a -> x/b is denied in the first batch only (a policy not yet in place).
  const r = await run(
    { 's.yaml': `steps:${PODS}\n  - matrix: {pods: [x/a, x/b], expect: allow}\n` },
    { reach: (req, ctx) => (ctx.batch === 1 && req.toIP === '10.244.1.2' && req.from.kind === 'pod' && req.from.name === 'a' ? false : podPortsReach(req, ctx)) },
  );
  assert.equal(r.exitCode, 0, r.lines.join('\n'));
  assert.deepEqual(r.sleeps, [2000]);
  assert.deepEqual(r.cluster.batches.map((b) => b.length), [4, 1]);
  const retried = r.json.filter((j) => j.retried === true);
  assert.deepEqual(retried.map((j) => `${j.from}->${j.to}`), ['x/a->x/b']);
});

test('a wrong expectation fails with exit status 1 and a line naming the probe', async () => {
  const r = await run({
    's.yaml': `steps:${PODS}
  - probe: {from: x/a, to: x/b, port: 80, protocol: TCP, expect: deny}
  - probe: {from: x/b, to: x/a, port: 80, protocol: TCP, expect: allow, body: "y/z"}
`,
  });
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.sleeps, [2000]);
  assert.deepEqual(r.cluster.batches.map((b) => b.length), [2, 2]);
  const failed = r.json.filter((j) => j.ok === false);
  assert.equal(failed.length, 2);
  assert.deepEqual([failed[0].from, failed[0].to, failed[0].port, failed[0].protocol, failed[0].expect, failed[0].got, failed[0].retried], ['x/a', 'x/b', 80, 'TCP', 'deny', 'allow', true]);
  assert.deepEqual([failed[1].got, failed[1].body, failed[1].wantBody], ['allow', 'x/a', 'y/z']);
  assert.deepEqual(r.lines.slice(-2), ['s.yaml: 1 passed, 2 failed', '1 passed, 2 failed']);
});

test('a target that does not resolve is a failed probe, not a crash', async () => {
  const r = await run({ 's.yaml': `steps:${PODS}\n  - probe: {from: x/a, to: "service:x/none", expect: deny}\n  - probe: {from: x/a, to: x/b, port: 80, expect: allow}\n` });
  assert.equal(r.exitCode, 1);
  assert.equal(r.json[1].got, 'error');
  assert.match(String(r.json[1].error), /no service x\/none/);
  assert.equal(r.json[2].ok, true);
});

test('several files: per-file and total lines, reset between, agents restarted only when the cluster differs', async () => {
  const r = await run({
    'one.yaml': `steps:${PODS}\n  - probe: {from: x/a, to: x/b, port: 80, expect: allow}\n`,
    'two.yaml': `steps:${PODS}\n  - probe: {from: x/a, to: x/b, port: 80, expect: deny}\n`,
    'three.yaml': `cluster: {agentArgs: ["--run-firewall=true"]}\nsteps:\n  - settle: {}\n`,
  });
  assert.equal(r.exitCode, 1);
  const text = r.lines.filter((l) => !l.startsWith('{'));
  assert.deepEqual(text, ['one.yaml: 2 passed, 0 failed', 'two.yaml: 1 passed, 1 failed', 'three.yaml: 1 passed, 0 failed', '4 passed, 1 failed']);
  assert.equal(r.lines[r.lines.length - 1], '4 passed, 1 failed');
  assert.deepEqual(
    r.cluster.calls.filter((c) => c === 'reset' || c.startsWith('configure')).map((c) => c.split(' ')[0]),
    ['configure', 'reset', 'configure', 'reset', 'configure'],
  );
  assert.equal(r.cluster.agentRestarts, 2);
  assert.deepEqual(new Set(r.json.map((j) => j.file)), new Set(['one.yaml', 'two.yaml', 'three.yaml']));
});

test('a malformed file stops the run before anything touches the cluster', async () => {
  const r = await run({
    'good.yaml': 'steps:\n  - settle: {}\n',
    'bad.yaml': 'steps:\n  - settle: {}\n  - settle: {}\n  - settle: {}\n  - probe: {from: x/a, to: x/b, port: 80, expect: alow}\n',
  });
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.cluster.calls, []);
  assert.equal(r.json[0].kind, 'parse');
  assert.equal(r.json[0].error, "bad.yaml: step 4 (probe): field 'expect' must be allow or deny, got 'alow'");
  assert.deepEqual(r.lines.slice(-2), ['bad.yaml: 0 passed, 1 failed', '0 passed, 1 failed']);
});

test('exec expectations: exit status, regex on output, expectNot', async () => {
  const r = await run(
    {
      's.yaml': `steps:
  - exec: {on: node1, cmd: "ipvsadm -Ln", expect: "10\\\\.96\\\\.0\\\\.1:443"}
  - exec: {on: node1, cmd: "ip link show kube-dummy-if", expectExit: 1}
  - exec: {on: node2, cmd: "ipvsadm -Ln", expectNot: "10.96.0.1:443"}
  - exec: {on: node1, cmd: "false"}
`,
    },
    {
      exec: (_on, cmd) =>
        cmd === 'ipvsadm -Ln' ? { exitCode: 0, output: 'TCP  10.96.0.1:443 rr\n' } : cmd === 'false' ? { exitCode: 1, output: '' } : { exitCode: 1, output: 'no such device' },
    },
  );
  assert.deepEqual(r.json.map((j) => j.ok), [true, true, false, false]);
  assert.match(String(r.json[2].error), /output matches/);
  assert.match(String(r.json[3].error), /exit status 1, expected 0/);
  assert.deepEqual(r.cluster.calls.filter((c) => c.startsWith('exec')), ['exec node1 ipvsadm -Ln', 'exec node1 ip link show kube-dummy-if', 'exec node2 ipvsadm -Ln', 'exec node1 false']);
});

test('hold, restarts, stop/start and release', async () => {
  const files = {
    's.yaml': `steps:${PODS}
  - apply: {apiVersion: v1, kind: Service, metadata: {name: web, namespace: x}, spec: {ports: [{port: 80}]}}
  - hold: {name: c1, from: x/a, to: "service:x/web"}
  - restart: {agent: node2, signal: KILL}
  - restart: {apiserver: true, downFor: 30s}
  - stop: {agent: node1}
  - start: {agent: node1, args: ["--cleanup-config"], wait: exit}
  - start: {agent: node1}
  - release: {name: c1, expect: unbroken}
  - hold: {name: c2, from: node1, to: x/b, port: 80}
`,
  };
  const ok = await run(files);
  assert.equal(ok.exitCode, 0, ok.lines.join('\n'));
  assert.deepEqual(ok.cluster.calls.filter((c) => !c.startsWith('apply') && !c.startsWith('configure')), [
    'hold c1 x/a 10.96.0.10:80',
    'restartAgent node2 KILL',
    'restartApiServer 30000',
    'stopAgent node1',
    'startAgent node1 --cleanup-config exit',
    'startAgent node1 running',
    'release c1',
    'hold c2 node1 10.244.1.2:80',
    'release c2', // released at the end of the file, without a result line
  ]);
  assert.equal(ok.json.length, 10);
  const gap = await run(files, { release: () => ({ broken: false, maxGapMs: 1500 }) });
  assert.equal(gap.exitCode, 1);
  const rel = gap.json.find((j) => j.kind === 'release');
  assert.deepEqual([rel?.got, rel?.maxGapMs, rel?.ok], ['broken', 1500, false]);
  const exit = await run(files, { startExitCode: 3 });
  const start = exit.json.find((j) => j.kind === 'start');
  assert.deepEqual([start?.exitCode, start?.ok, start?.skipped], [3, false, 3]);
});

test('a rejected apply and a settle timeout are failures', async () => {
  const r = await run(
    { 's.yaml': 'steps:\n  - settle: {timeout: 5s}\n  - apply: {apiVersion: v1, kind: Bad, metadata: {name: b}}\n  - settle: {}\n' },
    { settle: () => ({ settled: false, pending: ['agent node2 at rv 3 < 7'] }) },
  );
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.json.map((j) => [j.kind, j.ok]), [['settle', false], ['apply', false]]);
  assert.deepEqual(r.json[0].pending, ['agent node2 at rv 3 < 7']);
  assert.equal(r.json[0].timeoutMs, 5000);
  assert.match(String(r.json[1].error), /Bad b: rejected/);
  assert.equal(r.json[1].skipped, 1);
});

test('repeated probes: every endpoint answers (bodies), affinity (sameBody), body templates', async () => {
  let n = 0;
  const r = await run(
    {
      's.yaml': `steps:${PODS}
  - apply: {apiVersion: v1, kind: Service, metadata: {name: web, namespace: x}, spec: {ports: [{port: 80}]}}
  - probe: {from: node1, to: "service:x/web", expect: allow, repeat: 6, bodies: [x/a, x/b]}
  - probe: {from: node1, to: "service:x/web", expect: allow, repeat: 4, sameBody: true}
  - probe: {from: x/b, to: x/a, port: 80, expect: allow, body: "{{ip x/b}}"}
`,
    },
    {
      // The service balances round-robin over x/a and x/b; pods echo the client's address.
      reach: (req, ctx) => {
        if (req.toIP === '10.96.0.10') return { connected: true, body: n++ % 2 === 0 ? 'x/a' : 'x/b' };
        const r0 = podPortsReach(req, ctx);
        return typeof r0 === 'boolean' ? r0 : { ...r0, body: `${r0.body ?? ''} from 10.244.1.2` };
      },
    },
  );
  const probes = r.json.filter((j) => j.kind === 'probe');
  assert.deepEqual(probes.map((j) => j.ok), [true, false, true]);
  assert.deepEqual(probes[0].replies, { 'x/a': 3, 'x/b': 3 });
  assert.match(String(probes[1].error), /replies differ: x\/a, x\/b/);
  assert.equal(probes[1].retried, true);
  assert.equal(probes[2].wantBody, '10.244.1.2');
  assert.deepEqual(r.cluster.batches.map((b) => b.length), [11, 4]);
});
