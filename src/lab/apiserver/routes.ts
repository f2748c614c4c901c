// URL paths to what they address: discovery documents or a resource
// (kind, namespace, name, subresource), the way kube-apiserver lays them out.

import { kindByResource, type KindInfo } from './kinds.js';

export type Route =
  | { type: 'root' }
  | { type: 'version' }
  | { type: 'health'; name: string }
  | { type: 'api' }
  | { type: 'apis' }
  | { type: 'group'; group: string }
  | { type: 'resourceList'; group: string; version: string }
  | { type: 'resource'; info: KindInfo; namespace?: string; name?: string; subresource?: string; legacyWatch: boolean }
  | { type: 'openapi'; rest: string }
  | { type: 'notFound' };

export function route(pathname: string): Route {
  const segs = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  if (segs.length === 0) return { type: 'root' };
  const [first, ...rest] = segs;
  if (first === 'version' && rest.length === 0) return { type: 'version' };
  if ((first === 'healthz' || first === 'livez' || first === 'readyz') && rest.length <= 1) return { type: 'health', name: first };
  if (first === 'openapi' && rest[0] === 'v3') return { type: 'openapi', rest: rest.slice(1).join('/') };
  if (first === 'api') {
    if (rest.length === 0) return { type: 'api' };
    if (rest[0] !== 'v1') return { type: 'notFound' };
    if (rest.length === 1) return { type: 'resourceList', group: '', version: 'v1' };
    return resourceRoute('', 'v1', rest.slice(1));
  }
  if (first === 'apis') {
    if (rest.length === 0) return { type: 'apis' };
    if (rest.length === 1) return { type: 'group', group: rest[0] };
    if (rest.length === 2) return { type: 'resourceList', group: rest[0], version: rest[1] };
    return resourceRoute(rest[0], rest[1], rest.slice(2));
  }
  return { type: 'notFound' };
}

function resourceRoute(group: string, version: string, segsIn: string[]): Route {
  let segs = segsIn;
  let legacyWatch = false;
  if (segs[0] === 'watch') {
    legacyWatch = true;
    segs = segs.slice(1);
  }
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    const info = kindByResource(group, version, segs[2]);
    if (info !== undefined && info.namespaced) {
      if (segs.length > 5) return { type: 'notFound' };
      const r: Route = { type: 'resource', info, namespace: segs[1], legacyWatch };
      if (segs[3] !== undefined) r.name = segs[3];
      if (segs[4] !== undefined) {
        if (segs[4] === 'status' && info.statusSubresource) r.subresource = 'status';
        else if (info.kind === 'Pod' && (segs[4] === 'binding' || segs[4] === 'eviction')) r.subresource = segs[4];
        else return { type: 'notFound' };
      }
      return r;
    }
  }
  const info = kindByResource(group, version, segs[0] ?? '');
  if (info === undefined || segs.length > 3) return { type: 'notFound' };
  if (info.namespaced && segs.length > 1) return { type: 'notFound' };
  const r: Route = { type: 'resource', info, legacyWatch };
  if (segs[1] !== undefined) r.name = segs[1];
  if (segs[2] !== undefined) {
    if (segs[2] !== 'status' || !info.statusSubresource) return { type: 'notFound' };
    r.subresource = 'status';
  }
  return r;
}

/** Every path served, for GET / (kubectl and curl use it for orientation only). */
export function rootPaths(groups: { group: string; version: string }[]): string[] {
  const out = ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'];
  for (const g of groups) {
    if (g.group === '') continue;
    out.push(`/apis/${g.group}`, `/apis/${g.group}/${g.version}`);
  }
  return [...new Set(out)].sort();
}
