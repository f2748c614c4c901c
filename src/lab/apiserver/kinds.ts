// The kinds the lab API server serves: one table entry per kind, used by the
// store (defaulting, validation, field selectors), the REST router (paths)
// and discovery.

import type { LabKind, StoredObject } from './types.js';
import type { NameRule } from './validators.js';
import {
  defaultEndpointSlice,
  defaultEvent,
  defaultNamespace,
  defaultNetworkPolicy,
  defaultNode,
  defaultPod,
  defaultService,
} from './defaults.js';
import {
  type KindValidator,
  validateDaemonSet,
  validateEndpointSlice,
  validateNetworkPolicy,
  validateNode,
  validateNothing,
  validatePod,
  validateService,
} from './validate-kinds.js';
import { getPath } from './obj.js';
import { validateLease } from './validate-lease.js';

export type FieldGetter = (obj: StoredObject) => string;

export interface KindInfo {
  kind: LabKind;
  listKind: string;
  group: string;
  version: string;
  /** `v1` or `group/version` */
  apiVersion: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Has a `/status` subresource: the main resource's writes keep `.status`, `/status` writes keep everything else. */
  statusSubresource: boolean;
  /** DELETE answers with the object (else a Status Success). */
  returnDeletedObject: boolean;
  /** PUT of a missing object creates it. */
  allowCreateOnUpdate: boolean;
  nameRule: NameRule;
  /** fieldSelector labels beyond metadata.name / metadata.namespace. */
  fields: Record<string, FieldGetter>;
  defaults: (obj: StoredObject) => void;
  validate: KindValidator;
}

const str = (path: string): FieldGetter => (obj) => {
  const v = getPath(obj, path);
  return v === undefined || v === null ? '' : String(v);
};

const bool = (path: string): FieldGetter => (obj) => (getPath(obj, path) === true ? 'true' : 'false');

const noDefaults = (): void => {};

function entry(
  e: Omit<KindInfo, 'apiVersion' | 'listKind' | 'categories' | 'fields' | 'returnDeletedObject' | 'allowCreateOnUpdate'> &
    Partial<Pick<KindInfo, 'categories' | 'fields' | 'returnDeletedObject' | 'allowCreateOnUpdate'>>,
): KindInfo {
  return {
    categories: [],
    fields: {},
    returnDeletedObject: false,
    allowCreateOnUpdate: false,
    ...e,
    apiVersion: e.group === '' ? e.version : `${e.group}/${e.version}`,
    listKind: `${e.kind}List`,
  };
}

