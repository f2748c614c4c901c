// `kube-router-lab run --family ipv4|ipv6`: flag parsing, the refusal of an
// IPv6 run on a running IPv4-only lab, the boot of a lab for an IPv6 run, the
// family in the POST body, and the guest route handing it to the runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootOptions, parseRunArgs, runScenarioCommand, type LabModule, type LabVmLike } from '../../src/lab/scenario/cli.js';
import { FakeCluster } from '../../src/lab/scenario/fake-cluster.js';
import { registerGuestRoutes, runRequest, SCENARIO_RUN_PATH, type ScenarioRouteHost } from '../../src/lab/scenario/guest.js';

function tmpFile(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'scenario-family-')), 'f.yaml');
  writeFileSync(p, text);
  return p;
}

const FILE = `cluster:
  nodes: 2
  agentArgs: ["--service-external-ip-range=198.51.100.0/24"]
steps:
  - settle: {}
`;

test('parseRunArgs: --family ipv4|ipv6 (or =), default ipv4, with --keep anywhere', () => {
  assert.deepEqual(parseRunArgs(['a.yaml']), { keep: false, family: 'ipv4', files: ['a.yaml'] });
  assert.deepEqual(parseRunArgs(['--family', 'ipv6', 'a.yaml', 'b.yaml']), { keep: false, family: 'ipv6', files: ['a.yaml', 'b.yaml'] });
  assert.deepEqual(parseRunArgs(['a.yaml', '--family=ipv4', '--keep']), { keep: true, family: 'ipv4', files: ['a.yaml'] });
  assert.equal(parseRunArgs(['--family', 'ipv5', 'a.yaml']), "--family must be ipv4 or ipv6, got 'ipv5'");
  assert.equal(parseRunArgs(['a.yaml', '--family']), '--family must be ipv4 or ipv6, got nothing');
  assert.equal(parseRunArgs(['--family=ipv6']), 'no scenario file given');
  assert.equal(parseRunArgs(['--fam', 'a.yaml']), 'unknown flag --fam');
});

interface Recorded {
  posts: unknown[];
  boots: unknown[];
  stopped: number;
}

function fakeLab(attached: { dualStack?: boolean } | undefined): { lab: () => Promise<LabModule>; rec: Recorded } {
  const rec: Recorded = { posts: [], boots: [], stopped: 0 };
  const vm = (state: { dualStack?: boolean }): LabVmLike => ({
    state,
    client: {
      async stream(_m, _p, body, onLine) {
        rec.posts.push(body);
        onLine({ done: true, passed: 1, failed: 0, exitCode: 0 });
      },
    },
    async stop() {
      rec.stopped++;
    },
  });
  const mod: LabModule = {
    attachLab: () => (attached === undefined ? undefined : vm(attached)),
    bootLab: async (opts) => {
      rec.boots.push({ ...opts, say: undefined });
      return vm({ dualStack: opts.dualStack });
    },
  };
  return { lab: async () => mod, rec };
}

async function run(argv: string[], attached: { dualStack?: boolean } | undefined) {
  const said: string[] = [];
  const { lab, rec } = fakeLab(attached);
  const code = await runScenarioCommand(argv, { write: () => undefined }, (l) => void said.push(l), lab);
  return { code, said, rec };
}

test('--family ipv6 on a running IPv4-only lab: a clear error, nothing posted', async () => {
  const f = tmpFile(FILE);
  const r = await run(['--family', 'ipv6', f], { dualStack: false });
  assert.equal(r.code, 1);
  assert.deepEqual(r.said, ['kube-router-lab run: --family ipv6 needs a dual-stack lab; the running lab was booted IPv4-only (kube-router-lab down; kube-router-lab up --dual-stack)']);
  assert.deepEqual(r.rec.posts, []);
  assert.equal((await run(['--family', 'ipv6', f], {})).code, 1, 'a lab state without dualStack is IPv4-only');
});

test('--family ipv6 on a running dual-stack lab posts the family; ipv4 posts the body as before', async () => {
  const f = tmpFile(FILE);
  const v6 = await run(['--family=ipv6', f], { dualStack: true });
  assert.equal(v6.code, 0);
  assert.deepEqual(v6.rec.posts, [{ files: [f], family: 'ipv6' }]);
  const v4 = await run([f], { dualStack: true });
  assert.deepEqual(v4.rec.posts, [{ files: [f] }], 'no family key in an IPv4 run');
  assert.equal((await run(['--family', 'ipv4', f], undefined)).code, 0);
});

