// Dual-stack Service ClusterIP allocation in the lab controller-manager:
// ipFamilyPolicy / ipFamilies as kube-apiserver decides them, user-given
// ClusterIPs per family, errors naming the Service and the field,
// upgrade / downgrade on update, release on delete.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceAllocator } from '../../src/lab/cluster/controller-manager/service-alloc.js';
import { AllocationError } from '../../src/lab/cluster/controller-manager/errors.js';
import { KubeRouterError } from '../../src/errors.js';
import type { ServiceObj } from '../../src/lab/cluster/controller-manager/types.js';

const V4 = '10.96.0.0/12';
const V6 = 'fd00:10:96::/112';

function svc(name: string, spec: ServiceObj['spec']): ServiceObj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

function alloc(serviceCidr: string | string[] = [V4, V6]): ServiceAllocator {
  return new ServiceAllocator({ serviceCidr, nodePortRange: [30000, 32767], random: () => 0.5 });
}

function isV4(ip: string | undefined): boolean {
  return /^10\.(9[6-9]|10\d|11[01])\./.test(ip ?? '');
}
function isV6(ip: string | undefined): boolean {
  return (ip ?? '').startsWith('fd00:10:96::');
}

/** An AllocationError 422 on `field` whose message matches `detail`. */
function invalid(field: string, detail: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof AllocationError, String(e));
    assert.equal(e.httpCode, 422);
    assert.equal(e.field, field);
    assert.match(e.message, detail);
    return true;
  };
}

describe('dual-stack ServiceAllocator: single-stack cluster unchanged', () => {
  it('one IPv4 ClusterIP, SingleStack, even for PreferDualStack', () => {
    const a = alloc(V4);
    const s = a.allocate(svc('web', {}));
    assert.equal(s.spec.ipFamilyPolicy, 'SingleStack');
    assert.deepEqual(s.spec.ipFamilies, ['IPv4']);
    assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
    assert.ok(isV4(s.spec.clusterIP));
    const p = a.allocate(svc('pref', { ipFamilyPolicy: 'PreferDualStack' }));
    assert.equal(p.spec.ipFamilyPolicy, 'PreferDualStack');
    assert.deepEqual(p.spec.ipFamilies, ['IPv4']);
    assert.equal(p.spec.clusterIPs?.length, 1);
    assert.deepEqual(a.families, ['IPv4']);
  });

  it('RequireDualStack is refused with the API server error naming the Service and field', () => {
    const a = alloc(V4);
    assert.throws(() => a.allocate(svc('dual', { ipFamilyPolicy: 'RequireDualStack' })), (e: unknown) => {
      assert.ok(e instanceof AllocationError);
      assert.equal(e.message, 'Service "dual" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services');
      assert.equal(e.httpCode, 422);
      assert.equal(e.context.object, 'Service dual');
      assert.equal(e.context.field, 'spec.ipFamilyPolicy');
      return true;
    });
    assert.deepEqual(a.heldBy('default/dual'), { clusterIPs: [], nodePorts: [] });
  });

  it('a family the cluster does not serve is refused', () => {
    const a = alloc(V4);
    assert.throws(() => a.allocate(svc('v6', { ipFamilies: ['IPv6'] })), invalid('spec.ipFamilies[0]', /"IPv6": not configured on this cluster/));
    assert.throws(() => a.allocate(svc('v6ip', { clusterIP: 'fd00:10:96::5' })), invalid('spec.clusterIPs[0]', /IPv6 is not configured on this cluster/));
  });
});

