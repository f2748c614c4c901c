// Objects every cluster has from the start: the four system namespaces and
// the `kubernetes` Service in `default` with the EndpointSlice the API
// server's endpoint reconciler keeps (pkg/controlplane/reconcilers).
import type { ObjectStore, StoredObject } from '../../apiserver/types.js';
import { ipFamily } from './cidr.js';
import { DEFAULT_NAMESPACES, LABEL_SERVICE_NAME } from './constants.js';
import { canonical } from './endpoints.js';
import type { ServiceAllocator } from './service-alloc.js';
import { asService, asSlice, toStored, type EndpointSliceObj, type ServiceObj } from './types.js';

export interface ApiServerEndpoint {
  ip: string;
  port: number;
}

export function ensureNamespaces(store: ObjectStore): void {
  for (const name of DEFAULT_NAMESPACES) {
    if (store.get('Namespace', undefined, name)) continue;
    store.create('Namespace', toStored({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  }
}

export function kubernetesService(clusterIP: string, targetPort: number): ServiceObj {
  const fam = ipFamily(clusterIP) ?? 'IPv4';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: [fam],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
  };
}

export function kubernetesEndpointSlice(ep: ApiServerEndpoint): EndpointSliceObj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { [LABEL_SERVICE_NAME]: 'kubernetes' } },
    addressType: ipFamily(ep.ip) ?? 'IPv4',
    endpoints: [{ addresses: [ep.ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port: ep.port, protocol: 'TCP' }],
  };
}

/**
 * Creates or corrects the `kubernetes` Service (the first address of the
 * service CIDR, 443 → the API server port) and its EndpointSlice.
 */
export function ensureKubernetesService(store: ObjectStore, alloc: ServiceAllocator, ep: ApiServerEndpoint): StoredObject {
  const ip = alloc.range.ipAt(1n);
  const want = alloc.allocate(kubernetesService(ip, ep.port));
  const cur = store.get('Service', 'default', 'kubernetes');
  let svc: StoredObject;
  if (!cur) {
    svc = store.create('Service', toStored(want));
  } else {
    const c = asService(cur);
    if (c.spec.clusterIP === ip && canonical(c.spec.ports) === canonical(want.spec.ports)) {
      svc = cur;
    } else {
      const next = structuredClone(c);
      next.spec.ports = want.spec.ports;
      svc = store.update('Service', toStored(next));
    }
  }
  const slice = kubernetesEndpointSlice(ep);
  const s = store.get('EndpointSlice', 'default', 'kubernetes');
  if (!s) {
    store.create('EndpointSlice', toStored(slice));
  } else {
    const c = asSlice(s);
    if (
      canonical(c.endpoints ?? []) !== canonical(slice.endpoints) ||
      canonical(c.ports ?? []) !== canonical(slice.ports) ||
      canonical(c.metadata.labels ?? {}) !== canonical(slice.metadata.labels) ||
      c.addressType !== slice.addressType
    ) {
      store.update('EndpointSlice', toStored({ ...c, ...slice, metadata: { ...c.metadata, labels: slice.metadata.labels } }));
    }
  }
  return svc;
}
