// The keyed sorts of IPVS listings (sortServices, sortDestinations) give the
// comparators' order, and parseServiceKey inverts serviceKey.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compareDestinations,
  compareServices,
  ipvsDestination,
  ipvsService,
  parseServiceKey,
  serviceKey,
  sortDestinations,
  sortServices,
  type IpvsService,
} from '../../src/kernel/ipvs/types.js';

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const services: IpvsService[] = [
  ipvsService({ protocol: 'TCP', address: '10.96.0.10', port: 80 }),
  ipvsService({ protocol: 'UDP', address: '10.96.0.10', port: 53 }),
  ipvsService({ protocol: 'TCP', address: '10.96.0.10', port: 53 }),
  ipvsService({ protocol: 'SCTP', address: '10.96.0.10', port: 1 }),
  ipvsService({ protocol: 'TCP', address: '10.96.0.9', port: 65535 }),
  ipvsService({ protocol: 'TCP', address: '9.255.255.255', port: 80 }),
  ipvsService({ protocol: 'TCP', address: '192.168.1.10', port: 30000 }),
  ipvsService({ protocol: 'TCP', address: 'fd00:96::a', port: 80 }),
  ipvsService({ protocol: 'TCP', address: 'fd00:96::9', port: 443 }),
  ipvsService({ protocol: 'UDP', address: '::1', port: 53 }),
  ipvsService({ fwmark: 7 }),
  ipvsService({ fwmark: 7, af: 10 }),
  ipvsService({ fwmark: 300 }),
];

test('sortServices orders as compareServices (v4, v6, protocols, ports, fwmarks last)', () => {
  const want = [...services].sort(compareServices);
  for (let seed = 1; seed <= 20; seed++) assert.deepEqual(sortServices(shuffled(services, seed)).map(serviceKey), want.map(serviceKey));
});

test('sortDestinations orders as compareDestinations', () => {
  const dests = ['10.244.1.5:53', '10.244.1.10:53', '10.244.1.10:8080', '10.244.10.1:53', '9.0.0.1:1', 'fd00::5:53', 'fd00::10:53'].map((t) => {
    const i = t.lastIndexOf(':');
    return ipvsDestination({ address: t.slice(0, i), port: Number(t.slice(i + 1)) });
  });
  const want = [...dests].sort(compareDestinations);
  for (let seed = 1; seed <= 20; seed++) assert.deepEqual(sortDestinations(shuffled(dests, seed)), want);
  assert.deepEqual(sortDestinations([]), []);
});

test('parseServiceKey inverts serviceKey; other text is undefined', () => {
  for (const s of services) {
    const id = parseServiceKey(serviceKey(s));
    assert.ok(id, serviceKey(s));
    assert.equal(serviceKey(id), serviceKey(s));
    assert.equal(id.af, s.af);
  }
  for (const bad of ['', 'TCP 10.96.0.10', 'ICMP 10.96.0.10:80', 'TCP nope:80', 'FWM x IPv4', 'TCP [10.96.0.1:80']) assert.equal(parseServiceKey(bad), undefined, bad);
});
