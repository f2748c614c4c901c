// The dual-stack controller-manager on the lab API server's store: Nodes
// get a podCIDR per family, Services are admitted with ipFamilies filled by
// the allocator (not the store's defaulting), upgraded and downgraded
// through ordinary updates and patches, and a dual-stack Service whose pods
// have two podIPs gets an IPv4 and an IPv6 EndpointSlice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabStore, StatusError, type StoredObject } from '../../src/lab/apiserver/index.js';
import { startControllerManager, type ControllerManager } from '../../src/lab/cluster/controller-manager/index.js';
import { asNode, asService, asSlice, type ServiceObj } from '../../src/lab/cluster/controller-manager/types.js';

const API = { ip: '192.168.56.1', port: 6443 };

function service(name: string, spec: Record<string, unknown>): StoredObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }], ...spec } };
}

function specOf(store: LabStore, name: string): ServiceObj['spec'] {
  const o = store.get('Service', 'default', name);
  assert.ok(o, name);
  return asService(o).spec;
}

function podCIDRsOf(store: LabStore, name: string): string[] | undefined {
  const o = store.get('Node', undefined, name);
  return o ? asNode(o).spec?.podCIDRs : undefined;
}

function runPod(store: LabStore, name: string, ips: string[]): void {
  const created = store.create('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'lab' }] },
  });
  store.update('Pod', {
    ...created,
    status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), conditions: [{ type: 'Ready', status: 'True' }] },
  }, { subresource: 'status' });
}

describe('dual-stack controller-manager on the lab store', () => {
  let store: LabStore;
  let cm: ControllerManager;

  before(async () => {
    store = new LabStore();
    store.seed([]);
    // A Node registered while the cluster was single-stack: its podCIDRs stay (they are immutable).
    store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'old' }, spec: { podCIDR: '10.244.9.0/24', podCIDRs: ['10.244.9.0/24'] } });
    cm = await startControllerManager({
      store,
      nodes: [{ name: 'node1', internalIP: '192.168.56.11' }, { name: 'node2', internalIP: '192.168.56.12' }],
      clusterCidr: ['10.244.0.0/16', 'fd00:10:244::/56'],
      serviceCidr: ['10.96.0.0/12', 'fd00:10:96::/112'],
      apiServerEndpoint: API,
    });
  });

  after(async () => {
    await cm.stop();
  });

  it('gives each node an IPv4 /24 and an IPv6 /64, spec.podCIDR the first', async () => {
    assert.deepEqual(podCIDRsOf(store, 'node1'), ['10.244.0.0/24', 'fd00:10:244::/64']);
    assert.equal(asNode(store.get('Node', undefined, 'node1') as StoredObject).spec?.podCIDR, '10.244.0.0/24');
    assert.deepEqual(cm.podCIDRsOf('node2'), ['10.244.1.0/24', 'fd00:10:244:1::/64']);
    store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ext' } });
    await cm.idle();
    const ext = podCIDRsOf(store, 'ext') ?? [];
    assert.equal(ext.length, 2);
    assert.match(ext[1] ?? '', /^fd00:10:244:[0-9a-f]*::\/64$/);
    // The node from before keeps its single family.
    assert.deepEqual(podCIDRsOf(store, 'old'), ['10.244.9.0/24']);
    assert.deepEqual(cm.podCIDRsOf('old'), ['10.244.9.0/24']);
  });

  it('the kubernetes Service stays single-stack in the primary family', () => {
    const k = specOf(store, 'kubernetes');
    assert.deepEqual([k.clusterIP, k.ipFamilies, k.ipFamilyPolicy], ['10.96.0.1', ['IPv4'], 'SingleStack']);
  });

  it('admits a Service without families as the allocator decides (not a store default)', () => {
    store.create('Service', service('plain', { selector: { app: 'plain' } }));
    const s = specOf(store, 'plain');
    assert.deepEqual([s.ipFamilyPolicy, s.ipFamilies, s.clusterIPs?.length], ['SingleStack', ['IPv4'], 1]);
    store.create('Service', service('six', { ipFamilies: ['IPv6'], selector: { app: 'six' } }));
    assert.match(specOf(store, 'six').clusterIP ?? '', /^fd00:10:96::/);
    store.create('Service', service('ext', { clusterIP: 'None' }));
    assert.deepEqual([specOf(store, 'ext').ipFamilyPolicy, specOf(store, 'ext').ipFamilies], ['RequireDualStack', ['IPv4', 'IPv6']]);
  });

  it('upgrades with an update and downgrades with a merge patch, releasing the secondary', () => {
    const cur = store.get('Service', 'default', 'plain') as StoredObject;
    const up = asService(store.update('Service', { ...cur, spec: { ...(cur.spec as object), ipFamilyPolicy: 'PreferDualStack' } })).spec;
    assert.deepEqual(up.ipFamilies, ['IPv4', 'IPv6']);
    const ip6 = up.clusterIPs?.[1] as string;
    assert.match(ip6, /^fd00:10:96::/);
    // A patch without a policy keeps the stored one (no silent downgrade).
    const relabelled = asService(store.patch('Service', 'default', 'plain', { metadata: { labels: { a: 'b' } } })).spec;
    assert.deepEqual(relabelled.clusterIPs, up.clusterIPs);
    const down = asService(store.patch('Service', 'default', 'plain', { spec: { ipFamilyPolicy: 'SingleStack' } })).spec;
    assert.deepEqual([down.clusterIPs, down.ipFamilies], [[up.clusterIP], ['IPv4']]);
    store.create('Service', service('reuse', { ipFamilies: ['IPv6'], clusterIP: ip6 }));
    assert.equal(specOf(store, 'reuse').clusterIP, ip6);
  });

  it('refuses a taken secondary IP with 422 and frees both IPs on delete', () => {
    const taken = specOf(store, 'reuse').clusterIP as string;
    assert.throws(() => store.create('Service', service('dup', { ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['10.96.0.77', taken] })),
      (e: unknown) => e instanceof StatusError && e.httpCode === 422 && /spec\.clusterIPs: Invalid value/.test(e.message));
    store.create('Service', service('gone', { ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['10.96.0.77', 'fd00:10:96::77'] }));
    store.delete('Service', 'default', 'gone');
    store.create('Service', service('back', { ipFamilyPolicy: 'RequireDualStack', clusterIPs: ['10.96.0.77', 'fd00:10:96::77'] }));
    assert.deepEqual(specOf(store, 'back').clusterIPs, ['10.96.0.77', 'fd00:10:96::77']);
  });

  it('a dual-stack Service with dual-stack pods gets an IPv4 and an IPv6 EndpointSlice', async () => {
    store.create('Service', service('web', { ipFamilyPolicy: 'PreferDualStack', selector: { app: 'web' } }));
    runPod(store, 'a', ['10.244.0.5', 'fd00:10:244::5']);
    runPod(store, 'b', ['10.244.0.6', 'fd00:10:244::6']);
    await cm.idle();
    const slices = store.list('EndpointSlice', { namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' }).items.map(asSlice);
    const byType = new Map(slices.map((s) => [s.addressType, (s.endpoints ?? []).flatMap((e) => e.addresses).sort()]));
    assert.equal(slices.length, 2);
    assert.deepEqual(byType.get('IPv4'), ['10.244.0.5', '10.244.0.6']);
    assert.deepEqual(byType.get('IPv6'), ['fd00:10:244::5', 'fd00:10:244::6']);
  });
});
