// The agents' flags of a `--family ipv6` run (family-args.ts) and where they
// are applied: GuestLabCluster.configure(spec, family), on the guest-context
// fakes. An IPv4 run keeps the flags exactly as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeRouterError } from '../../src/errors.js';
import { GuestLabCluster } from '../../src/lab/guest/lab-cluster.js';
import type { ClusterSpec } from '../../src/lab/scenario/cluster.js';
import { agentArgsForFamily, specForFamily } from '../../src/lab/scenario/family-args.js';
import { FamilyError } from '../../src/lab/scenario/family.js';
import { fakeHost, healthBody } from './lab-cluster-fakes.js';

const up = async () => ({ body: healthBody('999999') });

function isLabError(re: RegExp) {
  return (err: unknown) => err instanceof KubeRouterError && err.code === 'KR_ERR_LAB' && re.test(err.message);
}

const SERVICES_ARGS = ['--run-firewall=false', '--ipvs-sync-period=5s', '--service-external-ip-range=198.51.100.0/24', '--loadbalancer-ip-range=203.0.113.0/24'];

test('ipv6: IPv6 enabled, the Service range dual, every IPv4 range flag followed by its twin', () => {
  assert.deepEqual(agentArgsForFamily(SERVICES_ARGS, 'ipv6'), [
    '--run-firewall=false',
    '--ipvs-sync-period=5s',
    '--service-external-ip-range=198.51.100.0/24,2001:db8:51:100::/120',
    '--loadbalancer-ip-range=203.0.113.0/24,2001:db8:203:113::/120',
    '--enable-ipv6=true',
    '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112',
  ]);
  assert.deepEqual(agentArgsForFamily([], 'ipv6'), ['--enable-ipv6=true', '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112']);
});

test('ipv6: the file\'s own flags are extended, not duplicated; a second pass changes nothing', () => {
  const args = ['--enable-ipv6=false', '--service-cluster-ip-range=10.96.0.0/16', '--service-external-ip-range', '198.51.100.0/24,192.0.2.0/24', '--loadbalancer-ip-range=203.0.113.0/24,2001:db8:203:113::/120'];
  const once = agentArgsForFamily(args, 'ipv6');
  assert.deepEqual(once, [
    '--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112',
    '--service-external-ip-range',
    '198.51.100.0/24,2001:db8:51:100::/120,192.0.2.0/24,2001:db8:0:2::/120',
    '--loadbalancer-ip-range=203.0.113.0/24,2001:db8:203:113::/120',
    '--enable-ipv6=true',
  ]);
  assert.deepEqual(agentArgsForFamily(once, 'ipv6'), once);
});

test('ipv6: a range without a twin is an error naming it', () => {
  assert.throws(
    () => agentArgsForFamily(['--loadbalancer-ip-range=100.64.200.0/31'], 'ipv6'),
    (e: unknown) => e instanceof FamilyError && /^'100\.64\.200\.0\/31': has no IPv6 twin/.test(e.message),
  );
});

test('ipv4: the flags as written (the same array), and the spec itself', () => {
  assert.equal(agentArgsForFamily(SERVICES_ARGS, 'ipv4'), SERVICES_ARGS);
  const spec: ClusterSpec = { nodes: 2, secondSubnet: false, agentArgs: SERVICES_ARGS, externalPeer: false };
  assert.equal(specForFamily(spec, 'ipv4'), spec);
  assert.deepEqual(specForFamily(spec, 'ipv6'), { ...spec, dualStack: true, agentArgs: agentArgsForFamily(SERVICES_ARGS, 'ipv6') });
});

const SPEC: ClusterSpec = { nodes: 3, secondSubnet: false, agentArgs: ['--service-external-ip-range=198.51.100.0/24'], externalPeer: false };

async function startedHost(opts: { dualStack?: boolean; agentArgs?: string[] }) {
  const host = fakeHost(opts);
  host.agents.setBaseArgs(opts.agentArgs ?? []);
  for (const n of ['node1', 'node2', 'node3']) await host.agents.start(n);
  host.agents.calls.length = 0;
  return host;
}

test('configure in an ipv6 run gives the agents the IPv6 flags; back in ipv4 the file\'s flags as written', async () => {
  const host = await startedHost({ dualStack: true, agentArgs: SPEC.agentArgs });
  const c = new GuestLabCluster(host, { fetchHealth: up, pollMs: 5 });
  await c.configure(SPEC, 'ipv6');
  const v6 = ['--service-external-ip-range=198.51.100.0/24,2001:db8:51:100::/120', '--enable-ipv6=true', '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112'];
  assert.deepEqual(host.agents.calls.slice(0, 1), [`setBaseArgs ${v6.join(' ')}`]);
  assert.deepEqual(host.agents.statusOf('node1').args, v6);
  assert.deepEqual(c.currentSpec(), { ...SPEC, dualStack: true, agentArgs: v6 });
  host.agents.calls.length = 0;
  await c.configure(SPEC, 'ipv6');
  assert.deepEqual(host.agents.calls, [], 'the same run again: nothing to do');
  // A dual-stack file in an IPv4 run: its flags exactly as written.
  await c.configure({ ...SPEC, dualStack: true });
  assert.deepEqual(host.agents.calls[0], `setBaseArgs ${SPEC.agentArgs.join(' ')}`);
  assert.deepEqual(host.agents.statusOf('node3').args, SPEC.agentArgs);
});

test('configure in an ipv4 run is unchanged: no restart when the flags are the ones running', async () => {
  const host = await startedHost({ agentArgs: SPEC.agentArgs });
  const c = new GuestLabCluster(host, { fetchHealth: up, pollMs: 5 });
  await c.configure(SPEC);
  await c.configure(SPEC, 'ipv4');
  assert.deepEqual(host.agents.calls, []);
});

test('configure in an ipv6 run refuses an IPv4-only lab and a range without a twin', async () => {
  const c = new GuestLabCluster(await startedHost({}), { fetchHealth: up, pollMs: 5 });
  await assert.rejects(c.configure(SPEC, 'ipv6'), isLabError(/^--family ipv6 needs a dual-stack lab; this VM was booted IPv4-only \(kube-router-lab down; kube-router-lab up --dual-stack\)$/));
  const dual = await startedHost({ dualStack: true });
  const d = new GuestLabCluster(dual, { fetchHealth: up, pollMs: 5 });
  await assert.rejects(
    d.configure({ ...SPEC, agentArgs: ['--loadbalancer-ip-range=100.64.200.0/31'] }, 'ipv6'),
    isLabError(/^cluster: agentArgs of an ipv6 run: '100\.64\.200\.0\/31': has no IPv6 twin/),
  );
  assert.deepEqual(dual.agents.calls, [], 'no agent touched');
});

test('nodes() reports the nodes\' ip6 in a dual-stack lab only', async () => {
  const dual = new GuestLabCluster(fakeHost({ dualStack: true }), { fetchHealth: up });
  assert.deepEqual((await dual.nodes())[0], { name: 'node1', ips: ['192.168.56.11'], role: 'node', ip6: 'fd00:56::11' });
  const v4 = new GuestLabCluster(fakeHost(), { fetchHealth: up });
  assert.deepEqual((await v4.nodes())[2], { name: 'node3', ips: ['192.168.56.13'], role: 'node' });
});
