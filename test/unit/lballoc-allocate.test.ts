// The pure LoadBalancer allocator: which Services, which addresses, stability,
// freed addresses, conflicts, spec.loadBalancerIP, families and warnings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planAllocations, type AllocationInput } from '../../src/controllers/lballoc/allocate.js';
import { nextFree, parsePools, poolsContain } from '../../src/controllers/lballoc/ranges.js';
import { ingressPatch } from '../../src/kube/service-status.js';
import type { Service } from '../../src/informers/types.js';

let seq = 0;
function svc(name: string, spec: Partial<Service['spec']> = {}, ingress?: string[], extra: { ns?: string; created?: string; rv?: string } = {}): Service {
  seq++;
  return {
    metadata: {
      name,
      namespace: extra.ns ?? 'default',
      resourceVersion: extra.rv ?? String(100 + seq),
      creationTimestamp: extra.created ?? `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`,
    },
    spec: { type: 'LoadBalancer', clusterIP: `10.96.0.${seq % 250}`, ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', ...spec },
    status: ingress ? { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } } : undefined,
  };
}

function plan(services: Service[], ranges = ['10.200.0.0/30'], more: Partial<AllocationInput> = {}) {
  return planAllocations({ services, pools: parsePools(ranges), defaultClass: true, ...more });
}

function desiredOf(p: ReturnType<typeof plan>, key: string): string[] | undefined {
  return p.changes.find((c) => c.key === key)?.desired.map((e) => e.ip ?? '');
}

describe('pools', () => {
  it('every address of a CIDR, host bits ignored, v4 and v6 apart', () => {
    const p = parsePools(['10.200.0.5/30', 'fd00:1::/126']);
    assert.deepEqual(p.IPv4.ranges.map((r) => [r.first, r.last]), [[0x0ac80004n, 0x0ac80007n]]);
    assert.ok(poolsContain(p, '10.200.0.4') && poolsContain(p, '10.200.0.7'));
    assert.ok(!poolsContain(p, '10.200.0.8'));
    assert.ok(poolsContain(p, 'fd00:1::3') && !poolsContain(p, 'fd00:1::4'));
  });

  it('nextFree walks after the cursor, across ranges, wrapping once', () => {
    const pool = parsePools(['10.0.0.0/31', '10.0.1.0/31']).IPv4;
    assert.equal(nextFree(pool, new Set()), '10.0.0.0');
    assert.equal(nextFree(pool, new Set(), '10.0.0.1'), '10.0.1.0');
    assert.equal(nextFree(pool, new Set(['10.0.0.0']), '10.0.1.1'), '10.0.0.1');
    assert.equal(nextFree(pool, new Set(['10.0.0.0', '10.0.0.1', '10.0.1.0', '10.0.1.1'])), undefined);
    assert.equal(nextFree(pool, new Set(), '192.0.2.1'), '10.0.0.0');
  });
});

describe('which Services', () => {
  it('type LoadBalancer with no class, "default" or "kube-router"; not other classes or types', () => {
    const p = plan([
      svc('plain'),
      svc('dflt', { loadBalancerClass: 'default' }),
      svc('ours', { loadBalancerClass: 'kube-router' }),
      svc('metallb', { loadBalancerClass: 'metallb.io/metallb' }),
      svc('cip', { type: 'ClusterIP' }),
      svc('np', { type: 'NodePort' }),
    ], ['10.200.0.0/29']);
    assert.deepEqual(p.changes.map((c) => c.key), ['default/dflt', 'default/ours', 'default/plain']);
    for (const c of p.changes) assert.equal(c.added.length, 1);
  });

  it('--loadbalancer-default-class=false: only class kube-router', () => {
    const p = plan([svc('plain'), svc('dflt', { loadBalancerClass: 'default' }), svc('ours', { loadBalancerClass: 'kube-router' })], ['10.200.0.0/29'], { defaultClass: false });
    assert.deepEqual(p.changes.map((c) => c.key), ['default/ours']);
  });
});

