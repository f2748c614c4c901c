import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileService, type ReconcileInput } from '../../src/lab/cluster/controller-manager/reconciler.js';
import { formatTriggerTime, findPort, getAddressTypes } from '../../src/lab/cluster/controller-manager/endpoints.js';
import type { EndpointSliceObj, PodObj, ServiceObj } from '../../src/lab/cluster/controller-manager/types.js';

const SVC_UID = 'svc-uid-1';

function service(spec: Partial<ServiceObj['spec']> = {}, labels?: Record<string, string>): ServiceObj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'x', uid: SVC_UID, ...(labels ? { labels } : {}) },
    spec: {
      clusterIP: '10.96.100.1',
      ipFamilies: ['IPv4'],
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      ...spec,
    },
  };
}

interface PodOpts {
  ip?: string;
  ips?: string[];
  node?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  ready?: boolean;
  terminating?: boolean;
  ports?: { name: string; containerPort: number; protocol?: 'TCP' | 'UDP' }[];
}

function pod(name: string, o: PodOpts = {}): PodObj {
  const ips = o.ips ?? (o.ip === undefined ? [`10.244.0.${Number(name.replace(/\D/g, '') || '1') % 250 + 2}`] : o.ip ? [o.ip] : []);
  const p: PodObj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'x', uid: `uid-${name}`, labels: { app: 'web' } },
    spec: { nodeName: o.node ?? 'node1', containers: [{ name: 'c', ports: o.ports ?? [] }] },
    status: { phase: o.phase ?? 'Running', podIPs: ips.map((ip) => ({ ip })), ...(ips[0] ? { podIP: ips[0] } : {}) },
  };
  if (o.ready !== undefined) p.status!.conditions = [{ type: 'Ready', status: o.ready ? 'True' : 'False' }];
  if (o.terminating) p.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
  return p;
}

function manyPods(n: number, opts: PodOpts = {}): PodObj[] {
  return Array.from({ length: n }, (_, i) => pod(`p${i}`, { ...opts, ip: `10.244.${Math.floor(i / 250)}.${(i % 250) + 2}` }));
}

const NODES = new Map<string, { zone?: string }>([
  ['node1', { zone: 'zone-a' }],
  ['node2', { zone: 'zone-b' }],
  ['node3', {}],
]);

function input(svc: ServiceObj, pods: PodObj[], existing: EndpointSliceObj[] = [], extra: Partial<ReconcileInput> = {}): ReconcileInput {
  return { service: svc, pods, nodes: NODES, existing, maxEndpointsPerSlice: 100, ...extra };
}

let counter = 0;
/** Applies a plan the way the store would: names for creates, the rest as written. */
function apply(existing: EndpointSliceObj[], plan: ReturnType<typeof reconcileService>): EndpointSliceObj[] {
  const byName = new Map(existing.map((s) => [s.metadata.name, s]));
  for (const s of plan.delete) byName.delete(s.metadata.name);
  for (const s of plan.update) byName.set(s.metadata.name, structuredClone(s));
  for (const s of plan.create) {
    const c = structuredClone(s);
    c.metadata.name = `${s.metadata.generateName}${String(counter++).padStart(5, 'b')}`;
    byName.set(c.metadata.name, c);
  }
  return [...byName.values()];
}

function allEndpoints(slices: EndpointSliceObj[]): string[] {
  return slices.flatMap((s) => (s.endpoints ?? []).map((e) => e.addresses[0] as string)).sort();
}