describe('dual-stack ServiceAllocator: ipFamilyPolicy and ipFamilies', () => {
  it('default is SingleStack in the primary family', () => {
    const s = alloc().allocate(svc('web', {}));
    assert.equal(s.spec.ipFamilyPolicy, 'SingleStack');
    assert.deepEqual(s.spec.ipFamilies, ['IPv4']);
    assert.equal(s.spec.clusterIPs?.length, 1);
    const v6first = alloc([V6, V4]).allocate(svc('web', {}));
    assert.deepEqual(v6first.spec.ipFamilies, ['IPv6']);
    assert.ok(isV6(v6first.spec.clusterIP));
  });

  it('PreferDualStack gets one IP per family, primary first', () => {
    const a = alloc();
    const s = a.allocate(svc('web', { ipFamilyPolicy: 'PreferDualStack' }));
    assert.deepEqual(s.spec.ipFamilies, ['IPv4', 'IPv6']);
    const [ip4, ip6] = s.spec.clusterIPs ?? [];
    assert.ok(isV4(ip4) && isV6(ip6), String(s.spec.clusterIPs));
    assert.equal(s.spec.clusterIP, ip4);
    assert.equal(a.ipOwner(ip4 as string), 'default/web');
    assert.equal(a.ipOwner(ip6 as string), 'default/web');
    assert.deepEqual(a.heldBy('default/web').clusterIPs, [ip4, ip6]);
  });

  it('RequireDualStack with ipFamilies [IPv6] makes IPv6 the Service primary', () => {
    const s = alloc().allocate(svc('web', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] }));
    assert.deepEqual(s.spec.ipFamilies, ['IPv6', 'IPv4']);
    assert.ok(isV6(s.spec.clusterIP));
    assert.ok(isV4(s.spec.clusterIPs?.[1]));
  });

  it('SingleStack in the secondary family', () => {
    const s = alloc().allocate(svc('web', { ipFamilies: ['IPv6'] }));
    assert.equal(s.spec.ipFamilyPolicy, 'SingleStack');
    assert.deepEqual(s.spec.ipFamilies, ['IPv6']);
    assert.ok(isV6(s.spec.clusterIP));
  });

  it('SingleStack with two families or two IPs is refused', () => {
    const a = alloc();
    assert.throws(() => a.allocate(svc('x', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'] })),
      invalid('spec.ipFamilyPolicy', /must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified/));
    assert.throws(() => a.allocate(svc('x', { ipFamilyPolicy: 'SingleStack', clusterIPs: ['10.96.0.50', 'fd00:10:96::50'] })),
      invalid('spec.ipFamilyPolicy', /when multiple cluster IPs are specified/));
  });

  it('duplicate or invalid families are refused', () => {
    const a = alloc();
    assert.throws(() => a.allocate(svc('x', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv4'] })), invalid('spec.ipFamilies[1]', /Duplicate value/));
  });
});

describe('dual-stack ServiceAllocator: user-given ClusterIPs', () => {
  it('honours one free IP per family and infers the families from them', () => {
    const a = alloc();
    const s = a.allocate(svc('dns', { ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['fd00:10:96::a', '10.96.0.10'] }));
    assert.deepEqual(s.spec.clusterIPs, ['fd00:10:96::a', '10.96.0.10']);
    assert.deepEqual(s.spec.ipFamilies, ['IPv6', 'IPv4']);
    assert.equal(s.spec.clusterIP, 'fd00:10:96::a');
  });

  it('a given primary plus PreferDualStack gets the secondary allocated', () => {
    const s = alloc().allocate(svc('dns', { ipFamilyPolicy: 'PreferDualStack', clusterIP: '10.96.0.10' }));
    assert.equal(s.spec.clusterIPs?.[0], '10.96.0.10');
    assert.ok(isV6(s.spec.clusterIPs?.[1]));
  });

  it('refuses an IP outside its family range, one in use, and rolls back the other family', () => {
    const a = alloc();
    assert.throws(() => a.allocate(svc('x', { ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['10.96.0.20', 'fd00:99::1'] })),
      invalid('spec.clusterIPs', /failed to allocate IP fd00:99::1: provided IP is not in the valid range. The range of valid IPs is fd00:10:96::\/112/));
    assert.equal(a.ipOwner('10.96.0.20'), undefined);
    a.allocate(svc('first', { ipFamilies: ['IPv6'], clusterIP: 'fd00:10:96::20' }));
    assert.throws(() => a.allocate(svc('second', { ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['10.96.0.20', 'fd00:10:96::20'] })),
      invalid('spec.clusterIPs', /provided IP is already allocated/));
    assert.equal(a.ipOwner('10.96.0.20'), undefined);
    assert.equal(a.ipOwner('fd00:10:96::20'), 'default/first');
  });

  it('refuses two IPs of one family, a family mismatch, and clusterIP differing from clusterIPs[0]', () => {
    const a = alloc();
    assert.throws(() => a.allocate(svc('x', { ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['10.96.0.20', '10.96.0.21'] })),
      invalid('spec.clusterIPs', /no more than one IP for each IP family/));
    assert.throws(() => a.allocate(svc('x', { ipFamilies: ['IPv6'], clusterIP: '10.96.0.20' })),
      invalid('spec.clusterIPs[0]', /expected an IPv6 value as indicated by `ipFamilies\[0\]`/));
    assert.throws(() => a.allocate(svc('x', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.21'] })), invalid('spec.clusterIPs[0]', /must match `spec.clusterIP`/));
    assert.throws(() => a.allocate(svc('x', { clusterIPs: ['bogus'] })), invalid('spec.clusterIPs[0]', /must be a valid IP address/));
  });
});

describe('dual-stack ServiceAllocator: headless', () => {
  it('with a selector: families per policy, no IPs held', () => {
    const a = alloc();
    const single = a.allocate(svc('h', { clusterIP: 'None' }));
    assert.deepEqual([single.spec.ipFamilyPolicy, single.spec.ipFamilies, single.spec.clusterIPs], ['SingleStack', ['IPv4'], ['None']]);
    const dual = a.allocate(svc('h2', { clusterIP: 'None', ipFamilyPolicy: 'PreferDualStack' }));
    assert.deepEqual(dual.spec.ipFamilies, ['IPv4', 'IPv6']);
    assert.deepEqual(dual.spec.clusterIPs, ['None']);
    assert.deepEqual(a.heldBy('default/h2').clusterIPs, []);
    assert.throws(() => alloc(V4).allocate(svc('h3', { clusterIP: 'None', ipFamilyPolicy: 'RequireDualStack' })),
      invalid('spec.ipFamilyPolicy', /not configured for dual-stack services/));
  });

  it('without a selector: RequireDualStack and both families, even on a single-stack cluster', () => {
    for (const a of [alloc(), alloc(V4)]) {
      const s = a.allocate(svc('ext', { clusterIP: 'None', selector: null }));
      assert.equal(s.spec.ipFamilyPolicy, 'RequireDualStack');
      assert.deepEqual(s.spec.ipFamilies, ['IPv4', 'IPv6']);
    }
    const single = alloc().allocate(svc('ext', { clusterIP: 'None', selector: null, ipFamilyPolicy: 'SingleStack' }));
    assert.deepEqual(single.spec.ipFamilies, ['IPv4']);
  });
});

describe('dual-stack ServiceAllocator: upgrade, downgrade, release', () => {
  it('upgrades SingleStack to PreferDualStack / RequireDualStack with a second IP, keeping the first', () => {
    for (const policy of ['PreferDualStack', 'RequireDualStack'] as const) {
      const a = alloc();
      const old = a.allocate(svc('web', {}));
      const up = a.allocate({ ...old, spec: { ...old.spec, ipFamilyPolicy: policy } }, { old });
      assert.equal(up.spec.clusterIP, old.spec.clusterIP);
      assert.deepEqual(up.spec.ipFamilies, ['IPv4', 'IPv6']);
      assert.ok(isV6(up.spec.clusterIPs?.[1]));
      assert.equal(a.ipOwner(up.spec.clusterIPs?.[1] as string), 'default/web');
      // The stored object synced again (watch path) is stable.
      assert.deepEqual(a.allocate(up).spec, up.spec);
    }
  });

  it('upgrade with a requested secondary IP', () => {
    const a = alloc();
    const old = a.allocate(svc('web', {}));
    const up = a.allocate({ ...old, spec: { ...old.spec, ipFamilyPolicy: 'RequireDualStack', clusterIPs: [old.spec.clusterIP as string, 'fd00:10:96::77'] } }, { old });
    assert.deepEqual(up.spec.clusterIPs, [old.spec.clusterIP, 'fd00:10:96::77']);
  });

  it('an update that omits clusterIPs keeps both (not a downgrade)', () => {
    const a = alloc();
    const old = a.allocate(svc('web', { ipFamilyPolicy: 'PreferDualStack' }));
    const put = a.allocate(svc('web', { clusterIP: old.spec.clusterIP }), { old });
    assert.deepEqual(put.spec.clusterIPs, old.spec.clusterIPs);
    assert.equal(put.spec.ipFamilyPolicy, 'PreferDualStack');
  });

  it('downgrades to SingleStack: the secondary is dropped and released', () => {
    const a = alloc();
    const old = a.allocate(svc('web', { ipFamilyPolicy: 'RequireDualStack' }));
    const [ip4, ip6] = old.spec.clusterIPs as string[];
    const down = a.allocate({ ...old, spec: { ...old.spec, ipFamilyPolicy: 'SingleStack' } }, { old });
    assert.deepEqual(down.spec.clusterIPs, [ip4]);
    assert.deepEqual(down.spec.ipFamilies, ['IPv4']);
    assert.equal(a.ipOwner(ip6 as string), undefined);
    assert.equal(a.ipOwner(ip4 as string), 'default/web');
    assert.equal(a.allocate(svc('other', { ipFamilies: ['IPv6'], clusterIP: ip6 })).spec.clusterIP, ip6);
  });

  it('dropping the secondary without SingleStack, or changing it, is refused', () => {
    const a = alloc();
    const old = a.allocate(svc('web', { ipFamilyPolicy: 'PreferDualStack' }));
    const [ip4] = old.spec.clusterIPs as string[];
    assert.throws(() => a.allocate({ ...old, spec: { ...old.spec, clusterIPs: [ip4 as string] } }, { old }),
      invalid('spec.ipFamilyPolicy', /must be 'SingleStack' to release the secondary cluster IP/));
    assert.throws(() => a.allocate({ ...old, spec: { ...old.spec, clusterIPs: [ip4 as string, 'fd00:10:96::99'] } }, { old }),
      invalid('spec.clusterIPs[1]', /may not change once set/));
    assert.deepEqual(a.heldBy('default/web').clusterIPs, old.spec.clusterIPs);
  });

  it('an unchanged PreferDualStack Service is not upgraded when the cluster became dual-stack', () => {
    const before = alloc(V4).allocate(svc('web', { ipFamilyPolicy: 'PreferDualStack' }));
    const a = alloc();
    a.allocate(before, { autoAllocate: false });
    const again = a.allocate(structuredClone(before), { old: before });
    assert.deepEqual(again.spec.clusterIPs, before.spec.clusterIPs);
    assert.deepEqual(again.spec.ipFamilies, ['IPv4']);
  });

  it('releases every family on delete', () => {
    const a = alloc();
    const s = a.allocate(svc('web', { ipFamilyPolicy: 'RequireDualStack', type: 'NodePort' }));
    a.release('default/web');
    for (const ip of s.spec.clusterIPs ?? []) assert.equal(a.ipOwner(ip), undefined);
    assert.deepEqual(a.heldBy('default/web'), { clusterIPs: [], nodePorts: [] });
  });

  it('the startup pass records both IPs of a stored dual-stack Service', () => {
    const stored = alloc().allocate(svc('web', { ipFamilyPolicy: 'PreferDualStack' }));
    const a = alloc();
    a.allocate(stored, { autoAllocate: false });
    assert.deepEqual(a.heldBy('default/web').clusterIPs, stored.spec.clusterIPs);
  });
});

describe('dual-stack ServiceAllocator: configuration', () => {
  it('refuses more than two CIDRs or two of one family with KR_ERR_CONFIG naming serviceCidr', () => {
    for (const bad of [[V4, V6, '10.0.0.0/8'], [V4, '10.0.0.0/8'], []]) {
      assert.throws(() => alloc(bad), (e: unknown) => e instanceof KubeRouterError && e.code === 'KR_ERR_CONFIG' && e.context.field === 'serviceCidr');
    }
  });
});
