// The lab API server's in-process store: defaulting, validation, update
// rules, the one resourceVersion, history and 410, in-process watches,
// graceful pod deletion, finalizers, namespaces.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabStore, StatusError, type StoredObject, type WatchEvent } from '../../src/lab/apiserver/index.js';
import { parseSeedYaml } from '../../src/lab/apiserver/seed.js';

function fresh(historyLimit?: number): LabStore {
  const s = new LabStore({ historyLimit });
  s.seed([]);
  return s;
}

function svc(name: string, spec: Record<string, unknown> = {}): StoredObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }], ...spec } };
}

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StatusError, `not a StatusError: ${String(err)}`);
    return err;
  }
  assert.fail('no error thrown');
}

describe('lab store: defaulting', () => {
  it('defaults Services like kube-apiserver (without allocating)', () => {
    const s = fresh();
    const np = s.create('Service', svc('np', { type: 'NodePort' }));
    const spec = np.spec as Record<string, unknown>;
    assert.equal(spec.externalTrafficPolicy, 'Cluster');
    assert.equal(spec.internalTrafficPolicy, 'Cluster');
    assert.equal(spec.clusterIP, undefined);
    assert.equal((spec.ports as { nodePort?: number }[])[0].nodePort, undefined);
    const lb = s.create('Service', svc('lb', { type: 'LoadBalancer' }));
    assert.equal((lb.spec as Record<string, unknown>).allocateLoadBalancerNodePorts, true);
    assert.deepEqual(lb.status, { loadBalancer: {} });
    const v6 = s.create('Service', svc('v6', { clusterIP: 'fd00::10' }));
    assert.deepEqual((v6.spec as Record<string, unknown>).ipFamilies, ['IPv6']);
    assert.deepEqual((v6.spec as Record<string, unknown>).clusterIPs, ['fd00::10']);
    const ext = s.create('Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
    assert.equal((ext.spec as Record<string, unknown>).ipFamilies, undefined);
    const aff = s.create('Service', svc('aff', { sessionAffinity: 'ClientIP' }));
    assert.deepEqual((aff.spec as Record<string, unknown>).sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  });

  it('resets status on create for Pods and Services, keeps it for Nodes', () => {
    const s = fresh();
    const pod = s.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Running', podIP: '1.2.3.4' } });
    assert.deepEqual(pod.status, { phase: 'Pending' });
    const node = s.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: {}, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } });
    assert.deepEqual((node.status as { addresses: unknown[] }).addresses.length, 1);
  });

  it('fills namespace, generateName, uid, creationTimestamp, generation', () => {
    const s = fresh();
    const o = s.create('Lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: '', generateName: 'lease-' }, spec: {} });
    assert.equal(o.metadata.namespace, 'default');
    assert.match(o.metadata.name, /^lease-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.match(o.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(o.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(o.metadata.generation, 1);
  });
});

describe('lab store: validation', () => {
  it('skips spec validation (not metadata) for an object annotated lab.kube-router-ts.io/skip-spec-validation', () => {
    const s = fresh();
    const bad = (name: string, annotations?: Record<string, string>): StoredObject => ({
      ...svc(name, { ports: [{ name: 'bad', port: 'eighty', targetPort: 80 }] }),
      metadata: { name, namespace: 'default', annotations },
    });
    assert.match(statusOf(() => s.create('Service', bad('plain'))).message, /spec\.ports\[0\]\.port/);
    assert.match(statusOf(() => s.create('Service', bad('off', { 'lab.kube-router-ts.io/skip-spec-validation': 'false' }))).message, /spec\.ports\[0\]\.port/);
    const stored = s.create('Service', bad('kept', { 'lab.kube-router-ts.io/skip-spec-validation': 'true' }));
    assert.equal((stored.spec as { ports: { port: unknown }[] }).ports[0].port, 'eighty');
    const badName = bad('Bad_Name', { 'lab.kube-router-ts.io/skip-spec-validation': 'true' });
    assert.match(statusOf(() => s.create('Service', badName)).message, /metadata\.name: Invalid value/);
  });

  it('rejects what kube-apiserver rejects with 422, with field paths', () => {
    const s = fresh();
    const cases: [StoredObject, RegExp][] = [
      [svc('a', { ports: [{ port: 80 }, { port: 81 }] }), /spec\.ports\[0\]\.name: Required value/],
      [svc('b', { ports: [{ port: 80, protocol: 'ICMP' }] }), /spec\.ports\[0\]\.protocol: Unsupported value: "ICMP"/],
      [svc('c', { clusterIP: '300.1.1.1' }), /spec\.clusterIPs\[0\]: Invalid value: "300\.1\.1\.1"/],
      [svc('d', { ports: [{ port: 80, nodePort: 30000 }] }), /nodePort: Forbidden/],
      [svc('e', { externalTrafficPolicy: 'Local' }), /spec\.externalTrafficPolicy/],
      [svc('1abc'), /metadata\.name: Invalid value: "1abc"/],
    ];
    for (const [obj, re] of cases) {
      const err = statusOf(() => s.create('Service', obj));
      assert.equal(err.httpCode, 422, obj.metadata.name);
      assert.equal(err.reason, 'Invalid');
      assert.match(err.message, re);
    }
    const np = statusOf(() =>
      s.create('NetworkPolicy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'np', namespace: 'default' },
        spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] },
      }),
    );
    assert.match(np.message, /spec\.podSelector\.matchExpressions\[0\]\.values: Required value/);
    assert.match(np.message, /spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: Invalid value/);
    const pod = statusOf(() => s.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c' }] } }));
    assert.match(pod.message, /spec\.containers\[0\]\.image: Required value/);
    const slice = statusOf(() =>
      s.create('EndpointSlice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] } as StoredObject),
    );
    assert.match(slice.message, /endpoints\[0\]\.addresses\[0\]/);
    const kindMismatch = statusOf(() => s.create('Service', { ...svc('k'), kind: 'Pod' }));
    assert.equal(kindMismatch.httpCode, 400);
    const ns = statusOf(() => s.create('Service', { ...svc('k'), metadata: { name: 'k', namespace: 'nowhere' } }));
    assert.equal(ns.httpCode, 404);
  });

  it('keeps an allocated clusterIP on replace and refuses to change it', () => {
    const s = fresh();
    s.create('Service', svc('web', { type: 'NodePort' }));
    s.patch('Service', 'default', 'web', { spec: { clusterIP: '10.96.0.7', ports: [{ port: 80, nodePort: 30080 }] } });
    const replaced = s.update('Service', svc('web', { type: 'NodePort', ports: [{ port: 80 }] }));
    assert.equal((replaced.spec as Record<string, unknown>).clusterIP, '10.96.0.7');
    assert.equal((replaced.spec as { ports: { nodePort: number }[] }).ports[0].nodePort, 30080);
    const err = statusOf(() => s.patch('Service', 'default', 'web', { spec: { clusterIP: '10.96.0.8' } }));
    assert.match(err.message, /may not change once set/);
  });
});

describe('lab store: versions, history, watch', () => {
  it('uses one resourceVersion for every kind, and skips no-op updates', () => {
    const s = fresh();
    const a = s.create('Service', svc('a'));
    const n = s.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: {} });
    assert.equal(Number(n.metadata.resourceVersion), Number(a.metadata.resourceVersion) + 1);
    assert.equal(s.resourceVersion(), n.metadata.resourceVersion);
    const same = s.update('Service', a);
    assert.equal(same.metadata.resourceVersion, a.metadata.resourceVersion);
    const labelled = s.patch('Service', 'default', 'a', { metadata: { labels: { x: 'y' } } });
    assert.equal(labelled.metadata.generation, 1);
    const changed = s.patch('Service', 'default', 'a', { spec: { ports: [{ port: 81 }] } });
    assert.equal(changed.metadata.generation, 2);
    const stale = statusOf(() => s.update('Service', a));
    assert.equal(stale.httpCode, 409);
    assert.equal(stale.reason, 'Conflict');
  });

  it('replays history to a watch and answers 410 once it is trimmed or compacted', () => {
    const s = fresh(5);
    const start = s.resourceVersion();
    for (let i = 0; i < 3; i++) s.create('Service', svc(`h${i}`));
    const seen: string[] = [];
    const stop = s.watch('Service', start, {}, (ev) => seen.push(`${ev.type} ${ev.object.metadata.name}`));
    assert.deepEqual(seen, ['ADDED h0', 'ADDED h1', 'ADDED h2']);
    stop();
    for (let i = 3; i < 10; i++) s.create('Service', svc(`h${i}`));
    const gone = statusOf(() => s.watch('Service', start, {}, () => undefined));
    assert.equal(gone.httpCode, 410);
    assert.equal(gone.reason, 'Expired');
    assert.match(gone.message, /^too old resource version: \d+ \(\d+\)$/);
    const recent = String(Number(s.resourceVersion()) - 2);
    s.watch('Service', recent, {}, () => undefined)();
    s.compact();
    assert.equal(statusOf(() => s.watch('Service', recent, {}, () => undefined)).httpCode, 410);
  });

  it('delivers events in order to every watcher even when a watcher writes', () => {
    const s = fresh();
    const a: string[] = [];
    const b: string[] = [];
    s.watch('Service', s.resourceVersion(), {}, (ev) => {
      a.push(`${ev.type} ${ev.object.metadata.name}@${ev.object.metadata.resourceVersion}`);
      if (ev.type === 'ADDED' && ev.object.metadata.name === 'first') s.create('Service', svc('second'));
    });
    s.watch('Service', s.resourceVersion(), {}, (ev: WatchEvent) => b.push(`${ev.type} ${ev.object.metadata.name}@${ev.object.metadata.resourceVersion}`));
    s.create('Service', svc('first'));
    assert.equal(a.length, 2);
    assert.deepEqual(a, b);
    assert.ok(Number(a[0].split('@')[1]) < Number(a[1].split('@')[1]));
  });

  it('hands out copies: mutating a returned object does not touch the store', () => {
    const s = fresh();
    const o = s.create('Service', svc('copy'));
    (o.spec as Record<string, unknown>).type = 'NodePort';
    assert.equal((s.get('Service', 'default', 'copy')?.spec as Record<string, unknown>).type, 'ClusterIP');
  });
});

