// Raw API JSON → the lean types of types.ts, once, at ingest. Only declared
// fields are copied (managedFields, status conditions, container specs,
// unread annotations ... never enter the cache), repeated strings are
// interned, and endpoint `conditions` objects are shared (there are only 27
// combinations) and frozen. `apiVersion`/`kind` are not kept: the store a
// controller reads from already says which kind it holds.
//
// A malformed object (no metadata.name, a field of the wrong type) throws an
// ObjectError naming `Kind ns/name` and the field path; the reflector logs,
// counts and skips it.

import { ObjectError } from '../errors.js';
import { slimNamespace, slimNetworkPolicy, slimNode, slimPod } from './slim-cluster.js';
import { FieldError, isObj, type Raw } from './slim-read.js';
import { slimEndpointSlice, slimService } from './slim-services.js';
import type { KindMap, ResourceKind } from './types.js';

export { slimEndpointSlice, slimService, slimNode, slimPod, slimNamespace, slimNetworkPolicy };

// ---- entry point ----

const SLIMMERS: { [K in ResourceKind]: (raw: Raw) => KindMap[K] } = {
  Service: slimService,
  EndpointSlice: slimEndpointSlice,
  Node: slimNode,
  Pod: slimPod,
  Namespace: slimNamespace,
  NetworkPolicy: slimNetworkPolicy,
};

/** `Kind ns/name` of a raw object, as far as it can be read (for messages). */
export function describeRaw(kind: ResourceKind, raw: unknown): string {
  const m = isObj(raw) && isObj(raw.metadata) ? raw.metadata : undefined;
  const name = m && typeof m.name === 'string' ? m.name : '<no name>';
  const ns = m && typeof m.namespace === 'string' && m.namespace !== '' ? `${m.namespace}/` : '';
  return `${kind} ${ns}${name}`;
}

/** Slims one raw object of `kind`; throws ObjectError when it is malformed. */
export function slim<K extends ResourceKind>(kind: K, raw: unknown): KindMap[K] {
  try {
    if (!isObj(raw)) throw new FieldError('', `expected an object`);
    return SLIMMERS[kind](raw) as KindMap[K];
  } catch (err) {
    if (err instanceof FieldError) throw new ObjectError(describeRaw(kind, raw), err.field || '.', err.message);
    throw err;
  }
}