describe('allocation', () => {
  it('a new Service gets the first free address of the range; the plan carries the resourceVersion', () => {
    const s = svc('web', {}, undefined, { rv: '42' });
    const p = plan([s]);
    assert.equal(p.changes.length, 1);
    assert.deepEqual(p.changes[0].desired, [{ ip: '10.200.0.0' }]);
    assert.deepEqual(p.changes[0].added, ['10.200.0.0']);
    assert.equal(p.changes[0].resourceVersion, '42');
    assert.equal(p.cursor.IPv4, '10.200.0.0');
    assert.equal(p.inUse.IPv4, 1);
  });

  it('stable: a Service keeps the in-range address it has; nothing to write', () => {
    const p = plan([svc('a', {}, ['10.200.0.2']), svc('b', {}, ['10.200.0.0'])]);
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.warnings, []);
  });

  it('a family already served by an out-of-range address gets no second one (kube-router)', () => {
    const p = plan([svc('a', {}, ['192.0.2.10'])]);
    assert.deepEqual(p.changes, []);
  });

  it('addresses held by others and externalIPs in range are skipped', () => {
    const p = plan([
      svc('old', {}, ['10.200.0.0']),
      svc('ext', { type: 'ClusterIP', externalIPs: ['10.200.0.1'] }),
      svc('new'),
    ]);
    assert.deepEqual(desiredOf(p, 'default/new'), ['10.200.0.2']);
  });

  it('round robin: the cursor moves on, a just-freed address is not reused at once', () => {
    const p = plan([svc('a')], ['10.200.0.0/30'], { cursor: { IPv4: '10.200.0.1' } });
    assert.deepEqual(desiredOf(p, 'default/a'), ['10.200.0.2']);
  });

  it('several new Services in one plan get distinct addresses, oldest first', () => {
    const a = svc('a', {}, undefined, { created: '2026-01-01T00:00:02Z' });
    const b = svc('b', {}, undefined, { created: '2026-01-01T00:00:01Z' });
    const p = plan([a, b]);
    assert.deepEqual(desiredOf(p, 'default/b'), ['10.200.0.0']);
    assert.deepEqual(desiredOf(p, 'default/a'), ['10.200.0.1']);
  });

  it('addresses of deleted Services are free again', () => {
    const full = [svc('a', {}, ['10.200.0.0']), svc('b', {}, ['10.200.0.1']), svc('c', {}, ['10.200.0.2']), svc('d', {}, ['10.200.0.3'])];
    const blocked = plan([...full, svc('e')]);
    assert.equal(blocked.changes.length, 0);
    assert.equal(blocked.warnings[0].code, 'RangeExhausted');
    // b is deleted: e gets its address.
    const freed = plan([full[0], full[2], full[3], svc('e')]);
    assert.deepEqual(desiredOf(freed, 'default/e'), ['10.200.0.1']);
  });

  it('a Service that is no longer a LoadBalancer gives its in-range address back, keeps others', () => {
    const p = plan([svc('was', { type: 'ClusterIP' }, ['10.200.0.0', '192.0.2.1']), svc('new')], ['10.200.0.0/32']);
    assert.deepEqual(desiredOf(p, 'default/was'), ['192.0.2.1']);
    assert.deepEqual(p.changes.find((c) => c.key === 'default/was')?.removeIndexes, [0]);
    assert.deepEqual(desiredOf(p, 'default/new'), ['10.200.0.0']);
  });
});

