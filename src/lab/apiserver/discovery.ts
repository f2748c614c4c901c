// Discovery documents, built from the kind table: /version, /api, /api/v1,
// /apis, /apis/<group>, /apis/<group>/<version>, and the aggregated
// discovery (apidiscovery.k8s.io/v2) that kubectl asks for first.

import { KIND_LIST, groupVersions, type KindInfo } from './kinds.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-lab',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

function apiResource(k: KindInfo): Record<string, unknown> {
  const r: Record<string, unknown> = {
    name: k.plural,
    singularName: k.singular,
    namespaced: k.namespaced,
    kind: k.kind,
    verbs: VERBS,
  };
  if (k.group !== '') {
    r.group = k.group;
    r.version = k.version;
  }
  if (k.shortNames.length > 0) r.shortNames = k.shortNames;
  if (k.categories.length > 0) r.categories = k.categories;
  return r;
}

export function resourceList(group: string, version: string): Record<string, unknown> | undefined {
  const kinds = KIND_LIST.filter((k) => k.group === group && k.version === version);
  if (kinds.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const k of [...kinds].sort((a, b) => a.plural.localeCompare(b.plural))) {
    resources.push(apiResource(k));
    if (k.statusSubresource) {
      resources.push({ name: `${k.plural}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: STATUS_VERBS });
    }
    if (k.kind === 'Pod') {
      resources.push({ name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
      resources.push({ name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string): Record<string, unknown> | undefined {
  const versions = groupVersions().filter((g) => g.group === group);
  if (versions.length === 0 || group === '') return undefined;
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v.version}`, version: v.version }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupDoc(group: string): Record<string, unknown> | undefined {
  const g = apiGroup(group);
  return g === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...g };
}

export function apiGroupList(): Record<string, unknown> {
  const names = [...new Set(groupVersions().map((g) => g.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map((n) => apiGroup(n)) };
}

// ---- aggregated discovery (apidiscovery.k8s.io/v2) ----

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** True when the Accept header asks for aggregated discovery v2. */
export function wantsAggregated(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((s) => s.trim());
    return params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList');
  });
}

function discoveryResource(k: KindInfo): Record<string, unknown> {
  const responseKind = { group: k.group, version: k.version, kind: k.kind };
  const r: Record<string, unknown> = {
    resource: k.plural,
    responseKind,
    scope: k.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: k.singular,
    verbs: VERBS,
  };
  if (k.shortNames.length > 0) r.shortNames = k.shortNames;
  if (k.categories.length > 0) r.categories = k.categories;
  const subs: Record<string, unknown>[] = [];
  if (k.statusSubresource) subs.push({ subresource: 'status', responseKind, verbs: STATUS_VERBS });
  if (k.kind === 'Pod') {
    subs.push({ subresource: 'binding', responseKind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] });
    subs.push({ subresource: 'eviction', responseKind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] });
  }
  if (subs.length > 0) r.subresources = subs;
  return r;
}

/** Aggregated discovery for `/api` (core: true) or `/apis`. */
export function aggregatedDiscovery(core: boolean): Record<string, unknown> {
  const gvs = groupVersions().filter((g) => (g.group === '') === core);
  const groups = [...new Set(gvs.map((g) => g.group))];
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: gvs
        .filter((g) => g.group === group)
        .map((g) => ({
          version: g.version,
          resources: KIND_LIST.filter((k) => k.group === group && k.version === g.version)
            .sort((a, b) => a.plural.localeCompare(b.plural))
            .map(discoveryResource),
          freshness: 'Current',
        })),
    })),
  };
}
