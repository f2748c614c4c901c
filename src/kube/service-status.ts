// Writes of a Service's status.loadBalancer.ingress through the status
// subresource: a JSON Patch (RFC 6902) that first pins
// metadata.resourceVersion to the version the change was planned from (the
// API server answers 409 Conflict when the Service changed since), then
// removes and appends entries by index, so fields of the entries it keeps
// (ports, ipMode, hostname) are left exactly as they are.

import { CONTENT_JSON_PATCH, type KubeApi } from './api-client.js';

export interface IngressPatchInput {
  namespace: string;
  name: string;
  resourceVersion?: string;
  /** The IPs of the current list, in order (undefined for entries without an ip). */
  currentIps: readonly (string | undefined)[];
  /** Indexes of `currentIps` to remove. */
  removeIndexes: readonly number[];
  /** New entries to append. */
  append: readonly { ip: string }[];
}

export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** The JSON Patch for one ingress change (pure). */
export function ingressPatch(input: IngressPatchInput): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  if (input.resourceVersion !== undefined) ops.push({ op: 'add', path: '/metadata/resourceVersion', value: input.resourceVersion });
  const remaining = input.currentIps.length - input.removeIndexes.length;
  if (input.currentIps.length === 0 || remaining === 0) {
    // No list to edit (or nothing left of it): write the whole list.
    ops.push({ op: 'add', path: '/status/loadBalancer', value: { ingress: input.append.map((a) => ({ ip: a.ip })) } });
    return ops;
  }
  for (const i of [...input.removeIndexes].sort((a, b) => b - a)) {
    ops.push({ op: 'remove', path: `/status/loadBalancer/ingress/${i}` });
  }
  for (const a of input.append) ops.push({ op: 'add', path: '/status/loadBalancer/ingress/-', value: { ip: a.ip } });
  return ops;
}

export function patchServiceStatus(api: KubeApi, namespace: string, name: string, ops: readonly JsonPatchOp[]): Promise<unknown> {
  return api.request<unknown>({
    method: 'PATCH',
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}/status`,
    body: ops,
    contentType: CONTENT_JSON_PATCH,
    object: `Service ${namespace}/${name}`,
  });
}
