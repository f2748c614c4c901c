// The lab topology's plan without namespaces (src/lab/topology/plan.ts): the
// nodes' and the router's addresses and the `ip -batch` lines of the guest
// root, the router and each node, in particular a dual-stack lab with a
// second subnet (fd00:57::/64 behind the router), and what reads a node's
// IPv6 address from it (the controller-manager's node specs, the
// LabCluster's nodes()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GuestContext } from '../../src/lab/guest/context.js';
import { labNodeSpecs } from '../../src/lab/guest/integrations.js';
import { GuestLabCluster } from '../../src/lab/guest/lab-cluster.js';
import {
  checkedOptions,
  nodeLines,
  planNodes,
  planRouter,
  routerForwardingScript,
  routerLines,
  teardownLines,
  underlayLines,
} from '../../src/lab/topology/plan.js';
import type { TopologyOptions } from '../../src/lab/topology/types.js';
import { fakeHost, healthBody } from './lab-cluster-fakes.js';

function plan(opts: TopologyOptions) {
  const options = checkedOptions(opts);
  const nodes = planNodes(options);
  const router = planRouter(options);
  return { options, nodes, router };
}

const BOTH = { nodes: 3, secondSubnet: true, dualStack: true };

test('secondSubnet + dualStack: node3 is 192.168.57.13 and fd00:57::13 behind the router, the others on lab-br0', () => {
  const { nodes, router } = plan(BOTH);
  assert.deepEqual(
    nodes.map((n) => [n.name, n.ip, n.gateway, n.ip6, n.gateway6, n.subnet]),
    [
      ['node1', '192.168.56.11', '192.168.56.1', 'fd00:56::11', 'fd00:56::1', '192.168.56.0/24'],
      ['node2', '192.168.56.12', '192.168.56.1', 'fd00:56::12', 'fd00:56::1', '192.168.56.0/24'],
      ['node3', '192.168.57.13', '192.168.57.1', 'fd00:57::13', 'fd00:57::1', '192.168.57.0/24'],
    ],
  );
  assert.deepEqual(router, { name: 'router', ips: ['192.168.56.254', '192.168.57.1'], ips6: ['fd00:56::254', 'fd00:57::1'], netnsPath: '/run/netns/router' });
});

test('secondSubnet + dualStack: the router gets both IPv6 sides (nodad), an IPv6 default route and IPv6 forwarding', () => {
  const { router } = plan(BOTH);
  assert.ok(router !== undefined);
  assert.deepEqual(routerLines(router), [
    'link set lo up',
    'addr add 192.168.56.254/24 dev eth0',
    'link set eth0 up',
    'addr add 192.168.57.1/24 dev eth1',
    'link set eth1 up',
    'route add default via 192.168.56.1',
    'addr add fd00:56::254/64 dev eth0 nodad',
    'addr add fd00:57::1/64 dev eth1 nodad',
    'route add default via fd00:56::1',
  ]);
  assert.equal(routerForwardingScript(router), 'echo 1 > /proc/sys/net/ipv4/ip_forward\necho 1 > /proc/sys/net/ipv6/conf/all/forwarding');
});

test('secondSubnet + dualStack: first-subnet nodes route fd00:57::/64 via fd00:56::254 as they route 192.168.57.0/24 via 192.168.56.254', () => {
  const { nodes, router } = plan(BOTH);
  assert.deepEqual(nodeLines(nodes[0], router), [
    'link set lo up',
    'addr add 192.168.56.11/24 dev eth0',
    'link set eth0 up',
    'route add default via 192.168.56.1',
    'addr add fd00:56::11/64 dev eth0 nodad',
    'route add default via fd00:56::1',
    'route add 192.168.57.0/24 via 192.168.56.254',
    'route add fd00:57::/64 via fd00:56::254',
  ]);
  assert.deepEqual(nodeLines(nodes[2], router), [
    'link set lo up',
    'addr add 192.168.57.13/24 dev eth0',
    'link set eth0 up',
    'route add default via 192.168.57.1',
    'addr add fd00:57::13/64 dev eth0 nodad',
    'route add default via fd00:57::1',
  ]);
});

