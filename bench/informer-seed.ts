// Seed objects for bench/informer.ts: realistic Services and EndpointSlices as
// kubectl/the controller-manager leave them (managedFields, last-applied
// annotations, owner references, targetRefs, zones, conditions).

type Obj = Record<string, unknown>;

const NAMESPACES = 20;
const NODES = 100;

function ip(base: number, i: number): string {
  return `${base}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** EKS-style node names: long enough that every copy costs (V8 internalizes only very short JSON strings). */
const nodeName = (i: number): string => `ip-10-0-${i >> 8}-${i & 255}.eu-west-1.compute.internal`;
const ns = (i: number): string => `team-${i % NAMESPACES}`;
const svcName = (i: number): string => `svc-${i}`;

function managedFields(manager: string, time: string): Obj[] {
  return [
    {
      manager,
      operation: 'Update',
      apiVersion: 'v1',
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:ports': { '.': {}, 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } }, 'f:selector': {} } },
    },
  ];
}

function service(i: number): Obj {
  const name = svcName(i);
  const spec = {
    type: i % 100 === 0 ? 'NodePort' : 'ClusterIP',
    clusterIP: ip(10, 96 * 65536 + i),
    clusterIPs: [ip(10, 96 * 65536 + i)],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    selector: { app: name },
    sessionAffinity: 'None',
    internalTrafficPolicy: 'Cluster',
    ...(i % 100 === 1 ? { type: 'NodePort', externalTrafficPolicy: 'Local' } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: ns(i),
      labels: { app: name, 'app.kubernetes.io/part-of': 'bench' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns(i) }, spec: { ports: spec.ports, selector: spec.selector } }),
      },
      managedFields: managedFields('kubectl-client-side-apply', '2026-01-01T00:00:00Z'),
    },
    spec,
  };
}

function slice(s: number, endpoints: number): Obj {
  const svc = svcName(s);
  const eps: Obj[] = [];
  for (let e = 0; e < endpoints; e++) {
    const n = s * endpoints + e;
    const ready = n % 50 !== 0;
    eps.push({
      addresses: [ip(10, 244 * 65536 + n)],
      conditions: { ready, serving: ready, terminating: false },
      nodeName: nodeName(n % NODES),
      zone: `eu-west-1${'abc'[n % 3]}`,
      targetRef: { kind: 'Pod', namespace: ns(s), name: `${svc}-7d9f8b6c5-${n.toString(36).padStart(5, '0')}`, uid: `0000${n}-aaaa-bbbb-cccc-dddddddddddd`.slice(-36) },
    });
  }
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svc}-abcde`,
      namespace: ns(s),
      generateName: `${svc}-`,
      labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', app: svc },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc, uid: `uid-${svc}`, controller: true, blockOwnerDeletion: true }],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'discovery.k8s.io/v1',
          time: '2026-01-01T00:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:addressType': {}, 'f:endpoints': {}, 'f:metadata': { 'f:annotations': {}, 'f:generateName': {}, 'f:labels': {}, 'f:ownerReferences': {} }, 'f:ports': {} },
        },
      ],
    },
    addressType: 'IPv4',
    endpoints: eps,
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

export function* seedDocuments(services: number, slices: number, endpoints: number): Generator<Obj> {
  for (let i = 0; i < NAMESPACES; i++) yield { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${i}` } };
  for (let i = 0; i < services; i++) yield service(i);
  for (let s = 0; s < slices; s++) yield slice(s, endpoints);
}
