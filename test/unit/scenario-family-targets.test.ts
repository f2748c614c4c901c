// Target and template resolution by family (TargetResolver), and a whole
// `--family ipv6` run on the in-memory dual-stack FakeCluster: probes go to
// IPv6 addresses, exec cmd/expect are templated (expect regex-escaped), and an
// IPv6 run on an IPv4-only lab fails its configure line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../src/lab/apiserver/types.js';
import { KubeRouterError } from '../../src/errors.js';
import { DEFAULT_CLUSTER_SPEC } from '../../src/lab/scenario/cluster.js';
import { FakeCluster, type FakeClusterOptions } from '../../src/lab/scenario/fake-cluster.js';
import type { IpFamily } from '../../src/lab/scenario/family.js';
import { runScenarioFiles } from '../../src/lab/scenario/runner.js';
import { renderExec } from '../../src/lab/scenario/step-exec.js';
import { TargetError, TargetResolver } from '../../src/lab/scenario/targets.js';
import { scanTemplates } from '../../src/lab/scenario/template.js';

const OBJECTS: StoredObject[] = [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x' }, spec: { nodeName: 'node2', containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'NodePort', ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'v4only', namespace: 'default' }, spec: { ipFamilyPolicy: 'SingleStack', ports: [{ port: 80 }] } },
];

async function cluster(opts: FakeClusterOptions = { dualStack: true }): Promise<FakeCluster> {
  const c = new FakeCluster(opts);
  await c.configure(DEFAULT_CLUSTER_SPEC);
  await c.apply(OBJECTS);
  return c;
}

function targetError(re: RegExp) {
  return (err: unknown) => err instanceof TargetError && err.code === 'KR_ERR_LAB' && re.test(err.message);
}

test('pod, service, nodeport and node targets resolve to the address of the family; literals pass through', async () => {
  const c = await cluster();
  const v4 = new TargetResolver(c);
  const v6 = new TargetResolver(c, 'ipv6');
  assert.equal(v4.family, 'ipv4', 'default family');
  assert.deepEqual(await v4.address('x/a', 80, undefined), { ip: '10.244.1.2', port: 80, protocol: 'TCP' });
  assert.deepEqual(await v6.address('x/a', 80, undefined), { ip: 'fd00:10:244:1::2', port: 80, protocol: 'TCP' });
  assert.deepEqual(await v4.address('service:default/web', undefined, undefined), { ip: '10.96.0.10', port: 80, protocol: 'TCP' });
  assert.deepEqual(await v6.address('service:default/web', undefined, undefined), { ip: 'fd00:10:96::a', port: 80, protocol: 'TCP' });
  assert.deepEqual(await v4.address('nodeport:default/web@node3', undefined, undefined), { ip: '192.168.56.13', port: 30000, protocol: 'TCP' });
  assert.deepEqual(await v6.address('nodeport:default/web@node3', undefined, undefined), { ip: 'fd00:56::13', port: 30000, protocol: 'TCP' });
  assert.equal(await v6.ip('node1'), 'fd00:56::11');
  assert.equal(await v4.ip('node1'), '192.168.56.11');
  assert.equal(await v6.ip('10.96.0.10'), '10.96.0.10', 'a literal is taken as written');
  assert.equal(await v4.ip('2001:db8::1'), '2001:db8::1');
  assert.deepEqual(await v6.place('node2'), { kind: 'node', name: 'node2' });
});

test('a pod, Service or node without an address of the family is an error naming it', async () => {
  const c = await cluster();
  const v6 = new TargetResolver(c, 'ipv6');
  await assert.rejects(v6.address('service:default/v4only', undefined, undefined), targetError(/^'service:default\/v4only': service default\/v4only has no IPv6 ClusterIP \(clusterIPs: 10\.96\.0\.11; ipFamilyPolicy/));
  const single = await cluster({});
  const s6 = new TargetResolver(single, 'ipv6');
  await assert.rejects(s6.address('x/a', 80, undefined), targetError(/^'x\/a': pod x\/a has no IPv6 address \(podIPs: 10\.244\.1\.2\)/));
  await assert.rejects(s6.ip('node1'), targetError(/^'node1': node 'node1' has no IPv6 address/));
  await assert.rejects(s6.address('nodeport:default/web@node2', undefined, undefined), targetError(/node 'node2' has no IPv6 address/));
  await assert.rejects(s6.template({ fn: 'nodeip', node: 'node2' }), targetError(/^'\{\{nodeip node2\}\}': node 'node2' has no IPv6 address/));
  // An IPv6-only pod in an IPv4 run: named too.
  await c.apply([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'six', namespace: 'x' }, spec: { nodeName: 'node1' } }]);
  const six = (await c.get('Pod', 'x', 'six')) as StoredObject;
  six.status = { phase: 'Running', podIPs: [{ ip: 'fd00:10:244:0::9' }] };
  c.objects.set('Pod/x/six', six);
  await assert.rejects(new TargetResolver(c).ip('x/six'), targetError(/pod x\/six has no IPv4 address \(podIPs: fd00:10:244:0::9\)/));
});

