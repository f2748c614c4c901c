// The lab controller-manager against the real lab API server store:
// nodes and podCIDRs, the kubernetes Service, ClusterIP / NodePort
// allocation (watch path and admission hook), EndpointSlices from pods.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabStore, StatusError, startLabApiServer, type RunningLabApiServer } from '../../src/lab/apiserver/index.js';
import type { LabKind, ListOptions, ObjectStore, StoredObject, WatchEvent } from '../../src/lab/apiserver/types.js';
import { startControllerManager, type AdmissionHooks, type ControllerManager } from '../../src/lab/cluster/controller-manager/index.js';

type Json = Record<string, any>; // test-only: reading arbitrary fields of stored JSON

let srv: RunningLabApiServer;
let cm: ControllerManager;

function obj(o: Json): StoredObject {
  return o as StoredObject;
}

function slicesOf(ns: string, svc: string): Json[] {
  return srv.store
    .list('EndpointSlice', { namespace: ns, labelSelector: `kubernetes.io/service-name=${svc}` })
    .items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)) as Json[];
}

function endpointsOf(ns: string, svc: string): Json[] {
  return slicesOf(ns, svc).flatMap((s) => s.endpoints ?? []);
}

/** Creates a pod bound to `node` and reports it Running with `ip`, as the lab kubelet does. */
function runPod(ns: string, name: string, node: string, ip: string, labels: Record<string, string>, ports: Json[] = []): void {
  const created = srv.store.create('Pod', obj({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'lab', ports }] },
  }));
  const now = new Date().toISOString();
  srv.store.update('Pod', obj({
    ...created,
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: '192.168.56.11',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
    },
  }), { subresource: 'status' });
}

function service(ns: string, name: string, spec: Json, labels?: Record<string, string>): Json {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, ...(labels ? { labels } : {}) }, spec };
}