describe('reconcileService: slice shape', () => {
  it('builds one IPv4 slice with labels, owner, ports, conditions, node, zone and targetRef', () => {
    const plan = reconcileService(input(service({}, { team: 'a' }), [pod('a', { ip: '10.244.0.5', node: 'node1' })]));
    assert.equal(plan.create.length, 1);
    assert.equal(plan.update.length + plan.delete.length, 0);
    const s = plan.create[0] as EndpointSliceObj;
    assert.equal(s.apiVersion, 'discovery.k8s.io/v1');
    assert.equal(s.metadata.generateName, 'web-');
    assert.equal(s.metadata.namespace, 'x');
    assert.deepEqual(s.metadata.labels, {
      team: 'a',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    assert.deepEqual(s.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'Service', name: 'web', uid: SVC_UID, controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(s.addressType, 'IPv4');
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(s.endpoints, [{
      addresses: ['10.244.0.5'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'x', name: 'a', uid: 'uid-a' },
      nodeName: 'node1',
      zone: 'zone-a',
    }]);
  });

  it('sets conditions for not-ready and terminating pods, skips pods without IP and finished pods', () => {
    const plan = reconcileService(input(service(), [
      pod('ready', { ip: '10.244.0.2' }),
      pod('notready', { ip: '10.244.0.3', ready: false }),
      pod('pending', { ip: '10.244.0.4', phase: 'Pending' }),
      pod('term', { ip: '10.244.0.5', terminating: true }),
      pod('termnr', { ip: '10.244.0.6', terminating: true, ready: false }),
      pod('noip', { ip: '' }),
      pod('done', { ip: '10.244.0.7', phase: 'Succeeded' }),
    ]));
    const eps = new Map((plan.create[0]?.endpoints ?? []).map((e) => [e.targetRef?.name, e.conditions]));
    assert.deepEqual([...eps.keys()].sort(), ['notready', 'pending', 'ready', 'term', 'termnr']);
    assert.deepEqual(eps.get('ready'), { ready: true, serving: true, terminating: false });
    assert.deepEqual(eps.get('notready'), { ready: false, serving: false, terminating: false });
    assert.deepEqual(eps.get('pending'), { ready: false, serving: false, terminating: false });
    assert.deepEqual(eps.get('term'), { ready: false, serving: true, terminating: true });
    assert.deepEqual(eps.get('termnr'), { ready: false, serving: false, terminating: true });
  });

  it('publishNotReadyAddresses makes every endpoint ready', () => {
    const plan = reconcileService(input(service({ publishNotReadyAddresses: true }), [
      pod('a', { ip: '10.244.0.3', ready: false }),
      pod('b', { ip: '10.244.0.4', terminating: true }),
    ]));
    for (const e of plan.create[0]?.endpoints ?? []) assert.equal(e.conditions.ready, true);
  });

  it('leaves out pods on an unknown node unless publishNotReadyAddresses', () => {
    const plan = reconcileService(input(service(), [pod('a', { node: 'ghost' }), pod('b', { ip: '10.244.0.9' })]));
    assert.deepEqual(plan.skippedPods, ['x/a']);
    assert.deepEqual(allEndpoints(plan.create), ['10.244.0.9']);
  });

  it('no zone when the node has no zone label', () => {
    const plan = reconcileService(input(service(), [pod('a', { node: 'node3' })]));
    assert.equal(plan.create[0]?.endpoints?.[0]?.zone, undefined);
    assert.equal(plan.create[0]?.endpoints?.[0]?.nodeName, 'node3');
  });

  it('headless services get slices with the headless label', () => {
    const plan = reconcileService(input(service({ clusterIP: 'None', clusterIPs: ['None'] }), [pod('a')]));
    assert.equal(plan.create.length, 1);
    assert.equal(plan.create[0]?.metadata.labels?.['service.kubernetes.io/headless'], '');
  });

  it('headless without ports gets a slice without ports', () => {
    const plan = reconcileService(input(service({ clusterIP: 'None', ports: [] }), [pod('a')]));
    assert.equal(plan.create[0]?.ports, undefined);
    assert.equal(plan.create[0]?.endpoints?.length, 1);
  });

  it('IPv6 pod IPs go into IPv6 slices for a dual-stack service', () => {
    const svc = service({ ipFamilies: ['IPv4', 'IPv6'] });
    const plan = reconcileService(input(svc, [pod('a', { ips: ['10.244.0.8', 'fd00:10:244::0008'] })]));
    const byType = new Map(plan.create.map((s) => [s.addressType, s]));
    assert.deepEqual(byType.get('IPv4')?.endpoints?.[0]?.addresses, ['10.244.0.8']);
    assert.deepEqual(byType.get('IPv6')?.endpoints?.[0]?.addresses, ['fd00:10:244::8']);
  });

  it('a service without pods gets one placeholder slice, kept on resync', () => {
    const plan = reconcileService(input(service(), []));
    assert.equal(plan.create.length, 1);
    assert.deepEqual(plan.create[0]?.endpoints, []);
    assert.equal(plan.create[0]?.ports, undefined);
    const slices = apply([], plan);
    const again = reconcileService(input(service(), [], slices));
    assert.equal(again.create.length + again.update.length + again.delete.length, 0);
  });

  it('writes the trigger-time annotation on written slices only', () => {
    const t = formatTriggerTime(Date.UTC(2025, 0, 2, 3, 4, 5, 120));
    assert.equal(t, '2025-01-02T03:04:05.12Z');
    assert.equal(formatTriggerTime(Date.UTC(2025, 0, 2, 3, 4, 5, 0)), '2025-01-02T03:04:05Z');
    const plan = reconcileService(input(service(), [pod('a')], [], { triggerTime: t }));
    assert.equal(plan.create[0]?.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'], t);
  });
});

describe('reconcileService: named ports', () => {
  it('resolves a named targetPort per pod, splitting pods that resolve differently', () => {
    const svc = service({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] });
    const plan = reconcileService(input(svc, [
      pod('a', { ip: '10.244.0.2', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('b', { ip: '10.244.0.3', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('c', { ip: '10.244.0.4', ports: [{ name: 'web', containerPort: 9090 }] }),
      pod('d', { ip: '10.244.0.5', ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }] }),
    ]));
    const byPort = new Map(plan.create.map((s) => [JSON.stringify(s.ports ?? []), allEndpoints([s])]));
    assert.deepEqual(byPort.get(JSON.stringify([{ name: 'http', port: 8080, protocol: 'TCP' }])), ['10.244.0.2', '10.244.0.3']);
    assert.deepEqual(byPort.get(JSON.stringify([{ name: 'http', port: 9090, protocol: 'TCP' }])), ['10.244.0.4']);
    // a pod without a matching (name, protocol) port has no ports at all
    assert.deepEqual(byPort.get(JSON.stringify([])), ['10.244.0.5']);
  });

  it('findPort: numeric, numeric string, default to port, protocol-sensitive names', () => {
    const p = pod('a', { ports: [{ name: 'dns', containerPort: 5353, protocol: 'UDP' }] });
    assert.equal(findPort(p, { port: 53, targetPort: 1053 }), 1053);
    assert.equal(findPort(p, { port: 53, targetPort: '1054' }), 1054);
    assert.equal(findPort(p, { port: 53 }), 53);
    assert.equal(findPort(p, { port: 53, protocol: 'UDP', targetPort: 'dns' }), 5353);
    assert.equal(findPort(p, { port: 53, protocol: 'TCP', targetPort: 'dns' }), undefined);
  });

  it('address types: ipFamilies, else the ClusterIP family, else both', () => {
    assert.deepEqual([...getAddressTypes(service({ ipFamilies: ['IPv6'] }))], ['IPv6']);
    assert.deepEqual([...getAddressTypes(service({ ipFamilies: undefined, clusterIP: 'fd00::5' }))], ['IPv6']);
    assert.deepEqual([...getAddressTypes(service({ ipFamilies: undefined, clusterIP: 'None' }))].sort(), ['IPv4', 'IPv6']);
  });
});

describe('reconcileService: splitting and stability', () => {
  it('splits 250 endpoints into slices of at most 100', () => {
    const pods = manyPods(250);
    const plan = reconcileService(input(service(), pods));
    assert.deepEqual(plan.create.map((s) => s.endpoints?.length).sort(), [100, 100, 50]);
    assert.equal(allEndpoints(plan.create).length, 250);
  });

  it('is a no-op when nothing changed', () => {
    const pods = manyPods(250);
    const slices = apply([], reconcileService(input(service(), pods)));
    const again = reconcileService(input(service(), pods, slices));
    assert.deepEqual(again, { create: [], update: [], delete: [], skippedPods: [] });
  });

  it('updates only the slice holding a changed endpoint', () => {
    const pods = manyPods(250);
    const slices = apply([], reconcileService(input(service(), pods)));
    const changed = pods.map((p) => (p.metadata.name === 'p7' ? { ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'False' }] } } : p));
    const plan = reconcileService(input(service(), changed, slices));
    assert.equal(plan.create.length + plan.delete.length, 0);
    assert.equal(plan.update.length, 1);
    const holder = slices.find((s) => (s.endpoints ?? []).some((e) => e.targetRef?.name === 'p7'));
    assert.equal(plan.update[0]?.metadata.name, holder?.metadata.name);
    assert.equal(plan.update[0]?.metadata.resourceVersion, holder?.metadata.resourceVersion);
  });

  it('adds a new endpoint into an existing slice with room instead of creating one', () => {
    const pods = manyPods(150);
    const slices = apply([], reconcileService(input(service(), pods)));
    const plan = reconcileService(input(service(), [...pods, pod('new', { ip: '10.244.9.9' })], slices));
    assert.equal(plan.create.length, 0);
    assert.equal(plan.update.length, 1);
    assert.equal(plan.update[0]?.endpoints?.length, 51);
  });

  it('removes endpoints of deleted pods in place and deletes emptied slices', () => {
    const pods = manyPods(150);
    const slices = apply([], reconcileService(input(service(), pods)));
    const small = slices.find((s) => s.endpoints?.length === 50) as EndpointSliceObj;
    const keep = new Set((small.endpoints ?? []).map((e) => e.targetRef?.name));
    const plan = reconcileService(input(service(), pods.filter((p) => !keep.has(p.metadata.name)), slices));
    assert.deepEqual(plan.delete.map((s) => s.metadata.name), [small.metadata.name]);
    assert.equal(plan.create.length + plan.update.length, 0);
  });

  it('reuses a slice about to be deleted instead of delete + create (placeholder → endpoints)', () => {
    const slices = apply([], reconcileService(input(service(), [])));
    const plan = reconcileService(input(service(), [pod('a')], slices));
    assert.equal(plan.create.length, 0);
    assert.equal(plan.delete.length, 0);
    assert.equal(plan.update.length, 1);
    assert.equal(plan.update[0]?.metadata.name, slices[0]?.metadata.name);
    assert.equal(plan.update[0]?.endpoints?.length, 1);
  });

  it('updates labels when the service labels change, without touching endpoints', () => {
    const slices = apply([], reconcileService(input(service(), [pod('a')])));
    const plan = reconcileService(input(service({}, { tier: 'front' }), [pod('a')], slices));
    assert.equal(plan.update.length, 1);
    assert.equal(plan.update[0]?.metadata.labels?.tier, 'front');
  });

  it('deletes slices not owned by the service (old service with the same name)', () => {
    const slices = apply([], reconcileService(input(service(), [pod('a')])));
    const newer = service();
    newer.metadata.uid = 'svc-uid-2';
    const plan = reconcileService(input(newer, [pod('a')], slices));
    assert.equal(plan.delete.length, 1);
    assert.equal(plan.create.length, 1);
    assert.equal(plan.create[0]?.metadata.ownerReferences?.[0]?.uid, 'svc-uid-2');
  });

  it('respects a smaller maxEndpointsPerSlice', () => {
    const plan = reconcileService(input(service(), manyPods(7), [], { maxEndpointsPerSlice: 3 }));
    assert.deepEqual(plan.create.map((s) => s.endpoints?.length).sort(), [1, 3, 3]);
  });
});
