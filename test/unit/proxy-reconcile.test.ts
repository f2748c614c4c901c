// planIpvs: minimum mutations in dependency order, managed ranges, partial scope.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isManaged, managedRanges, planIpvs, type DesiredVirtualService } from '../../src/controllers/proxy/reconcile-ipvs.js';
import { desiredIpsets, desiredNat } from '../../src/controllers/proxy/reconcile-tables.js';
import {
  ipvsDestination,
  ipvsService,
  serviceKey,
  zeroStats,
  type IpvsDestination,
  type IpvsServiceWithDestinations,
} from '../../src/kernel/ipvs/types.js';

const ranges = managedRanges(['10.96.0.0/12'], ['192.168.1.10'], ['10.100.0.0/16']);

function kernelEntry(address: string, port: number, dests: IpvsDestination[], scheduler = 'rr'): IpvsServiceWithDestinations {
  return {
    service: { ...ipvsService({ address, port, scheduler }), stats: zeroStats() },
    destinations: dests.map((d) => ({ ...d, activeConns: 0, inactConns: 0, persistConns: 0, stats: zeroStats() })),
  };
}

function want(address: string, port: number, dests: IpvsDestination[], scheduler = 'rr'): [string, DesiredVirtualService] {
  const service = ipvsService({ address, port, scheduler });
  return [serviceKey(service), { service, destinations: dests }];
}

const d = (a: string, p = 8080): IpvsDestination => ipvsDestination({ address: a, port: p });

test('managed: cluster range and node IPs and DSR fwmarks; not excluded, not foreign, not other fwmarks', () => {
  assert.equal(isManaged({ address: '10.96.0.10', fwmark: 0 }, ranges), true);
  assert.equal(isManaged({ address: '192.168.1.10', fwmark: 0 }, ranges), true);
  assert.equal(isManaged({ address: '10.100.0.1', fwmark: 0 }, ranges), false);
  assert.equal(isManaged({ address: '192.0.2.1', fwmark: 0 }, ranges), false);
  assert.equal(isManaged({ address: '', fwmark: 7 }, ranges), true);
  assert.equal(isManaged({ address: '', fwmark: 0x3fff }, ranges), true);
  assert.equal(isManaged({ address: '', fwmark: 0x4000 }, ranges), false);
});

test('plan order: services, destination adds/updates, destination deletes, service deletes', () => {
  const desired = new Map([want('10.96.0.10', 80, [d('10.244.1.5'), d('10.244.1.6')], 'lc'), want('10.96.0.11', 80, [d('10.244.1.7')])]);
  const actual = [
    kernelEntry('10.96.0.10', 80, [d('10.244.1.5'), d('10.244.1.9')]),
    kernelEntry('10.96.0.12', 80, [d('10.244.1.8')]),
    kernelEntry('192.0.2.1', 80, []),
  ];
  const plan = planIpvs(desired, actual, ranges);
  assert.deepEqual(
    plan.ops.map((o) => `${o.op} ${serviceKey(o.service)}${'destination' in o ? ` ${o.destination.address}` : ''}`),
    [
      'updateService TCP 10.96.0.10:80',
      'addService TCP 10.96.0.11:80',
      'addDestination TCP 10.96.0.10:80 10.244.1.6',
      'addDestination TCP 10.96.0.11:80 10.244.1.7',
      'deleteDestination TCP 10.96.0.10:80 10.244.1.9',
      'deleteService TCP 10.96.0.12:80',
    ],
  );
});

test('equal state plans nothing; a partial scope ignores everything else', () => {
  const desired = new Map([want('10.96.0.10', 80, [d('10.244.1.5')])]);
  assert.equal(planIpvs(desired, [kernelEntry('10.96.0.10', 80, [d('10.244.1.5')])], ranges).ops.length, 0);
  const stale = [kernelEntry('10.96.0.10', 80, [d('10.244.1.5')]), kernelEntry('10.96.0.12', 80, [])];
  assert.equal(planIpvs(desired, stale, ranges, new Set(['TCP 10.96.0.10:80'])).ops.length, 0);
  assert.equal(planIpvs(desired, stale, ranges).ops.length, 1);
});

test('tables: fixed rules whatever the number of services; masquerade-all drops the pod CIDR clause', () => {
  const input = { services: [], localIPs: ['192.168.1.10', 'fd00::1'], nodeIP: '192.168.1.10', podCidr: '10.244.0.0/16', masqueradeAll: false, permitAll: true };
  const nat = desiredNat(input);
  assert.ok(nat.jumps.some((j) => j.rule === '-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ ! -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j SNAT --to-source 192.168.1.10'));
  assert.ok(desiredNat({ ...input, masqueradeAll: true }).jumps.some((j) => j.rule === '-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ -j SNAT --to-source 192.168.1.10'));
  assert.deepEqual([...desiredIpsets(input)[2].entries], ['192.168.1.10']);
});