test('the cluster templates follow the family', async () => {
  const c = await cluster();
  const at = async (text: string, family: IpFamily): Promise<string[]> => {
    const r = new TargetResolver(c, family);
    return Promise.all(scanTemplates(text).map((u) => r.template(u.ref)));
  };
  const text = '{{ip x/a}} {{net x/a 24}} {{nodeip node1}} {{vip 198.51.100.20}} {{host-len}} {{net x/a 4 4}}';
  assert.deepEqual(await at(text, 'ipv4'), ['10.244.1.2', '10.244.1.0/24', '192.168.56.11', '198.51.100.20', '32', '0.0.0.0/4']);
  assert.deepEqual(await at(text, 'ipv6'), ['fd00:10:244:1::2', 'fd00:10:244:1::/120', 'fd00:56::11', '2001:db8:51:100::20', '128', 'f000::/4']);
});

test('{{nets}} and {{internal-ips}}: every family the run\'s agents serve (an IPv6 run\'s are dual-stack)', async () => {
  const c = await cluster();
  const at = async (text: string, family: IpFamily): Promise<string[]> => {
    const r = new TargetResolver(c, family);
    return Promise.all(scanTemplates(text).map((u) => r.template(u.ref)));
  };
  const text = '{{nets x/a 24 64}} {{internal-ips node1}}';
  assert.deepEqual(await at(text, 'ipv4'), ['10.244.1.0/24', '{type: InternalIP, address: "192.168.56.11"}']);
  assert.deepEqual(await at(text, 'ipv6'), [
    '10.244.1.0/24, fd00:10:244:1::/64',
    '{type: InternalIP, address: "192.168.56.11"}, {type: InternalIP, address: "fd00:56::11"}',
  ]);
  assert.throws(() => scanTemplates('{{nets x/a 24}}'), /expected \{\{nets ns\/pod N N6\}\}/);
});

test('a dual-stack lab with a second subnet: {{nodeip node3}}, node3 and the router resolve per family', async () => {
  const c = new FakeCluster({ dualStack: true });
  await c.configure({ ...DEFAULT_CLUSTER_SPEC, secondSubnet: true, dualStack: true });
  const at = async (text: string, family: IpFamily): Promise<string[]> => {
    const r = new TargetResolver(c, family);
    return Promise.all(scanTemplates(text).map((u) => r.template(u.ref)));
  };
  const text = '{{nodeip node1}} {{nodeip node3}} {{vip 192.168.57.13}} {{cidr 192.168.57.0/24}} {{nodeip router}}';
  assert.deepEqual(await at(text, 'ipv4'), ['192.168.56.11', '192.168.57.13', '192.168.57.13', '192.168.57.0/24', '192.168.56.254']);
  assert.deepEqual(await at(text, 'ipv6'), ['fd00:56::11', 'fd00:57::13', 'fd00:57::13', 'fd00:57::/64', 'fd00:56::254']);
  assert.equal(await new TargetResolver(c, 'ipv6').ip('node3'), 'fd00:57::13');
});

test('exec: cmd substituted as it is, expect and expectNot regex-escaped', async () => {
  const c = await cluster();
  const step = { cmd: '{{iptables}}-save | grep {{vip 10.96.100.10}}', expect: '-d {{vip 10.96.100.10}}/{{host-len}} ', expectNot: '{{set kube-router-svip}}' };
  assert.deepEqual(await renderExec(step, new TargetResolver(c)), {
    cmd: 'iptables-save | grep 10.96.100.10',
    expect: '-d 10\\.96\\.100\\.10/32 ',
    expectNot: 'kube-router-svip',
  });
  assert.deepEqual(await renderExec(step, new TargetResolver(c, 'ipv6')), {
    cmd: 'ip6tables-save | grep fd00:10:96::640a',
    expect: '-d fd00:10:96::640a/128 ',
    expectNot: 'inet6:kube-router-svip',
  });
  assert.deepEqual(await renderExec({ cmd: 'true' }, new TargetResolver(c)), { cmd: 'true', expect: undefined, expectNot: undefined });
});