test('secondSubnet + dualStack: the guest root routes fd00:57::/64 via the router too, node3 hangs on lab-br1; teardown removes the route', () => {
  const { options, nodes, router } = plan(BOTH);
  const root = underlayLines(options, nodes, router);
  assert.ok(root.includes('addr add fd00:56::1/64 dev lab-br0 nodad'));
  assert.ok(root.includes('route add 192.168.57.0/24 via 192.168.56.254'));
  assert.ok(root.includes('route add fd00:57::/64 via fd00:56::254'));
  assert.ok(root.indexOf('addr add fd00:56::1/64 dev lab-br0 nodad') < root.indexOf('route add fd00:57::/64 via fd00:56::254'), 'the gateway is on-link first');
  assert.ok(root.includes('link set veth-node3 master lab-br1 up'));
  assert.ok(root.includes('link set veth-node1 master lab-br0 up'));
  assert.deepEqual(teardownLines(nodes, router).slice(-3), ['link del lab-br1', 'route del 192.168.57.0/24', 'route del fd00:57::/64']);
});

test('without dualStack or without secondSubnet the plan is as before (no IPv6 of the second subnet)', () => {
  const v4 = plan({ nodes: 3, secondSubnet: true });
  assert.equal(v4.router?.ips6, undefined);
  assert.equal(v4.nodes[2].ip6, undefined);
  assert.equal(v4.nodes[2].gateway6, undefined);
  assert.equal(routerForwardingScript(v4.router ?? assert.fail('router')), 'echo 1 > /proc/sys/net/ipv4/ip_forward');
  assert.deepEqual(nodeLines(v4.nodes[0], v4.router).slice(-1), ['route add 192.168.57.0/24 via 192.168.56.254']);
  assert.ok(!underlayLines(v4.options, v4.nodes, v4.router).some((l) => l.includes('fd00')));

  const dual = plan({ nodes: 3, dualStack: true });
  assert.equal(dual.router, undefined);
  assert.deepEqual(dual.nodes.map((n) => n.ip6), ['fd00:56::11', 'fd00:56::12', 'fd00:56::13']);
  assert.deepEqual(nodeLines(dual.nodes[2], undefined).slice(-2), ['addr add fd00:56::13/64 dev eth0 nodad', 'route add default via fd00:56::1']);
  assert.ok(!underlayLines(dual.options, dual.nodes, undefined).some((l) => l.includes('route add')));
});

test('checkedOptions accepts secondSubnet with dualStack; still refuses a second subnet with one node', () => {
  assert.deepEqual(checkedOptions(BOTH), BOTH);
  assert.deepEqual(checkedOptions({ nodes: 2 }), { nodes: 2, secondSubnet: false, dualStack: false });
  assert.throws(() => checkedOptions({ nodes: 1, secondSubnet: true, dualStack: true }), /secondSubnet needs at least 2 nodes/);
  assert.throws(() => checkedOptions({ nodes: 0 }), /nodes must be 1\.\.40/);
});

test('the controller-manager registers node3 with its second-subnet InternalIPs in both families', () => {
  const { nodes } = plan(BOTH);
  const ctx = { config: {}, topology: { nodes } } as unknown as GuestContext;
  assert.deepEqual(labNodeSpecs(ctx), [
    { name: 'node1', internalIP: '192.168.56.11', internalIP6: 'fd00:56::11' },
    { name: 'node2', internalIP: '192.168.56.12', internalIP6: 'fd00:56::12' },
    { name: 'node3', internalIP: '192.168.57.13', internalIP6: 'fd00:57::13' },
  ]);
});

test('nodes() of a dual-stack second-subnet lab: node3\'s fd00:57::13, the router with its lab-br0 IPv6 address; the lab counts as dual-stack with a second subnet', async () => {
  const { nodes, router } = plan(BOTH);
  const host = fakeHost({ router: true, dualStack: true });
  const c = new GuestLabCluster({ ...host, topology: { ...host.topology, nodes, router } }, { fetchHealth: async () => ({ body: healthBody('1') }) });
  assert.deepEqual(await c.nodes(), [
    { name: 'node1', ips: ['192.168.56.11'], role: 'node', ip6: 'fd00:56::11' },
    { name: 'node2', ips: ['192.168.56.12'], role: 'node', ip6: 'fd00:56::12' },
    { name: 'node3', ips: ['192.168.57.13'], role: 'node', ip6: 'fd00:57::13' },
    { name: 'router', ips: ['192.168.56.254', '192.168.57.1'], role: 'router', ip6: 'fd00:56::254' },
  ]);
  assert.equal(c.currentSpec().dualStack, true);
  assert.equal(c.currentSpec().secondSubnet, true);
});
