import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceAllocator } from '../../src/lab/cluster/controller-manager/service-alloc.js';
import { PodCidrAllocator } from '../../src/lab/cluster/controller-manager/node-ipam.js';
import { AllocationError } from '../../src/lab/cluster/controller-manager/errors.js';
import { OffsetAllocator } from '../../src/lab/cluster/controller-manager/offset-allocator.js';
import type { ServiceObj } from '../../src/lab/cluster/controller-manager/types.js';

function svc(name: string, spec: ServiceObj['spec'], ns = 'default'): ServiceObj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
}

function newAlloc(): ServiceAllocator {
  return new ServiceAllocator({ serviceCidr: '10.96.0.0/12', nodePortRange: [30000, 32767], random: () => 0.5 });
}

describe('ServiceAllocator: ClusterIPs', () => {
  it('allocates from the service CIDR upper band and sets clusterIPs and families', () => {
    const a = newAlloc();
    const out = a.allocate(svc('web', { ports: [{ port: 80 }], selector: { app: 'web' } }));
    const ip = out.spec.clusterIP as string;
    assert.ok(ip.startsWith('10.'), ip);
    assert.deepEqual(out.spec.clusterIPs, [ip]);
    assert.deepEqual(out.spec.ipFamilies, ['IPv4']);
    assert.equal(out.spec.ipFamilyPolicy, 'SingleStack');
    assert.equal(a.ipOwner(ip), 'default/web');
    // upper band: not within the first 256 addresses
    assert.notEqual(ip.startsWith('10.96.0.'), true);
  });

  it('does not mutate its input', () => {
    const a = newAlloc();
    const input = svc('web', { ports: [{ port: 80 }] });
    a.allocate(input);
    assert.equal(input.spec.clusterIP, undefined);
  });

  it('honours a requested free IP and rejects a taken one with 422', () => {
    const a = newAlloc();
    a.allocate(svc('kubernetes', { clusterIP: '10.96.0.1', ports: [{ port: 443 }] }));
    const dns = a.allocate(svc('kube-dns', { clusterIP: '10.96.0.10' }, 'kube-system'));
    assert.equal(dns.spec.clusterIP, '10.96.0.10');
    assert.throws(
      () => a.allocate(svc('other', { clusterIP: '10.96.0.10' })),
      (e: unknown) => e instanceof AllocationError && e.httpCode === 422 && /already allocated/.test(e.message) && e.field === 'spec.clusterIPs',
    );
    assert.throws(() => a.allocate(svc('x', { clusterIP: '10.96.0.1' })), AllocationError);
  });

  it('rejects a requested IP outside the range (and the network address)', () => {
    const a = newAlloc();
    assert.throws(() => a.allocate(svc('x', { clusterIP: '10.0.0.5' })), /not in the valid range/);
    assert.throws(() => a.allocate(svc('x', { clusterIP: '10.96.0.0' })), /not in the valid range/);
    assert.throws(() => a.allocate(svc('x', { clusterIP: '10.111.255.255' })), /not in the valid range/);
  });

  it('skips headless and ExternalName services', () => {
    const a = newAlloc();
    const h = a.allocate(svc('h', { clusterIP: 'None', selector: { a: 'b' } }));
    assert.equal(h.spec.clusterIP, 'None');
    assert.deepEqual(h.spec.clusterIPs, ['None']);
    assert.deepEqual(a.heldBy('default/h'), { clusterIPs: [], nodePorts: [] });
    const e = a.allocate(svc('e', { type: 'ExternalName', externalName: 'example.com' }));
    assert.equal(e.spec.clusterIP, undefined);
  });

  it('is stable: allocating the same service again keeps its values', () => {
    const a = newAlloc();
    const first = a.allocate(svc('web', { type: 'NodePort', ports: [{ port: 80 }] }));
    const again = a.allocate(first);
    assert.deepEqual(again.spec, first.spec);
    // a re-applied object without the values gets them back (watch path: held values reused)
    const reapplied = a.allocate(svc('web', { type: 'NodePort', ports: [{ port: 80 }] }));
    assert.equal(reapplied.spec.clusterIP, first.spec.clusterIP);
    assert.equal(reapplied.spec.ports?.[0]?.nodePort, first.spec.ports?.[0]?.nodePort);
  });

  it('releases on delete so the IP can be requested again', () => {
    const a = newAlloc();
    a.allocate(svc('a', { clusterIP: '10.96.0.20' }));
    a.release('default/a');
    assert.equal(a.ipOwner('10.96.0.20'), undefined);
    assert.equal(a.allocate(svc('b', { clusterIP: '10.96.0.20' })).spec.clusterIP, '10.96.0.20');
  });

  it('keeps old values on update and refuses a changed ClusterIP', () => {
    const a = newAlloc();
    const old = a.allocate(svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80 }] }));
    const upd = a.allocate(svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80 }] }), { old });
    assert.equal(upd.spec.clusterIP, old.spec.clusterIP);
    assert.equal(upd.spec.ports?.[0]?.nodePort, old.spec.ports?.[0]?.nodePort);
    assert.throws(() => a.allocate(svc('web', { clusterIP: '10.96.0.30' }), { old }), /may not change once set/);
  });

  it('rolls back a partial allocation when a later part fails', () => {
    const a = newAlloc();
    a.allocate(svc('np', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }));
    assert.throws(() => a.allocate(svc('b', { type: 'NodePort', clusterIP: '10.96.0.40', ports: [{ port: 80, nodePort: 30080 }] })), /port is already allocated/);
    assert.equal(a.ipOwner('10.96.0.40'), undefined);
  });

  it('reports a full range with 500', () => {
    const a = new ServiceAllocator({ serviceCidr: '10.96.0.0/30', nodePortRange: [30000, 30001] });
    a.allocate(svc('a', {}));
    a.allocate(svc('b', {}));
    assert.throws(() => a.allocate(svc('c', {})), (e: unknown) => e instanceof AllocationError && e.httpCode === 500);
  });
});