describe('conflicts', () => {
  it('two Services with the same address: the older keeps it, the newer gets another', () => {
    const older = svc('older', {}, ['10.200.0.1'], { created: '2026-01-01T00:00:00Z' });
    const newer = svc('newer', {}, ['10.200.0.1'], { created: '2026-01-02T00:00:00Z' });
    const p = plan([newer, older]);
    assert.equal(desiredOf(p, 'default/older'), undefined);
    assert.deepEqual(desiredOf(p, 'default/newer'), ['10.200.0.0']);
    const ch = p.changes.find((c) => c.key === 'default/newer');
    assert.deepEqual(ch?.removed, ['10.200.0.1']);
    assert.deepEqual(ch?.removeIndexes, [0]);
    const w = p.warnings.find((x) => x.code === 'IPConflict');
    assert.equal(w?.service, 'default/newer');
    assert.equal(w?.other, 'default/older');
    assert.equal(w?.field, 'status.loadBalancer.ingress');
  });

  it('a Service of another class keeps the address (its status is not ours)', () => {
    const foreign = svc('foreign', { loadBalancerClass: 'other' }, ['10.200.0.0'], { created: '2026-01-09T00:00:00Z' });
    const mine = svc('mine', {}, ['10.200.0.0'], { created: '2026-01-01T00:00:00Z' });
    const p = plan([mine, foreign]);
    assert.deepEqual(desiredOf(p, 'default/mine'), ['10.200.0.1']);
    assert.equal(desiredOf(p, 'default/foreign'), undefined);
  });

  it('the same address twice in one list is kept once', () => {
    const p = plan([svc('dup', {}, ['10.200.0.1', '10.200.0.1'])]);
    assert.deepEqual(desiredOf(p, 'default/dup'), ['10.200.0.1']);
    assert.deepEqual(p.changes[0].removeIndexes, [1]);
    assert.deepEqual(p.warnings, []);
  });
});

describe('spec.loadBalancerIP', () => {
  it('inside the range and free: that address', () => {
    const p = plan([svc('pin', { loadBalancerIP: '10.200.0.3' })]);
    assert.deepEqual(desiredOf(p, 'default/pin'), ['10.200.0.3']);
  });

  it('changed: replaces the in-range address the Service had', () => {
    const p = plan([svc('pin', { loadBalancerIP: '10.200.0.3' }, ['10.200.0.0'])]);
    assert.deepEqual(desiredOf(p, 'default/pin'), ['10.200.0.3']);
    assert.deepEqual(p.changes[0].removed, ['10.200.0.0']);
  });

  it('outside the range: a warning naming the Service and the field, no address', () => {
    const p = plan([svc('far', { loadBalancerIP: '192.0.2.7' })]);
    assert.deepEqual(p.changes, []);
    assert.equal(p.warnings.length, 1);
    const w = p.warnings[0];
    assert.equal(w.code, 'RequestedIPOutsideRange');
    assert.equal(w.service, 'default/far');
    assert.equal(w.field, 'spec.loadBalancerIP');
    assert.equal(w.ip, '192.0.2.7');
    assert.match(w.message, /10\.200\.0\.0\/30/);
  });

  it('held by another Service: a warning naming the holder', () => {
    const p = plan([svc('holder', {}, ['10.200.0.2']), svc('wants', { loadBalancerIP: '10.200.0.2' })]);
    assert.deepEqual(p.changes, []);
    assert.equal(p.warnings[0].code, 'RequestedIPInUse');
    assert.equal(p.warnings[0].other, 'default/holder');
  });

  it('a requested address is not handed to an older Service that needs a free one', () => {
    const old = svc('old', {}, undefined, { created: '2026-01-01T00:00:00Z' });
    const pin = svc('pin', { loadBalancerIP: '10.200.0.0' }, undefined, { created: '2026-01-05T00:00:00Z' });
    const p = plan([old, pin]);
    assert.deepEqual(desiredOf(p, 'default/pin'), ['10.200.0.0']);
    assert.deepEqual(desiredOf(p, 'default/old'), ['10.200.0.1']);
  });

  it('malformed or of a family the Service does not have: warnings', () => {
    const p = plan([svc('bad', { loadBalancerIP: 'ten' }), svc('v6', { loadBalancerIP: 'fd00::1' })], ['10.200.0.0/30', 'fd00::/126']);
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.warnings.map((w) => [w.service, w.code]), [['default/bad', 'RequestedIPInvalid'], ['default/v6', 'RequestedIPWrongFamily']]);
  });
});

