import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeRouterError } from '../../src/errors.js';
import { slim } from '../../src/informers/slim.js';

const managedFields = [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }];

test('Service: declared fields kept, managedFields/unread annotations/status conditions dropped', () => {
  const raw = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'prod',
      uid: 'u1',
      resourceVersion: '42',
      creationTimestamp: '2024-01-01T00:00:00Z',
      managedFields,
      labels: { app: 'web', tier: 'fe' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{...}',
        'kube-router.io/service.scheduler': 'mh',
        'service.kubernetes.io/topology-mode': 'Auto',
        'node.kubernetes.io/x': 'y',
        'kubernetes.io/description': 'd',
        'example.com/other': 'drop',
      },
    },
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 }],
      selector: { app: 'web' },
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31000,
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      allocateLoadBalancerNodePorts: true,
    },
    status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP', ports: [] }] }, conditions: [{ type: 'x' }] },
  };
  assert.deepEqual(slim('Service', raw), {
    metadata: {
      name: 'web',
      namespace: 'prod',
      uid: 'u1',
      resourceVersion: '42',
      creationTimestamp: '2024-01-01T00:00:00Z',
      labels: { app: 'web', tier: 'fe' },
      annotations: {
        'kube-router.io/service.scheduler': 'mh',
        'service.kubernetes.io/topology-mode': 'Auto',
        'node.kubernetes.io/x': 'y',
        'kubernetes.io/description': 'd',
      },
    },
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, name: 'http', protocol: 'TCP', targetPort: 'http', nodePort: 30080 }],
      selector: { app: 'web' },
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31000,
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    },
    status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP' }] } },
  });
});

test('EndpointSlice: endpoints slimmed, conditions shared and frozen, strings interned, targetRef trimmed', () => {
  const ep = (ip: string, ready: boolean) => ({
    addresses: [ip],
    conditions: { ready, serving: ready, terminating: false },
    nodeName: `node-${'a'}`,
    zone: 'z1',
    targetRef: { kind: 'Pod', namespace: 'prod', name: `web-${ip}`, uid: 'x', resourceVersion: '9' },
    deprecatedTopology: { a: 'b' },
  });
  const raw = JSON.parse(
    JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-abc',
        namespace: 'prod',
        resourceVersion: '7',
        managedFields,
        labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'u1', controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints: [ep('10.0.0.1', true), ep('10.0.0.2', true), ep('10.0.0.3', false)],
      ports: [{ name: '', protocol: 'TCP', port: 8080 }],
    }),
  );
  const s = slim('EndpointSlice', raw);
  assert.deepEqual(s.endpoints[0], {
    addresses: ['10.0.0.1'],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: 'node-a',
    zone: 'z1',
    targetRef: { kind: 'Pod', namespace: 'prod', name: 'web-10.0.0.1' },
  });
  assert.equal(s.endpoints[0].conditions, s.endpoints[1].conditions, 'one shared conditions object');
  assert.notEqual(s.endpoints[0].conditions, s.endpoints[2].conditions);
  assert.ok(Object.isFrozen(s.endpoints[0].conditions));
  assert.deepEqual(s.ports, [{ name: '', protocol: 'TCP', port: 8080 }]);
  assert.deepEqual(s.metadata.ownerReferences, [{ kind: 'Service', name: 'web', uid: 'u1', controller: true }]);
  assert.deepEqual(s.metadata.annotations, { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z' });
  assert.equal(s.addressType, 'IPv4');
  assert.ok(!('managedFields' in s.metadata));
  assert.ok(!('kind' in s));
  // endpoints: null (an empty slice) is an empty array.
  assert.deepEqual(slim('EndpointSlice', { metadata: { name: 'e', namespace: 'n' }, addressType: 'IPv4', endpoints: null }).endpoints, []);
});

test('Node, Pod, Namespace, NetworkPolicy keep only declared fields', () => {
  const node = slim('Node', {
    metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' }, annotations: { 'kube-router.io/node.asn': '64512', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'k' }] },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.1.1' }], conditions: [{ type: 'Ready' }], images: [{ names: ['x'] }] },
  });
  assert.deepEqual(node, {
    metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' }, annotations: { 'kube-router.io/node.asn': '64512' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.1.1' }] },
  });
  const pod = slim('Pod', {
    metadata: { name: 'p', namespace: 'ns', labels: { app: 'x' } },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'nginx', env: [{ name: 'A' }], ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }, { name: 'side', image: 'x' }],
      volumes: [{}],
    },
    status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], hostIP: '192.168.1.1', conditions: [{}], containerStatuses: [{}] },
  });
  assert.deepEqual(pod, {
    metadata: { name: 'p', namespace: 'ns', labels: { app: 'x' } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }] }, { name: 'side' }] },
    status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], hostIP: '192.168.1.1' },
  });
  assert.deepEqual(slim('Namespace', { metadata: { name: 'ns', labels: { 'kubernetes.io/metadata.name': 'ns' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }), {
    metadata: { name: 'ns', labels: { 'kubernetes.io/metadata.name': 'ns' } },
    status: { phase: 'Active' },
  });
  const np = slim('NetworkPolicy', {
    metadata: { name: 'np', namespace: 'ns' },
    spec: {
      podSelector: { matchLabels: { app: 'x' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            { podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['fe', 'be'] }] }, namespaceSelector: {} },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
          ],
          ports: [{ protocol: 'TCP', port: 'http' }, { port: 8000, endPort: 9000 }],
        },
      ],
      egress: [{}],
    },
  });
  assert.deepEqual(np.spec, {
    podSelector: { matchLabels: { app: 'x' } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        from: [
          { podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['fe', 'be'] }] }, namespaceSelector: {} },
          { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
        ],
        ports: [{ protocol: 'TCP', port: 'http' }, { port: 8000, endPort: 9000 }],
      },
    ],
    egress: [{}],
  });
});

test('malformed objects throw an ObjectError naming kind, namespace/name and the field', () => {
  const cases: [unknown, RegExp, RegExp][] = [
    [{ metadata: { namespace: 'a' } }, /^Service a\/<no name>/, /metadata\.name/],
    [{ metadata: { name: 's', namespace: 'a' }, spec: { ports: [{ port: 80 }, { port: '80' }] } }, /^Service a\/s/, /spec\.ports\[1\]\.port/],
    [{ metadata: { name: 's', namespace: 'a', labels: { x: 1 } } }, /^Service a\/s/, /metadata\.labels\[x\]/],
    [{ metadata: { name: 's', namespace: 'a' }, spec: 'nope' }, /^Service a\/s/, /spec/],
    ['just a string', /^Service <no name>/, /expected an object/],
  ];
  for (const [raw, obj, field] of cases) {
    assert.throws(
      () => slim('Service', raw),
      (err: unknown) => {
        assert.ok(err instanceof KubeRouterError);
        assert.equal(err.code, 'KR_ERR_OBJECT');
        assert.match(String(err.context.object), obj);
        assert.match(err.message, field);
        return true;
      },
    );
  }
  assert.throws(() => slim('EndpointSlice', { metadata: { name: 'e', namespace: 'n' }, addressType: 'IPv4', endpoints: [{ addresses: [1] }] }), /endpoints\[0\]\.addresses\[0\]/);
});
