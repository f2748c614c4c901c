// Lean Kubernetes object types held by the shared informer cache.
//
// The cache keeps plain JSON (timestamps stay RFC 3339 strings) slimmed down
// to the fields some controller reads: `managedFields`, most annotations on
// Pods, container specs beyond ports, status conditions and so on are dropped
// at ingest (see slim.ts). These interfaces are the contract between the
// informers and the controllers: a controller may read only what is declared
// here, and a field is added here (and to slim.ts) when a controller needs it.

export type ResourceKind =
  | 'Service'
  | 'EndpointSlice'
  | 'Node'
  | 'Pod'
  | 'Namespace'
  | 'NetworkPolicy';

export const ALL_KINDS: readonly ResourceKind[] = [
  'Service',
  'EndpointSlice',
  'Node',
  'Pod',
  'Namespace',
  'NetworkPolicy',
];

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid?: string; controller?: boolean }[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type IPFamily = 'IPv4' | 'IPv6';

// ---- core/v1 Service ----
export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface Service extends KubeObject {
  spec: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    clusterIP?: string;
    clusterIPs?: string[];
    ipFamilies?: IPFamily[];
    ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
    ports?: ServicePort[];
    selector?: Record<string, string>;
    externalIPs?: string[];
    externalName?: string;
    externalTrafficPolicy?: 'Cluster' | 'Local';
    internalTrafficPolicy?: 'Cluster' | 'Local';
    healthCheckNodePort?: number;
    sessionAffinity?: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    loadBalancerIP?: string;
    loadBalancerSourceRanges?: string[];
    loadBalancerClass?: string;
    publishNotReadyAddresses?: boolean;
    trafficDistribution?: string;
  };
  status?: {
    loadBalancer?: {
      ingress?: { ip?: string; hostname?: string; ipMode?: 'VIP' | 'Proxy' }[];
    };
  };
}

// ---- discovery.k8s.io/v1 EndpointSlice ----
export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  hints?: { forZones?: { name: string }[]; forNodes?: { name: string }[] };
  // Only kind/namespace/name of the target are kept.
  targetRef?: { kind?: string; namespace?: string; name?: string };
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

// ---- core/v1 Node ----
export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface Node extends KubeObject {
  spec: {
    podCIDR?: string;
    podCIDRs?: string[];
    unschedulable?: boolean;
    providerID?: string;
  };
  status?: {
    addresses?: NodeAddress[];
  };
}

// ---- core/v1 Pod ----
export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
  hostPort?: number;
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    hostNetwork?: boolean;
    terminationGracePeriodSeconds?: number;
    // Containers are slimmed to their names and ports.
    containers: { name: string; ports?: ContainerPort[] }[];
  };
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
  };
}

// ---- core/v1 Namespace ----
export interface Namespace extends KubeObject {
  status?: { phase?: 'Active' | 'Terminating' };
}

// ---- networking.k8s.io/v1 NetworkPolicy ----
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

export interface KindMap {
  Service: Service;
  EndpointSlice: EndpointSlice;
  Node: Node;
  Pod: Pod;
  Namespace: Namespace;
  NetworkPolicy: NetworkPolicy;
}

/** Cache key: `namespace/name` for namespaced kinds, `name` for cluster-scoped ones. */
export function objectKey(obj: KubeObject): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name}` : m.name;
}

export interface ResourceInfo {
  kind: ResourceKind;
  group: string; // '' for core
  version: string;
  plural: string;
  namespaced: boolean;
  /** list/watch path for all namespaces, e.g. /api/v1/services */
  path: string;
}

export const RESOURCES: Record<ResourceKind, ResourceInfo> = {
  Service: { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true, path: '/api/v1/services' },
  EndpointSlice: {
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    namespaced: true,
    path: '/apis/discovery.k8s.io/v1/endpointslices',
  },
  Node: { kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false, path: '/api/v1/nodes' },
  Pod: { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true, path: '/api/v1/pods' },
  Namespace: { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false, path: '/api/v1/namespaces' },
  NetworkPolicy: {
    kind: 'NetworkPolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    namespaced: true,
    path: '/apis/networking.k8s.io/v1/networkpolicies',
  },
};