describe('families', () => {
  const both = ['10.200.0.0/30', 'fd00::/126'];

  it('IPv6 and dual-stack Services get one address per family, in spec.ipFamilies order', () => {
    const p = plan([
      svc('v6', { ipFamilies: ['IPv6'], clusterIP: 'fd01::1' }),
      svc('dual', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' }),
    ], both);
    assert.deepEqual(desiredOf(p, 'default/v6'), ['fd00::']);
    assert.deepEqual(desiredOf(p, 'default/dual'), ['fd00::1', '10.200.0.0']);
  });

  it('a dual-stack Service with one family served gets only the missing one', () => {
    const p = plan([svc('dual', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }, ['10.200.0.2'])], both);
    assert.deepEqual(desiredOf(p, 'default/dual'), ['10.200.0.2', 'fd00::']);
  });

  it('RequireDualStack without an IPv6 range: nothing, a warning on spec.ipFamilyPolicy', () => {
    const p = plan([svc('dual', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' })]);
    assert.deepEqual(p.changes, []);
    assert.equal(p.warnings[0].code, 'DualStackUnsatisfiable');
    assert.equal(p.warnings[0].field, 'spec.ipFamilyPolicy');
  });

  it('RequireDualStack with one family exhausted: neither is allocated', () => {
    const taken = svc('taken', {}, ['10.200.0.0']);
    const q = plan([taken, svc('dual', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' })], ['10.200.0.0/32', 'fd00::/128']);
    assert.deepEqual(q.changes, []);
    assert.deepEqual(q.warnings.map((w) => [w.code, w.family]), [['RangeExhausted', 'IPv4']]);
  });

  it('PreferDualStack with only an IPv4 range: the IPv4 address, no warning', () => {
    const p = plan([svc('dual', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' })]);
    assert.deepEqual(desiredOf(p, 'default/dual'), ['10.200.0.0']);
    assert.deepEqual(p.warnings, []);
  });

  it('an IPv6-only Service and only IPv4 ranges: NoRangeForFamily', () => {
    const p = plan([svc('v6', { ipFamilies: ['IPv6'] })]);
    assert.equal(p.warnings[0].code, 'NoRangeForFamily');
    assert.equal(p.warnings[0].service, 'default/v6');
  });

  it('no ipFamilies stored: the ClusterIP family', () => {
    const p = plan([svc('old', { ipFamilies: undefined, clusterIP: 'fd01::9' })], both);
    assert.deepEqual(desiredOf(p, 'default/old'), ['fd00::']);
  });
});

describe('exhaustion', () => {
  it('the warning names the Service, the field, the family and the range', () => {
    const p = plan([svc('a', {}, ['10.200.0.0']), svc('late', {}, undefined, { ns: 'shop' })], ['10.200.0.0/32']);
    assert.deepEqual(p.changes, []);
    assert.equal(p.warnings.length, 1);
    const w = p.warnings[0];
    assert.deepEqual([w.code, w.service, w.field, w.family], ['RangeExhausted', 'shop/late', 'status.loadBalancer.ingress', 'IPv4']);
    assert.match(w.message, /10\.200\.0\.0\/32/);
  });
});

describe('status patch', () => {
  it('pins the resourceVersion, removes by index from the end, appends', () => {
    const ops = ingressPatch({ namespace: 'n', name: 's', resourceVersion: '7', currentIps: ['a', 'b', 'c'], removeIndexes: [0, 2], append: [{ ip: 'd' }] });
    assert.deepEqual(ops, [
      { op: 'add', path: '/metadata/resourceVersion', value: '7' },
      { op: 'remove', path: '/status/loadBalancer/ingress/2' },
      { op: 'remove', path: '/status/loadBalancer/ingress/0' },
      { op: 'add', path: '/status/loadBalancer/ingress/-', value: { ip: 'd' } },
    ]);
  });

  it('an empty (or emptied) list is written whole', () => {
    const ops = ingressPatch({ namespace: 'n', name: 's', resourceVersion: '7', currentIps: [], removeIndexes: [], append: [{ ip: 'd' }] });
    assert.deepEqual(ops[1], { op: 'add', path: '/status/loadBalancer', value: { ingress: [{ ip: 'd' }] } });
  });
});