before(async () => {
  srv = await startLabApiServer({ port: 0 });
  cm = await startControllerManager({
    store: srv.store,
    nodes: [
      { name: 'node1', internalIP: '192.168.56.11', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
      { name: 'node2', internalIP: '192.168.56.12', labels: { 'topology.kubernetes.io/zone': 'zone-b' } },
      { name: 'node3', internalIP: '192.168.56.13' },
    ],
    clusterCidr: '10.244.0.0/16',
    nodeCidrMaskSize: 24,
    serviceCidr: '10.96.0.0/12',
    nodePortRange: [30000, 32767],
    apiServerEndpoint: { ip: '192.168.56.1', port: 6443 },
    maxEndpointsPerSlice: 100,
  });
  srv.store.create('Namespace', obj({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }));
});

after(async () => {
  await cm.stop();
  await srv.close();
});

describe('controller-manager with the lab store', () => {
  it('registers nodes with addresses, labels, Ready and stable podCIDRs', () => {
    const want = ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24'];
    ['node1', 'node2', 'node3'].forEach((name, i) => {
      const n = srv.store.get('Node', undefined, name) as Json;
      assert.equal(n.spec.podCIDR, want[i]);
      assert.deepEqual(n.spec.podCIDRs, [want[i]]);
      assert.deepEqual(n.status.addresses, [
        { type: 'InternalIP', address: `192.168.56.1${i + 1}` },
        { type: 'Hostname', address: name },
      ]);
      assert.equal(n.metadata.labels['kubernetes.io/hostname'], name);
      assert.equal(n.metadata.labels['kubernetes.io/os'], 'linux');
      assert.equal(n.status.conditions.find((c: Json) => c.type === 'Ready').status, 'True');
    });
    assert.equal((srv.store.get('Node', undefined, 'node1') as Json).metadata.labels['topology.kubernetes.io/zone'], 'zone-a');
  });

  it('creates the system namespaces and the kubernetes Service with its EndpointSlice', () => {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.ok(srv.store.get('Namespace', undefined, ns), ns);
    const k = srv.store.get('Service', 'default', 'kubernetes') as Json;
    assert.equal(k.spec.clusterIP, '10.96.0.1');
    assert.deepEqual(k.spec.ports.map((p: Json) => [p.name, p.port, p.targetPort, p.protocol]), [['https', 443, 6443, 'TCP']]);
    const s = srv.store.get('EndpointSlice', 'default', 'kubernetes') as Json;
    assert.equal(s.addressType, 'IPv4');
    assert.deepEqual(s.endpoints.map((e: Json) => e.addresses), [['192.168.56.1']]);
    assert.deepEqual(s.ports, [{ name: 'https', port: 6443, protocol: 'TCP' }]);
  });

  it('allocates ClusterIP and NodePort for a Service created without them and builds its slice', async () => {
    runPod('x', 'a', 'node1', '10.244.0.5', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]);
    runPod('x', 'b', 'node2', '10.244.1.5', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]);
    runPod('x', 'other', 'node1', '10.244.0.6', { app: 'db' });
    srv.store.create('Service', obj(service('x', 'web', {
      type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    }, { team: 'blue' })));
    await cm.idle();
    const svc = srv.store.get('Service', 'x', 'web') as Json;
    assert.match(svc.spec.clusterIP, /^10\.(9[6-9]|10\d|11[01])\./);
    assert.deepEqual(svc.spec.clusterIPs, [svc.spec.clusterIP]);
    const np = svc.spec.ports[0].nodePort;
    assert.ok(np >= 30000 && np <= 32767, String(np));

    const slices = slicesOf('x', 'web');
    assert.equal(slices.length, 1);
    const s = slices[0] as Json;
    assert.match(s.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(s.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(s.metadata.labels.team, 'blue');
    assert.equal(s.metadata.ownerReferences[0].uid, svc.metadata.uid);
    assert.ok(s.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time']);
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const eps = endpointsOf('x', 'web').sort((p, q) => p.targetRef.name.localeCompare(q.targetRef.name));
    assert.deepEqual(eps.map((e) => [e.addresses[0], e.nodeName, e.zone, e.conditions.ready, e.targetRef.name]), [
      ['10.244.0.5', 'node1', 'zone-a', true, 'a'],
      ['10.244.1.5', 'node2', 'zone-b', true, 'b'],
    ]);
  });

  it('keeps slices untouched when nothing changed', async () => {
    const before = slicesOf('x', 'web').map((s) => s.metadata.resourceVersion);
    srv.store.patch('Node', undefined, 'node3', { metadata: { annotations: { touched: 'yes' } } });
    srv.store.patch('Pod', 'x', 'other', { metadata: { annotations: { touched: 'yes' } } });
    srv.store.patch('Pod', 'x', 'a', { metadata: { annotations: { touched: 'yes' } } });
    srv.store.patch('Service', 'x', 'web', { metadata: { annotations: { touched: 'yes' } } });
    await cm.idle();
    assert.deepEqual(slicesOf('x', 'web').map((s) => s.metadata.resourceVersion), before);
  });

  it('marks a terminating pod and removes a deleted one', async () => {
    srv.store.delete('Pod', 'x', 'b');
    await cm.idle();
    const b = endpointsOf('x', 'web').find((e) => e.targetRef.name === 'b');
    assert.deepEqual(b?.conditions, { ready: false, serving: true, terminating: true });
    srv.store.delete('Pod', 'x', 'b', { gracePeriodSeconds: 0 });
    await cm.idle();
    assert.deepEqual(endpointsOf('x', 'web').map((e) => e.targetRef.name), ['a']);
  });

  it('follows label changes of pods', async () => {
    srv.store.patch('Pod', 'x', 'other', { metadata: { labels: { app: 'web' } } });
    await cm.idle();
    assert.deepEqual(endpointsOf('x', 'web').map((e) => e.targetRef.name).sort(), ['a', 'other']);
    srv.store.patch('Pod', 'x', 'other', { metadata: { labels: { app: 'db' } } });
    await cm.idle();
    assert.deepEqual(endpointsOf('x', 'web').map((e) => e.targetRef.name), ['a']);
  });

  it('splits 150 pods into slices of at most 100', async () => {
    srv.store.create('Namespace', obj({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'big' } }));
    srv.store.create('Service', obj(service('big', 'many', { selector: { app: 'many' }, ports: [{ port: 80 }] })));
    for (let i = 0; i < 150; i++) runPod('big', `p${i}`, `node${(i % 3) + 1}`, `10.244.${i % 3}.${10 + Math.floor(i / 3)}`, { app: 'many' });
    await cm.idle();
    const sizes = slicesOf('big', 'many').map((s) => s.endpoints.length).sort((a, b) => a - b);
    assert.deepEqual(sizes, [50, 100]);
  });

  it('honours a requested ClusterIP and reports a taken one with a Warning Event', async () => {
    srv.store.create('Service', obj(service('kube-system', 'kube-dns', { clusterIP: '10.96.0.10', selector: { k8s: 'dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })));
    // The API server calls the admission hook: a taken IP is a 422 at create.
    assert.equal(cm.admissionInstalled, true);
    assert.throws(
      () => srv.store.create('Service', obj(service('x', 'dup', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }))),
      (e: unknown) => e instanceof StatusError && e.httpCode === 422,
    );
    // Without the hook (a store that has none), the watch path reports it with an Event.
    srv.store.setAdmission(undefined);
    try {
      srv.store.create('Service', obj(service('x', 'dup', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })));
    } finally {
      srv.store.setAdmission(cm);
    }
    await cm.idle();
    assert.equal((srv.store.get('Service', 'kube-system', 'kube-dns') as Json).spec.clusterIP, '10.96.0.10');
    const events = srv.store.list('Event', { namespace: 'x' }).items as Json[];
    const ev = events.find((e) => e.involvedObject.name === 'dup');
    assert.equal(ev?.type, 'Warning');
    assert.equal(ev?.reason, 'ClusterIPAlreadyAllocated');
    assert.match(ev?.message, /provided IP is already allocated/);
  });

  it('allocates synchronously through the admission hook and rejects a taken IP', () => {
    const admitted = cm.admitCreate('Service', obj(service('x', 'sync', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'web' }, ports: [{ port: 80 }] })));
    const stored = srv.store.create('Service', admitted) as Json;
    assert.ok(stored.spec.clusterIP);
    assert.ok(stored.spec.ports[0].nodePort);
    assert.ok(stored.spec.healthCheckNodePort);
    assert.throws(
      () => cm.allocateOnCreate('Service', obj(service('x', 'sync2', { clusterIP: stored.spec.clusterIP }))),
      (e: unknown) => (e as { httpCode?: number }).httpCode === 422,
    );
  });

  it('releases on delete and removes the slices of a deleted Service', async () => {
    const ip = (srv.store.get('Service', 'x', 'web') as Json).spec.clusterIP;
    srv.store.delete('Service', 'x', 'web');
    srv.store.delete('Service', 'x', 'dup');
    await cm.idle();
    assert.equal(slicesOf('x', 'web').length, 0);
    const again = cm.admitCreate('Service', obj(service('x', 'web2', { clusterIP: ip })));
    assert.equal((again as Json).spec.clusterIP, ip);
  });

  it('gives headless services slices and leaves selectorless services alone', async () => {
    runPod('x', 'h1', 'node3', '10.244.2.7', { app: 'headless' });
    srv.store.create('Service', obj(service('x', 'hl', { clusterIP: 'None', selector: { app: 'headless' }, ports: [{ port: 80 }] })));
    srv.store.create('Service', obj(service('x', 'manual', { ports: [{ port: 80 }] })));
    srv.store.create('EndpointSlice', obj({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'manual-1', namespace: 'x', labels: { 'kubernetes.io/service-name': 'manual' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['192.168.56.50'] }], ports: [{ port: 80 }],
    }));
    await cm.idle();
    const hl = slicesOf('x', 'hl');
    assert.equal(hl.length, 1);
    assert.equal(hl[0]?.metadata.labels['service.kubernetes.io/headless'], '');
    assert.equal((srv.store.get('Service', 'x', 'hl') as Json).spec.clusterIP, 'None');
    assert.deepEqual(slicesOf('x', 'manual').map((s) => s.metadata.name), ['manual-1']);
  });

  it('adds and removes a node later', async () => {
    const n = cm.addNode({ name: 'node4', internalIP: '192.168.57.14' }) as Json;
    assert.equal(n.spec.podCIDR, '10.244.3.0/24');
    assert.equal(cm.podCIDROf('node4'), '10.244.3.0/24');
    cm.removeNode('node4');
    await cm.idle();
    assert.equal(srv.store.get('Node', undefined, 'node4'), undefined);
    assert.equal(cm.podCIDROf('node4'), undefined);
  });

  it('allocates a podCIDR for a Node created by someone else', async () => {
    srv.store.create('Node', obj({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'ext' } }));
    await cm.idle();
    assert.match((srv.store.get('Node', undefined, 'ext') as Json).spec.podCIDR, /^10\.244\.\d+\.0\/24$/);
  });

  it('a restarted controller-manager keeps existing allocations', async () => {
    await cm.stop();
    cm = await startControllerManager({
      store: srv.store,
      nodes: [
        { name: 'node1', internalIP: '192.168.56.11' },
        { name: 'node2', internalIP: '192.168.56.12' },
        { name: 'node3', internalIP: '192.168.56.13' },
      ],
      apiServerEndpoint: { ip: '192.168.56.1', port: 6443 },
    });
    await cm.idle();
    assert.equal((srv.store.get('Node', undefined, 'node2') as Json).spec.podCIDR, '10.244.1.0/24');
    assert.equal((srv.store.get('Service', 'kube-system', 'kube-dns') as Json).spec.clusterIP, '10.96.0.10');
    assert.throws(() => cm.admitCreate('Service', obj(service('x', 'steal', { clusterIP: '10.96.0.10' }))), /already allocated/);
    assert.equal(slicesOf('big', 'many').length, 2);
  });
});

