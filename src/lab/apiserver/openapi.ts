// A minimal OpenAPI v3 description: the paths and operations of every kind
// with their `x-kubernetes-group-version-kind` and the `fieldValidation`
// query parameter. That is what kubectl (create -f, apply, replace) checks
// before it hands validation to the server instead of downloading full
// schemas. No object schemas are published.

import { createHash } from 'node:crypto';
import { KIND_LIST, groupVersions, type KindInfo } from './kinds.js';

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'].map((name) => ({
  name,
  in: 'query',
  description: name,
  schema: { type: 'string', uniqueItems: true },
}));

function operation(k: KindInfo, action: string, withParams: boolean): Record<string, unknown> {
  const verb = action.charAt(0).toUpperCase() + action.slice(1);
  return {
    tags: [k.group === '' ? 'core_v1' : `${k.group.split('.')[0]}_${k.version}`],
    operationId: `${action}${k.namespaced ? 'Namespaced' : ''}${k.kind}`,
    description: `${action} ${k.kind}`,
    parameters: withParams ? QUERY_PARAMS : [],
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action === 'replace' ? 'put' : action === 'read' ? 'get' : action === 'list' ? 'list' : action,
    'x-kubernetes-group-version-kind': { group: k.group, version: k.version, kind: k.kind },
    summary: `${verb} ${k.kind}`,
  };
}

function kindPaths(k: KindInfo): Record<string, unknown> {
  const base = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`;
  const coll = k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}` : `${base}/${k.plural}`;
  const item = `${coll}/{name}`;
  const out: Record<string, unknown> = {
    [coll]: { get: operation(k, 'list', false), post: operation(k, 'post', true), delete: operation(k, 'deletecollection', false) },
    [item]: { get: operation(k, 'read', false), put: operation(k, 'replace', true), patch: operation(k, 'patch', true), delete: operation(k, 'delete', true) },
  };
  if (k.statusSubresource) {
    out[`${item}/status`] = { get: operation(k, 'read', false), put: operation(k, 'replace', true), patch: operation(k, 'patch', true) };
  }
  return out;
}

export function openAPIGroupVersion(group: string, version: string): Record<string, unknown> | undefined {
  const kinds = KIND_LIST.filter((k) => k.group === group && k.version === version);
  if (kinds.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const k of kinds) Object.assign(paths, kindPaths(k));
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-lab' },
    paths,
    components: { schemas: {} },
  };
}

function hashOf(doc: unknown): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 64).toUpperCase();
}

export function openAPIRoot(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const gv of groupVersions()) {
    const p = gvPath(gv.group, gv.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(openAPIGroupVersion(gv.group, gv.version))}` };
  }
  return { paths };
}

/** The document for `/openapi/v3/<rest>`, or undefined (404). */
export function openAPIDoc(rest: string): Record<string, unknown> | undefined {
  if (rest === '') return openAPIRoot();
  const m = rest.match(/^api\/([^/]+)$/) ?? rest.match(/^apis\/([^/]+)\/([^/]+)$/);
  if (m === null) return undefined;
  return m.length === 2 ? openAPIGroupVersion('', m[1]) : openAPIGroupVersion(m[1], m[2]);
}
