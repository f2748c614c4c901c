// Server-side printing: meta.k8s.io/v1 Table answers for `kubectl get`
// (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), with columns
// close to kube-apiserver's printers.

import type { LabKind, StoredObject } from './types.js';
import { asArray, asObject, asString, getPath, isObject } from './obj.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  description: string;
  cell: (o: StoredObject) => string | number;
}

export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365}d`;
}

function age(o: StoredObject): string {
  const t = o.metadata.creationTimestamp;
  return t === undefined ? '<unknown>' : humanDuration(Date.now() - Date.parse(t));
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', cell: (o) => o.metadata.name };
const AGE: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: age };

function str(path: string, none = '<none>'): (o: StoredObject) => string {
  return (o) => {
    const v = getPath(o, path);
    return v === undefined || v === null || v === '' ? none : String(v);
  };
}

function servicePorts(o: StoredObject): string {
  const ports = (asArray(getPath(o, 'spec.ports')) ?? []).filter(isObject);
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${String(p.port)}${p.nodePort !== undefined ? `:${String(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`).join(',');
}

function externalIP(o: StoredObject): string {
  const type = getPath(o, 'spec.type');
  const ext = (asArray(getPath(o, 'spec.externalIPs')) ?? []).map(String);
  const lb = (asArray(getPath(o, 'status.loadBalancer.ingress')) ?? []).filter(isObject).map((i) => String(i.ip ?? i.hostname ?? ''));
  if (type === 'ExternalName') return str('spec.externalName')(o);
  if (type === 'LoadBalancer') return [...lb, ...ext].join(',') || '<pending>';
  return ext.join(',') || '<none>';
}

function selector(path: string): (o: StoredObject) => string {
  return (o) => {
    const sel = asObject(getPath(o, path));
    if (sel === undefined) return '<none>';
    const ml = asObject(sel.matchLabels) ?? (path.endsWith('podSelector') ? {} : sel);
    const parts = Object.entries(ml).map(([k, v]) => `${k}=${String(v)}`);
    for (const e of (asArray(sel.matchExpressions) ?? []).filter(isObject)) {
      parts.push(`${String(e.key)} ${String(e.operator).toLowerCase()} (${(asArray(e.values) ?? []).join(',')})`);
    }
    return parts.join(',') || (path.endsWith('podSelector') ? '<none>' : '<none>');
  };
}

function podReady(o: StoredObject): string {
  const n = (asArray(getPath(o, 'spec.containers')) ?? []).length;
  const ready = (asArray(getPath(o, 'status.containerStatuses')) ?? []).filter((c) => isObject(c) && c.ready === true).length;
  return `${ready}/${n}`;
}

function podStatus(o: StoredObject): string {
  if (o.metadata.deletionTimestamp !== undefined) return 'Terminating';
  return asString(getPath(o, 'status.reason')) ?? str('status.phase', 'Unknown')(o);
}

function podRestarts(o: StoredObject): number {
  return (asArray(getPath(o, 'status.containerStatuses')) ?? []).reduce<number>((n, c) => n + (isObject(c) && typeof c.restartCount === 'number' ? c.restartCount : 0), 0);
}

function nodeStatus(o: StoredObject): string {
  const ready = (asArray(getPath(o, 'status.conditions')) ?? []).filter(isObject).find((c) => c.type === 'Ready');
  const s = ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
  return getPath(o, 'spec.unschedulable') === true ? `${s},SchedulingDisabled` : s;
}

function nodeRoles(o: StoredObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.join(',') || '<none>';
}

function sliceEndpoints(o: StoredObject): string {
  const addrs = (asArray(o.endpoints) ?? []).filter(isObject).flatMap((e) => (asArray(e.addresses) ?? []).map(String));
  if (addrs.length === 0) return '<unset>';
  return addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
}

function slicePorts(o: StoredObject): string {
  const ports = (asArray(o.ports) ?? []).filter(isObject).map((p) => String(p.port ?? ''));
  return ports.join(',') || '<unset>';
}

const COLUMNS: Record<LabKind, Column[]> = {
  Service: [
    NAME,
    { name: 'Type', type: 'string', description: 'type determines how the Service is exposed.', cell: str('spec.type') },
    { name: 'Cluster-IP', type: 'string', description: 'clusterIP is the IP address of the service.', cell: str('spec.clusterIP') },
    { name: 'External-IP', type: 'string', description: 'externalIPs is a list of IP addresses.', cell: externalIP },
    { name: 'Port(s)', type: 'string', description: 'The list of ports that are exposed by this service.', cell: servicePorts },
    AGE,
    { name: 'Selector', type: 'string', priority: 1, description: 'Route service traffic to pods with label keys and values matching this selector.', cell: selector('spec.selector') },
  ],
  Pod: [
    NAME,
    { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', cell: podReady },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', cell: podStatus },
    { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted.', cell: (o) => String(podRestarts(o)) },
    AGE,
    { name: 'IP', type: 'string', priority: 1, description: 'IP address allocated to the pod.', cell: str('status.podIP') },
    { name: 'Node', type: 'string', priority: 1, description: 'Name of the Node this pod is bound to.', cell: str('spec.nodeName') },
  ],
  Node: [
    NAME,
    { name: 'Status', type: 'string', description: 'The status of the node', cell: nodeStatus },
    { name: 'Roles', type: 'string', description: 'The roles of the node', cell: nodeRoles },
    AGE,
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', cell: str('status.nodeInfo.kubeletVersion', '') },
    { name: 'Internal-IP', type: 'string', priority: 1, description: 'List of internal IPs.', cell: (o) => (asArray(getPath(o, 'status.addresses')) ?? []).filter(isObject).filter((a) => a.type === 'InternalIP').map((a) => String(a.address)).join(',') || '<none>' },
  ],
  Namespace: [NAME, { name: 'Status', type: 'string', description: 'The status of the namespace', cell: str('status.phase') }, AGE],
  NetworkPolicy: [NAME, { name: 'Pod-Selector', type: 'string', description: 'Selects the pods to which this NetworkPolicy object applies.', cell: selector('spec.podSelector') }, AGE],
  EndpointSlice: [
    NAME,
    { name: 'AddressType', type: 'string', description: 'Type of address carried by this EndpointSlice.', cell: str('addressType') },
    { name: 'Ports', type: 'string', description: 'Ports provided by this EndpointSlice.', cell: slicePorts },
    { name: 'Endpoints', type: 'string', description: 'Endpoints in this EndpointSlice.', cell: sliceEndpoints },
    AGE,
  ],
  Event: [
    { name: 'Last Seen', type: 'string', description: 'Time when this Event was last observed.', cell: (o) => { const t = asString(o.lastTimestamp) ?? asString(o.eventTime) ?? o.metadata.creationTimestamp; return t === undefined ? '<unknown>' : humanDuration(Date.now() - Date.parse(t)); } },
    { name: 'Type', type: 'string', description: 'Type of this event.', cell: str('type') },
    { name: 'Reason', type: 'string', description: 'Why the action was taken.', cell: str('reason') },
    { name: 'Object', type: 'string', description: 'The object this Event is about.', cell: (o) => `${String(getPath(o, 'involvedObject.kind') ?? '').toLowerCase()}/${String(getPath(o, 'involvedObject.name') ?? '')}` },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.', cell: str('message', '') },
  ],
  Lease: [NAME, { name: 'Holder', type: 'string', description: 'The holder of the lease.', cell: str('spec.holderIdentity', '') }, AGE],
  ServiceAccount: [NAME, AGE],
  ConfigMap: [NAME, { name: 'Data', type: 'integer', description: 'Number of data entries.', cell: (o) => String(Object.keys(isObject(o.data) ? o.data : {}).length) }, AGE],
  DaemonSet: [
    NAME,
    { name: 'Desired', type: 'integer', description: 'The number of nodes that should be running the daemon pod.', cell: str('status.desiredNumberScheduled', '0') },
    { name: 'Ready', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have it running and ready.', cell: str('status.numberReady', '0') },
    AGE,
  ],
  ClusterRole: [NAME, { name: 'Created At', type: 'date', description: 'When the object was created.', cell: (o) => o.metadata.creationTimestamp ?? '' }],
  ClusterRoleBinding: [NAME, { name: 'Role', type: 'string', description: 'The role bound.', cell: (o) => `ClusterRole/${String(getPath(o, 'roleRef.name') ?? '')}` }, AGE],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function partialMetadata(o: StoredObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

function rowObject(o: StoredObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return partialMetadata(o);
}

export function toTable(kind: LabKind, items: StoredObject[], meta: { resourceVersion?: string; continue?: string; remainingItemCount?: number }, include: IncludeObject, withColumns = true): Record<string, unknown> {
  const cols = COLUMNS[kind];
  const table: Record<string, unknown> = {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: withColumns
      ? cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 }))
      : null,
    rows: items.map((o) => {
      const row: Record<string, unknown> = { cells: cols.map((c) => c.cell(o)) };
      const obj = rowObject(o, include);
      if (obj !== undefined) row.object = obj;
      return row;
    }),
  };
  return table;
}