/** The lab store with admission hooks called inside create/update/delete, as the API server would. */
class HookedStore implements ObjectStore {
  hooks: AdmissionHooks | undefined;
  constructor(readonly inner: LabStore) {}
  setAdmission(h: AdmissionHooks | undefined): void {
    this.hooks = h;
  }
  resourceVersion(): string {
    return this.inner.resourceVersion();
  }
  get(kind: LabKind, ns: string | undefined, name: string): StoredObject | undefined {
    return this.inner.get(kind, ns, name);
  }
  list(kind: LabKind, opts?: ListOptions): { items: StoredObject[]; resourceVersion: string } {
    return this.inner.list(kind, opts);
  }
  create(kind: LabKind, o: StoredObject): StoredObject {
    return this.inner.create(kind, this.hooks ? this.hooks.admitCreate(kind, o) : o);
  }
  update(kind: LabKind, o: StoredObject, opts?: { subresource?: 'status' }): StoredObject {
    const cur = this.inner.get(kind, o.metadata.namespace ?? undefined, o.metadata.name);
    const next = this.hooks && cur && !opts?.subresource ? this.hooks.admitUpdate(kind, o, cur) : o;
    return this.inner.update(kind, next, opts);
  }
  patch(kind: LabKind, ns: string | undefined, name: string, p: unknown, opts?: { subresource?: 'status' }): StoredObject {
    return this.inner.patch(kind, ns, name, p, opts);
  }
  delete(kind: LabKind, ns: string | undefined, name: string, opts?: { gracePeriodSeconds?: number }): StoredObject | undefined {
    const r = this.inner.delete(kind, ns, name, opts);
    if (r && this.hooks) this.hooks.afterDelete(kind, r);
    return r;
  }
  watch(kind: LabKind, rv: string, opts: ListOptions, cb: (ev: WatchEvent) => void): () => void {
    return this.inner.watch(kind, rv, opts, cb);
  }
}

