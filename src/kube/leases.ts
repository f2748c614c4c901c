// coordination.k8s.io/v1 Lease: the typed object and its get/create/update
// calls. Updates carry metadata.resourceVersion, so a concurrent writer makes
// the API server answer 409 Conflict (ApiError, isConflict).

import type { KubeApi } from './api-client.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with microseconds. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

function leasePath(namespace: string, name?: string): string {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

export function getLease(api: KubeApi, namespace: string, name: string): Promise<Lease> {
  return api.request<Lease>({ method: 'GET', path: leasePath(namespace, name), object: `Lease ${namespace}/${name}` });
}

export function createLease(api: KubeApi, namespace: string, name: string, spec: LeaseSpec): Promise<Lease> {
  const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec };
  return api.request<Lease>({ method: 'POST', path: leasePath(namespace), body, object: `Lease ${namespace}/${name}` });
}

/** PUT of `lease` (which must carry the resourceVersion it was read at) with a new spec. */
export function updateLease(api: KubeApi, lease: Lease, spec: LeaseSpec): Promise<Lease> {
  const ns = lease.metadata.namespace ?? '';
  const body: Lease = { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec };
  return api.request<Lease>({ method: 'PUT', path: leasePath(ns, lease.metadata.name), body, object: `Lease ${ns}/${lease.metadata.name}` });
}

/** A MicroTime (`2026-01-02T03:04:05.678000Z`) for `ms`. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
