// Object shapes the lab controller-manager reads and writes. These are the
// full Kubernetes JSON fields it needs (not the agent's slimmed informer
// types): targetRef uid, ownerReferences, pod conditions and so on.
import type { StoredObject } from '../../apiserver/types.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type AddressType = 'IPv4' | 'IPv6';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generateName?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceObj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    clusterIP?: string;
    clusterIPs?: string[];
    ipFamilies?: AddressType[];
    ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
    ports?: ServicePort[];
    selector?: Record<string, string> | null;
    externalTrafficPolicy?: 'Cluster' | 'Local';
    healthCheckNodePort?: number;
    allocateLoadBalancerNodePorts?: boolean;
    publishNotReadyAddresses?: boolean;
    [k: string]: unknown;
  };
  status?: unknown;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
}

export interface PodObj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec: {
    nodeName?: string;
    hostname?: string;
    subdomain?: string;
    containers?: { name: string; ports?: ContainerPort[] }[];
    initContainers?: { name: string; ports?: ContainerPort[]; restartPolicy?: string }[];
  };
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}

export interface NodeObj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: { podCIDR?: string; podCIDRs?: string[]; [k: string]: unknown };
  status?: { addresses?: { type: string; address: string }[]; [k: string]: unknown };
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind: string; namespace?: string; name: string; uid?: string };
  hints?: unknown;
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSliceObj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  addressType: AddressType | 'FQDN';
  endpoints: Endpoint[] | null;
  ports?: EndpointPort[] | null;
}

/** A pino-compatible subset (pino's `logger.info(obj, msg)` form). */
export interface CmLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: CmLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

// The store hands out StoredObject (metadata plus an open index signature);
// these casts view it as the shape above. Both sides are plain JSON.
export function asService(o: StoredObject): ServiceObj {
  return o as unknown as ServiceObj;
}
export function asPod(o: StoredObject): PodObj {
  return o as unknown as PodObj;
}
export function asNode(o: StoredObject): NodeObj {
  return o as unknown as NodeObj;
}
export function asSlice(o: StoredObject): EndpointSliceObj {
  return o as unknown as EndpointSliceObj;
}
export function toStored(o: ServiceObj | PodObj | NodeObj | EndpointSliceObj | object): StoredObject {
  return o as unknown as StoredObject;
}

export function objKey(m: { namespace?: string; name: string }): string {
  return m.namespace ? `${m.namespace}/${m.name}` : m.name;
}