describe('ServiceAllocator: NodePorts', () => {
  it('allocates NodePorts in range for NodePort and LoadBalancer, not for ClusterIP', () => {
    const a = newAlloc();
    const np = a.allocate(svc('np', { type: 'NodePort', ports: [{ port: 80 }, { port: 443 }] }));
    for (const p of np.spec.ports ?? []) assert.ok(p.nodePort && p.nodePort >= 30000 && p.nodePort <= 32767);
    assert.notEqual(np.spec.ports?.[0]?.nodePort, np.spec.ports?.[1]?.nodePort);
    const lb = a.allocate(svc('lb', { type: 'LoadBalancer', ports: [{ port: 80 }] }));
    assert.ok(lb.spec.ports?.[0]?.nodePort);
    assert.equal(lb.spec.healthCheckNodePort, undefined);
    const noalloc = a.allocate(svc('lb2', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }] }));
    assert.equal(noalloc.spec.ports?.[0]?.nodePort, undefined);
    const cip = a.allocate(svc('c', { ports: [{ port: 80 }] }));
    assert.equal(cip.spec.ports?.[0]?.nodePort, undefined);
  });

  it('honours requested ports, shares one across protocols of the same port, rejects taken / out of range', () => {
    const a = newAlloc();
    const dns = a.allocate(svc('dns', { type: 'NodePort', ports: [
      { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ] }));
    assert.deepEqual(dns.spec.ports?.map((p) => p.nodePort), [30053, 30053]);
    assert.throws(() => a.allocate(svc('x', { type: 'NodePort', ports: [{ port: 80, nodePort: 30053 }] })),
      (e: unknown) => e instanceof AllocationError && e.field === 'spec.ports[0].nodePort' && e.httpCode === 422);
    assert.throws(() => a.allocate(svc('y', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] })), /not in the valid range/);
  });

  it('allocates healthCheckNodePort for LoadBalancer with externalTrafficPolicy Local', () => {
    const a = newAlloc();
    const lb = a.allocate(svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }));
    const hc = lb.spec.healthCheckNodePort as number;
    assert.ok(hc >= 30000 && hc <= 32767);
    assert.notEqual(hc, lb.spec.ports?.[0]?.nodePort);
    assert.deepEqual(a.heldBy('default/lb').nodePorts, [hc, lb.spec.ports?.[0]?.nodePort as number].sort((x, y) => x - y));
    const req = a.allocate(svc('lb2', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 31000, ports: [{ port: 80 }] }));
    assert.equal(req.spec.healthCheckNodePort, 31000);
  });

  it('releases node ports when the type changes to ClusterIP', () => {
    const a = newAlloc();
    const old = a.allocate(svc('web', { type: 'NodePort', ports: [{ port: 80, nodePort: 30100 }] }));
    const now = a.allocate(svc('web', { type: 'ClusterIP', ports: [{ port: 80, nodePort: 30100 }] }), { old });
    assert.equal(now.spec.ports?.[0]?.nodePort, undefined);
    assert.equal(a.portOwner(30100), undefined);
    assert.equal(now.spec.clusterIP, old.spec.clusterIP);
  });

  it('records without allocating when autoAllocate is false', () => {
    const a = newAlloc();
    const out = a.allocate(svc('web', { type: 'NodePort', clusterIP: '10.96.5.5', ports: [{ port: 80 }] }), { autoAllocate: false });
    assert.equal(out.spec.ports?.[0]?.nodePort, undefined);
    assert.equal(a.ipOwner('10.96.5.5'), 'default/web');
  });
});