describe('controller-manager with admission hooks in the store', () => {
  it('stores Services with their allocations, rejects taken values, keeps them on re-apply, frees them on delete', async () => {
    const store = new HookedStore(new LabStore());
    const cm2 = await startControllerManager({ store, nodes: [{ name: 'n1', internalIP: '192.168.56.11' }], apiServerEndpoint: { ip: '192.168.56.1', port: 6443 } });
    try {
      assert.equal(cm2.admissionInstalled, true);
      const created = store.create('Service', obj(service('default', 'web', { type: 'NodePort', ports: [{ port: 80 }] }))) as Json;
      assert.ok(created.spec.clusterIP);
      assert.ok(created.spec.ports[0].nodePort);
      assert.throws(
        () => store.create('Service', obj(service('default', 'web2', { clusterIP: created.spec.clusterIP, ports: [{ port: 80 }] }))),
        (e: unknown) => e instanceof StatusError && e.httpCode === 422 && e.reason === 'Invalid',
      );
      const cur = store.get('Service', 'default', 'web') as Json;
      const reapplied = store.update('Service', obj({ ...cur, spec: { type: 'NodePort', ports: [{ port: 80 }] } })) as Json;
      assert.equal(reapplied.spec.clusterIP, created.spec.clusterIP);
      assert.equal(reapplied.spec.ports[0].nodePort, created.spec.ports[0].nodePort);
      store.delete('Service', 'default', 'web');
      const again = store.create('Service', obj(service('default', 'web3', { clusterIP: created.spec.clusterIP, ports: [{ port: 80 }] }))) as Json;
      assert.equal(again.spec.clusterIP, created.spec.clusterIP);
      await cm2.idle();
      assert.equal(store.list('Event').items.length, 0);
    } finally {
      await cm2.stop();
    }
    assert.equal(store.hooks, undefined);
  });
});