const FILE = `cluster: {nodes: 3}
steps:
  - apply:
      - {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x}, spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}}
      - {apiVersion: v1, kind: Service, metadata: {name: web, namespace: x}, spec: {ipFamilyPolicy: PreferDualStack, ports: [{port: 80}]}}
  - probe: {from: node2, to: x/a, port: 80, expect: allow, body: "x/a"}
  - probe: {from: node2, to: "{{vip 198.51.100.20}}", port: 80, expect: deny}
  - probe: {from: node2, to: "service:x/web", expect: deny}
  - exec: {on: node1, cmd: "ip {{ip-family}} addr show dev kube-dummy-if", expect: "{{family}} {{vip 10.96.0.10}}"}
`;

async function runFile(family: IpFamily | undefined, copts: FakeClusterOptions) {
  const lines: string[] = [];
  const c = new FakeCluster({ exec: (_on, cmd) => ({ exitCode: 0, output: cmd.includes('-6') ? 'IPv6 fd00:10:96::a' : 'IPv4 10.96.0.10' }), ...copts });
  const sum = await runScenarioFiles(['f.yaml'], c, { write: (s) => void lines.push(...s.split('\n').filter((l) => l !== '')) }, {
    sleep: async () => undefined,
    parse: { readFile: () => FILE },
    ...(family === undefined ? {} : { family }),
  });
  const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { sum, json, c };
}

test('the same file runs in IPv4 and in IPv6', async () => {
  const v4 = await runFile(undefined, { dualStack: true });
  assert.equal(v4.sum.exitCode, 0, JSON.stringify(v4.json));
  assert.deepEqual(v4.json.slice(1, 4).map((j) => j.ip), ['10.244.0.2', '198.51.100.20', '10.96.0.10']);
  assert.equal(v4.c.family, 'ipv4');
  assert.equal(v4.c.calls[0], `configure ${JSON.stringify({ nodes: 3, secondSubnet: false, agentArgs: [], externalPeer: false })}`);

  const v6 = await runFile('ipv6', { dualStack: true });
  assert.equal(v6.sum.exitCode, 0, JSON.stringify(v6.json));
  assert.deepEqual(v6.json.slice(1, 4).map((j) => j.ip), ['fd00:10:244:0::2', '2001:db8:51:100::20', 'fd00:10:96::a']);
  assert.equal(v6.c.family, 'ipv6');
  assert.match(v6.c.calls[0], /^configure ipv6 /);
  const exec = v6.json[4];
  assert.equal(exec.cmd, 'ip -6 addr show dev kube-dummy-if', 'the line shows the command that ran');
  assert.equal(exec.expect, 'IPv6 fd00:10:96::a');
  assert.deepEqual(v6.json.map((j) => j.to).slice(1, 3), ['x/a', '{{vip 198.51.100.20}}'], 'the line shows `to` as written');
});

test('an IPv6 run on an IPv4-only lab fails the configure line with the reason', async () => {
  const r = await runFile('ipv6', {});
  assert.equal(r.sum.exitCode, 1);
  assert.equal(r.json.length, 1);
  assert.equal(r.json[0].kind, 'configure');
  assert.equal(r.json[0].skipped, 5);
  assert.match(String(r.json[0].error), /--family ipv6 needs a dual-stack lab/);
  const c = new FakeCluster();
  await assert.rejects(c.configure(DEFAULT_CLUSTER_SPEC, 'ipv6'), (e: unknown) => e instanceof KubeRouterError && e.context.field === 'family');
});

test('a probe body with a template: substring as it is, or a regex with the value escaped', async () => {
  const body = `cluster: {nodes: 3}
steps:
  - apply: {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x}, spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80}]}]}}
  - probe: {from: node2, to: x/a, port: 80, expect: allow, body: "client={{nodeip node2}}"}
  - probe: {from: node2, to: x/a, port: 80, expect: allow, body: "^x/a client={{nodeip node2}}:[0-9]+$"}
`;
  const run = async (client: string) => {
    const lines: string[] = [];
    const c = new FakeCluster({ reach: () => ({ connected: true, body: 'x/a', client }) });
    await runScenarioFiles(['b.yaml'], c, { write: (s) => void lines.push(...s.split('\n').filter((l) => l !== '')) }, { sleep: async () => undefined, parse: { readFile: () => body } });
    return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { ok: boolean; wantBody?: string });
  };
  const good = await run('192.168.56.12:4000');
  assert.deepEqual(good.map((j) => j.ok), [true, true, true]);
  assert.equal(good[2].wantBody, '^x/a client=192.168.56.12:[0-9]+$', 'the line shows the pattern with the value as it is');
  const bad = await run('192x168y56z12:4000');
  assert.deepEqual(bad.map((j) => j.ok), [true, false, false], 'an escaped dot matches a dot only');
});