describe('PodCidrAllocator', () => {
  it('hands out /24s in order and keeps existing allocations', () => {
    const p = new PodCidrAllocator('10.244.0.0/16', 24);
    assert.equal(p.occupy('node2', '10.244.1.0/24'), true);
    assert.equal(p.allocate('node1'), '10.244.0.0/24');
    assert.equal(p.allocate('node3'), '10.244.2.0/24');
    assert.equal(p.allocate('node1'), '10.244.0.0/24');
    assert.equal(p.cidrOf('node2'), '10.244.1.0/24');
  });

  it('refuses occupying a taken, misaligned or foreign CIDR', () => {
    const p = new PodCidrAllocator('10.244.0.0/16', 24);
    p.allocate('node1');
    assert.equal(p.occupy('node2', '10.244.0.0/24'), false);
    assert.equal(p.occupy('node2', '10.244.0.128/24'), false);
    assert.equal(p.occupy('node2', '10.245.0.0/24'), false);
    assert.equal(p.occupy('node2', '10.244.3.0/25'), false);
  });

  it('fails with a typed error when the cluster CIDR is exhausted, and reuses released ones', () => {
    const p = new PodCidrAllocator('10.244.0.0/23', 24);
    p.allocate('a');
    p.allocate('b');
    assert.throws(() => p.allocate('c'), (e: unknown) => e instanceof AllocationError && e.httpCode === 500 && e.context.object === 'Node c' && /no \/24 subnets left/.test(e.message));
    p.release('a');
    assert.equal(p.allocate('c'), '10.244.0.0/24');
  });

  it('rejects a mask shorter than the cluster prefix', () => {
    assert.throws(() => new PodCidrAllocator('10.244.0.0/16', 8), /does not fit/);
  });
});

describe('OffsetAllocator', () => {
  it('prefers the upper band and falls back to the lower one', () => {
    const a = new OffsetAllocator(8, 'random', 4, () => 0);
    const got = [a.allocateNext('x'), a.allocateNext('x'), a.allocateNext('x'), a.allocateNext('x'), a.allocateNext('x')];
    assert.deepEqual(got, [4, 5, 6, 7, 0]);
  });
});