export const KINDS: Record<LabKind, KindInfo> = {
  Namespace: entry({
    kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', namespaced: false,
    shortNames: ['ns'], statusSubresource: true, returnDeletedObject: true, nameRule: 'dns1123label',
    fields: { 'status.phase': str('status.phase') },
    defaults: defaultNamespace, validate: validateNothing,
  }),
  Node: entry({
    kind: 'Node', group: '', version: 'v1', plural: 'nodes', singular: 'node', namespaced: false,
    shortNames: ['no'], statusSubresource: true, nameRule: 'dns1123subdomain',
    fields: { 'spec.unschedulable': bool('spec.unschedulable') },
    defaults: defaultNode, validate: validateNode,
  }),
  Pod: entry({
    kind: 'Pod', group: '', version: 'v1', plural: 'pods', singular: 'pod', namespaced: true,
    shortNames: ['po'], categories: ['all'], statusSubresource: true, returnDeletedObject: true, nameRule: 'dns1123subdomain',
    fields: {
      'spec.nodeName': str('spec.nodeName'),
      'spec.restartPolicy': str('spec.restartPolicy'),
      'spec.schedulerName': str('spec.schedulerName'),
      'spec.serviceAccountName': str('spec.serviceAccountName'),
      'spec.hostNetwork': bool('spec.hostNetwork'),
      'status.phase': str('status.phase'),
      'status.podIP': str('status.podIP'),
      'status.nominatedNodeName': str('status.nominatedNodeName'),
    },
    defaults: defaultPod, validate: validatePod,
  }),
  Service: entry({
    kind: 'Service', group: '', version: 'v1', plural: 'services', singular: 'service', namespaced: true,
    shortNames: ['svc'], categories: ['all'], statusSubresource: true, nameRule: 'dns1035label',
    fields: { 'spec.clusterIP': str('spec.clusterIP'), 'spec.type': str('spec.type') },
    defaults: defaultService, validate: validateService,
  }),
  Event: entry({
    kind: 'Event', group: '', version: 'v1', plural: 'events', singular: 'event', namespaced: true,
    shortNames: ['ev'], statusSubresource: false, allowCreateOnUpdate: true, nameRule: 'dns1123subdomain',
    fields: {
      'involvedObject.kind': str('involvedObject.kind'),
      'involvedObject.namespace': str('involvedObject.namespace'),
      'involvedObject.name': str('involvedObject.name'),
      'involvedObject.uid': str('involvedObject.uid'),
      'involvedObject.apiVersion': str('involvedObject.apiVersion'),
      'involvedObject.resourceVersion': str('involvedObject.resourceVersion'),
      'involvedObject.fieldPath': str('involvedObject.fieldPath'),
      reason: str('reason'),
      reportingComponent: str('reportingComponent'),
      source: str('source.component'),
      type: str('type'),
    },
    defaults: defaultEvent, validate: validateNothing,
  }),
  EndpointSlice: entry({
    kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', singular: 'endpointslice',
    namespaced: true, shortNames: [], statusSubresource: false, nameRule: 'dns1123subdomain',
    fields: { addressType: str('addressType') },
    defaults: defaultEndpointSlice, validate: validateEndpointSlice,
  }),
  NetworkPolicy: entry({
    kind: 'NetworkPolicy', group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', singular: 'networkpolicy',
    namespaced: true, shortNames: ['netpol'], statusSubresource: false, nameRule: 'dns1123subdomain',
    defaults: defaultNetworkPolicy, validate: validateNetworkPolicy,
  }),
  Lease: entry({
    kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', plural: 'leases', singular: 'lease', namespaced: true,
    shortNames: [], statusSubresource: false, allowCreateOnUpdate: true, nameRule: 'dns1123subdomain',
    defaults: noDefaults, validate: validateLease,
  }),
  // The kinds of daemonset/*.yaml: stored as given (no controller acts on them).
  ServiceAccount: entry({
    kind: 'ServiceAccount', group: '', version: 'v1', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true,
    shortNames: ['sa'], statusSubresource: false, nameRule: 'dns1123subdomain',
    defaults: noDefaults, validate: validateNothing,
  }),
  ConfigMap: entry({
    kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', singular: 'configmap', namespaced: true,
    shortNames: ['cm'], statusSubresource: false, nameRule: 'dns1123subdomain',
    defaults: noDefaults, validate: validateNothing,
  }),
  DaemonSet: entry({
    kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', singular: 'daemonset', namespaced: true,
    shortNames: ['ds'], categories: ['all'], statusSubresource: true, nameRule: 'dns1123subdomain',
    defaults: noDefaults, validate: validateDaemonSet,
  }),
  ClusterRole: entry({
    kind: 'ClusterRole', group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', singular: 'clusterrole',
    namespaced: false, shortNames: [], statusSubresource: false, nameRule: 'dns1123subdomain',
    defaults: noDefaults, validate: validateNothing,
  }),
  ClusterRoleBinding: entry({
    kind: 'ClusterRoleBinding', group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterrolebindings',
    singular: 'clusterrolebinding', namespaced: false, shortNames: [], statusSubresource: false, nameRule: 'dns1123subdomain',
    defaults: noDefaults, validate: validateNothing,
  }),
};

export const KIND_LIST: readonly KindInfo[] = Object.values(KINDS);

export function isLabKind(k: string): k is LabKind {
  return Object.prototype.hasOwnProperty.call(KINDS, k);
}

/** The kind served at `/api/v1/<plural>` or `/apis/<group>/<version>/<plural>`. */
export function kindByResource(group: string, version: string, plural: string): KindInfo | undefined {
  return KIND_LIST.find((k) => k.group === group && k.version === version && k.plural === plural);
}

/** API groups served, core first: [{ group, version }]. */
export function groupVersions(): { group: string; version: string }[] {
  const out: { group: string; version: string }[] = [];
  for (const k of KIND_LIST) {
    if (!out.some((g) => g.group === k.group && g.version === k.version)) out.push({ group: k.group, version: k.version });
  }
  return out;
}

export function fieldValue(info: KindInfo, obj: StoredObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.metadata.name;
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  const g = info.fields[field];
  return g === undefined ? undefined : g(obj);
}