test('with no lab up, an ipv6 run boots a dual-stack lab with the agents\' IPv6 flags', async () => {
  const f = tmpFile(FILE);
  const v6 = await run(['--family', 'ipv6', f], undefined);
  assert.equal(v6.code, 0);
  assert.deepEqual(v6.rec.boots, [
    {
      nodes: 2,
      secondSubnet: false,
      dualStack: true,
      agentArgs: ['--service-external-ip-range=198.51.100.0/24,2001:db8:51:100::/120', '--enable-ipv6=true', '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112'],
      say: undefined,
    },
  ]);
  assert.equal(v6.rec.stopped, 1);
  const v4 = await run([f], undefined);
  assert.deepEqual(v4.rec.boots, [{ nodes: 2, secondSubnet: false, dualStack: false, agentArgs: ['--service-external-ip-range=198.51.100.0/24'], say: undefined }]);
});

test('bootOptions: a range without a twin boots with the flags as written (the file\'s configure line reports it)', () => {
  const spec = { nodes: 3, secondSubnet: false, agentArgs: ['--loadbalancer-ip-range=100.64.200.0/31'], externalPeer: false };
  assert.deepEqual(bootOptions(spec, 'ipv6'), { nodes: 3, secondSubnet: false, dualStack: true, agentArgs: spec.agentArgs });
});

const SECOND_SUBNET_FILE = `cluster:
  nodes: 3
  secondSubnet: true
  agentArgs: ["--enable-overlay=true"]
steps:
  - settle: {}
`;

test('bootOptions: an ipv6 run of a secondSubnet file boots a dual-stack lab with the second subnet', () => {
  const spec = { nodes: 3, secondSubnet: true, agentArgs: ['--enable-overlay=true'], externalPeer: false };
  assert.deepEqual(bootOptions(spec, 'ipv6'), {
    nodes: 3,
    secondSubnet: true,
    dualStack: true,
    agentArgs: ['--enable-overlay=true', '--enable-ipv6=true', '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112'],
  });
  assert.deepEqual(bootOptions(spec, 'ipv4'), { nodes: 3, secondSubnet: true, dualStack: false, agentArgs: spec.agentArgs });
  assert.deepEqual(bootOptions({ ...spec, dualStack: true }, 'ipv4'), { nodes: 3, secondSubnet: true, dualStack: true, agentArgs: spec.agentArgs }, 'a file asking for both');
});

test('with no lab up, an ipv6 run of a secondSubnet file boots it dual-stack (nothing refuses the combination)', async () => {
  const f = tmpFile(SECOND_SUBNET_FILE);
  const v6 = await run(['--family', 'ipv6', f], undefined);
  assert.equal(v6.code, 0, v6.said.join('\n'));
  assert.deepEqual(v6.rec.boots, [
    {
      nodes: 3,
      secondSubnet: true,
      dualStack: true,
      agentArgs: ['--enable-overlay=true', '--enable-ipv6=true', '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112'],
      say: undefined,
    },
  ]);
  assert.deepEqual(v6.rec.posts, [{ files: [f], family: 'ipv6' }]);
});

test('a bad --family is a usage error (exit 2) before anything is parsed or booted', async () => {
  const r = await run(['--family', 'inet6', 'missing.yaml'], undefined);
  assert.equal(r.code, 2);
  assert.match(r.said[0], /^kube-router-lab run: --family must be ipv4 or ipv6, got 'inet6'\nusage: kube-router-lab run \[--keep\] \[--family ipv4\|ipv6\] FILE\.yaml\.\.\.$/);
  assert.deepEqual(r.rec.boots, []);
});

test('the guest route takes the family from the body and hands it to the runner', async () => {
  assert.deepEqual(runRequest({ files: ['/a.yaml'], family: 'ipv6' }), { files: ['/a.yaml'], retryDelayMs: undefined, family: 'ipv6' });
  assert.deepEqual(runRequest({ files: ['/a.yaml'] }), { files: ['/a.yaml'], retryDelayMs: undefined, family: undefined });
  assert.throws(() => runRequest({ files: ['/a.yaml'], family: 6 }), /family must be "ipv4" or "ipv6", got 6/);

  type Handler = (req: { body: unknown; signal: AbortSignal }) => Promise<unknown>;
  const routes = new Map<string, Handler>();
  const host: ScenarioRouteHost = { control: { route: (m, p, h) => void routes.set(`${m} ${p}`, h as Handler) } };
  const cluster = new FakeCluster({ dualStack: true });
  registerGuestRoutes(host, cluster);
  const handler = routes.get(`POST ${SCENARIO_RUN_PATH}`);
  assert.ok(handler !== undefined);
  const f = tmpFile(FILE);
  const stream = (await handler({ body: { files: [f], family: 'ipv6' }, signal: new AbortController().signal })) as AsyncIterable<unknown>;
  const objs: unknown[] = [];
  for await (const o of stream) objs.push(o);
  assert.deepEqual(objs.at(-1), { done: true, passed: 1, failed: 0, exitCode: 0 });
  assert.equal(cluster.family, 'ipv6');
  assert.match(cluster.calls[0], /^configure ipv6 /);
});