// Graceful termination (--ipvs-graceful-termination).
function withConns(e: IpvsServiceWithDestinations, address: string, active: number, inact: number, weight = 1): IpvsServiceWithDestinations {
  return { ...e, destinations: e.destinations.map((x) => (x.address === address ? { ...x, activeConns: active, inactConns: inact, weight } : x)) };
}

test('graceful: a removed TCP destination with connections gets weight 0 and is kept draining', () => {
  const desired = new Map([want('10.96.0.10', 80, [d('10.244.1.5')])]);
  const actual = [withConns(kernelEntry('10.96.0.10', 80, [d('10.244.1.5'), d('10.244.1.9')]), '10.244.1.9', 1, 3)];
  const plan = planIpvs(desired, actual, ranges, undefined, { periodMs: 30_000, now: 1_000, since: new Map() });
  assert.deepEqual(plan.ops.map((o) => [o.op, 'destination' in o ? `${o.destination.address} w${o.destination.weight}` : '']), [['updateDestination', '10.244.1.9 w0']]);
  assert.deepEqual([...plan.draining], [['TCP 10.96.0.10:80|10.244.1.9:8080', 1_000]]);
  // Already at weight 0, still connected, inside its period: nothing to do, still draining since its start.
  const again = planIpvs(desired, [withConns(actual[0], '10.244.1.9', 0, 1, 0)], ranges, undefined, { periodMs: 30_000, now: 20_000, since: plan.draining });
  assert.deepEqual(again.ops, []);
  assert.deepEqual([...again.draining], [['TCP 10.96.0.10:80|10.244.1.9:8080', 1_000]]);
});

test('graceful: deleted once its connections are gone, or when its period is over', () => {
  const desired = new Map([want('10.96.0.10', 80, [d('10.244.1.5')])]);
  const since = new Map([['TCP 10.96.0.10:80|10.244.1.9:8080', 1_000]]);
  const idle = planIpvs(desired, [withConns(kernelEntry('10.96.0.10', 80, [d('10.244.1.5'), d('10.244.1.9')]), '10.244.1.9', 0, 0, 0)], ranges, undefined, { periodMs: 30_000, now: 5_000, since });
  assert.deepEqual(idle.ops.map((o) => o.op), ['deleteDestination']);
  assert.equal(idle.draining.size, 0);
  const late = planIpvs(desired, [withConns(kernelEntry('10.96.0.10', 80, [d('10.244.1.5'), d('10.244.1.9')]), '10.244.1.9', 2, 0, 0)], ranges, undefined, { periodMs: 30_000, now: 31_000, since });
  assert.deepEqual(late.ops.map((o) => o.op), ['deleteDestination']);
  assert.equal(late.draining.size, 0);
});

test('graceful: UDP destinations and whole services go at once; an endpoint that returns gets its weight back', () => {
  const drain = { periodMs: 30_000, now: 1_000, since: new Map<string, number>() };
  const udpWant = ipvsService({ address: '10.96.0.10', port: 53, protocol: 'UDP', scheduler: 'rr' });
  const udpActual: IpvsServiceWithDestinations = {
    service: { ...udpWant, stats: zeroStats() },
    destinations: [{ ...d('10.244.1.9', 53), activeConns: 0, inactConns: 4, persistConns: 0, stats: zeroStats() }],
  };
  const gone = kernelEntry('10.96.0.12', 80, [d('10.244.1.8')]);
  const plan = planIpvs(new Map([[serviceKey(udpWant), { service: udpWant, destinations: [] }]]), [udpActual, withConns(gone, '10.244.1.8', 5, 0)], ranges, undefined, drain);
  assert.deepEqual(plan.ops.map((o) => o.op), ['deleteDestination', 'deleteService']);
  assert.equal(plan.draining.size, 0);
  const back = planIpvs(new Map([want('10.96.0.10', 80, [d('10.244.1.9')])]), [withConns(kernelEntry('10.96.0.10', 80, [d('10.244.1.9')]), '10.244.1.9', 1, 0, 0)], ranges, undefined, drain);
  assert.deepEqual(back.ops.map((o) => [o.op, 'destination' in o ? o.destination.weight : -1]), [['updateDestination', 1]]);
  assert.equal(back.draining.size, 0);
});

test('without graceful termination a removed destination with connections is deleted at once', () => {
  const desired = new Map([want('10.96.0.10', 80, [d('10.244.1.5')])]);
  const plan = planIpvs(desired, [withConns(kernelEntry('10.96.0.10', 80, [d('10.244.1.5'), d('10.244.1.9')]), '10.244.1.9', 3, 0)], ranges);
  assert.deepEqual(plan.ops.map((o) => o.op), ['deleteDestination']);
});