describe('lab store: deletion', () => {
  it('marks bound pods, deletes them with grace 0, deletes unbound ones at once', () => {
    const s = fresh();
    const pod = (name: string, nodeName?: string): StoredObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'i' }] },
    });
    s.create('Pod', pod('bound', 'n1'));
    const marked = s.delete('Pod', 'default', 'bound');
    assert.ok(marked?.metadata.deletionTimestamp);
    assert.equal(marked?.metadata.deletionGracePeriodSeconds, 30);
    assert.ok(s.get('Pod', 'default', 'bound'));
    const again = s.delete('Pod', 'default', 'bound');
    assert.equal(again?.metadata.resourceVersion, marked?.metadata.resourceVersion);
    s.delete('Pod', 'default', 'bound', { gracePeriodSeconds: 0 });
    assert.equal(s.get('Pod', 'default', 'bound'), undefined);
    s.create('Pod', pod('free'));
    s.delete('Pod', 'default', 'free');
    assert.equal(s.get('Pod', 'default', 'free'), undefined);
    assert.equal(s.delete('Pod', 'default', 'never'), undefined);
  });

  it('holds objects with finalizers until the last one is removed', () => {
    const s = fresh();
    s.create('Service', { ...svc('fin'), metadata: { name: 'fin', namespace: 'default', finalizers: ['lab/x'] } });
    const marked = s.delete('Service', 'default', 'fin');
    assert.ok(marked?.metadata.deletionTimestamp);
    assert.ok(s.get('Service', 'default', 'fin'));
    s.patch('Service', 'default', 'fin', { metadata: { finalizers: null } });
    assert.equal(s.get('Service', 'default', 'fin'), undefined);
  });

  it('cascades namespace deletion and protects the system namespaces', () => {
    const s = fresh();
    s.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
    s.create('Service', { ...svc('x'), metadata: { name: 'x', namespace: 'tmp' } });
    const types: string[] = [];
    s.watch('Namespace', s.resourceVersion(), {}, (ev) => types.push(ev.type));
    s.delete('Namespace', undefined, 'tmp');
    assert.deepEqual(types, ['MODIFIED', 'DELETED']);
    assert.equal(s.list('Service', { namespace: 'tmp' }).items.length, 0);
    assert.equal(statusOf(() => s.delete('Namespace', undefined, 'default')).httpCode, 403);
  });
});

describe('lab store: seed', () => {
  it('loads multi-document YAML, namespaces first, keeping given status', () => {
    const objs = parseSeedYaml(`apiVersion: v1
kind: Pod
metadata: {name: p, namespace: later}
spec: {nodeName: n1, containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 10.244.0.5}
---
apiVersion: v1
kind: Namespace
metadata: {name: later}
`);
    const s = new LabStore();
    s.seed(objs);
    assert.equal((s.get('Pod', 'later', 'p')?.status as Record<string, unknown>).podIP, '10.244.0.5');
    assert.ok(s.get('Namespace', undefined, 'default'));
    assert.throws(() => parseSeedYaml('just: text\n'), /not a Kubernetes object/);
  });
});
