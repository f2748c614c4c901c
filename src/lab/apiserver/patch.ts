// The three patch formats kube-apiserver accepts besides server-side apply:
// JSON merge patch (RFC 7386), strategic merge patch (merge patch plus merge
// keys for the lists kubectl patches, and the $patch / $retainKeys /
// $deleteFromPrimitiveList / $setElementOrder directives), and JSON patch
// (RFC 6902).

import { badRequest, StatusError } from './status.js';
import { deepClone, isObject, jsonEqual, type JsonObject } from './obj.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return deepClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

// ---- strategic merge patch ----

/** patchMergeKey of the object lists kubectl patches, by field path (list indexes left out). */
const MERGE_KEYS: Record<string, string> = {
  'metadata.ownerReferences': 'uid',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.ephemeralContainers': 'name',
  'spec.containers.ports': 'containerPort',
  'spec.initContainers.ports': 'containerPort',
  'spec.containers.env': 'name',
  'spec.initContainers.env': 'name',
  'spec.containers.volumeMounts': 'mountPath',
  'spec.initContainers.volumeMounts': 'mountPath',
  'spec.volumes': 'name',
  'spec.imagePullSecrets': 'name',
  'spec.hostAliases': 'ip',
  'spec.ports': 'port',
  'status.conditions': 'type',
  'status.addresses': 'type',
  'status.podIPs': 'ip',
  'status.hostIPs': 'ip',
};

/** Lists of scalars with patchStrategy merge: patched lists are unions. */
const MERGED_SCALAR_LISTS = new Set(['metadata.finalizers', 'spec.podCIDRs']);

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function mergeKeyedList(original: unknown[], patch: unknown[], key: string, path: string): unknown[] {
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map((p) => strategicMerge(undefined, p, path));
  }
  const result = original.map((o) => deepClone(o));
  for (const p of patch) {
    if (!isObject(p) || !(key in p)) {
      result.push(deepClone(p));
      continue;
    }
    const idx = result.findIndex((o) => isObject(o) && jsonEqual(o[key], p[key]));
    if (p.$patch === 'delete') {
      if (idx >= 0) result.splice(idx, 1);
      continue;
    }
    if (idx >= 0) result[idx] = strategicMerge(result[idx], p, path);
    else result.push(strategicMerge(undefined, p, path));
  }
  return result;
}

/** Applies a strategic merge patch to `original` (not modified). */
export function strategicMerge(original: unknown, patch: unknown, path = ''): unknown {
  if (!isObject(patch)) return deepClone(patch);
  if (patch.$patch === 'delete') return undefined;
  const replace = patch.$patch === 'replace';
  const result: JsonObject = isObject(original) && !replace ? { ...original } : {};
  const retainKeys = Array.isArray(patch.$retainKeys) ? patch.$retainKeys.filter((k): k is string => typeof k === 'string') : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = result[field];
      if (Array.isArray(cur) && Array.isArray(v)) result[field] = cur.filter((x) => !v.some((d) => jsonEqual(d, x)));
      continue;
    }
    if (k.startsWith('$')) throw badRequest(`unknown patch directive "${k}"`);
    const p = join(path, k);
    if (v === null) {
      delete result[k];
    } else if (Array.isArray(v)) {
      const cur = result[k];
      const key = MERGE_KEYS[p];
      if (key !== undefined && Array.isArray(cur)) result[k] = mergeKeyedList(cur, v, key, p);
      else if (key !== undefined) result[k] = mergeKeyedList([], v, key, p);
      else if (MERGED_SCALAR_LISTS.has(p) && Array.isArray(cur)) result[k] = [...cur, ...v.filter((x) => !cur.some((c) => jsonEqual(c, x)))];
      else result[k] = deepClone(v);
    } else if (isObject(v)) {
      const merged = strategicMerge(result[k], v, p);
      if (merged === undefined) delete result[k];
      else result[k] = merged;
    } else {
      result[k] = v;
    }
  }
  if (retainKeys !== undefined) {
    for (const k of Object.keys(result)) if (!retainKeys.includes(k)) delete result[k];
  }
  return result;
}

// ---- JSON patch ----

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw badRequest(`invalid JSON pointer "${ptr}"`);
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function patchFailed(msg: string): StatusError {
  // kube-apiserver answers failed JSON patch operations with 422.
  return new StatusError(422, 'Invalid', msg);
}

function parentOf(doc: unknown, parts: string[], ptr: string): { parent: JsonObject | unknown[]; last: string } {
  let cur: unknown = doc;
  for (const p of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined) throw patchFailed(`doc is missing path: "${ptr}": missing value`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw patchFailed(`doc is missing path: "${ptr}": missing value`);
  return { parent: cur, last: parts[parts.length - 1] };
}

function arrayIndex(arr: unknown[], s: string, forAdd: boolean, ptr: string): number {
  if (forAdd && s === '-') return arr.length;
  if (!/^\d+$/.test(s)) throw patchFailed(`Unable to access invalid index: ${s} (path ${ptr})`);
  const i = Number(s);
  if (i > arr.length || (!forAdd && i === arr.length)) throw patchFailed(`Unable to access invalid index: ${i} (path ${ptr})`);
  return i;
}

function getAt(doc: unknown, ptr: string): unknown {
  let cur = doc;
  for (const p of parsePointer(ptr)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined) throw patchFailed(`doc is missing path: "${ptr}": missing value`);
  }
  return cur;
}

function removeAt(doc: unknown, ptr: string): unknown {
  const parts = parsePointer(ptr);
  if (parts.length === 0) throw patchFailed('cannot remove the whole document');
  const { parent, last } = parentOf(doc, parts, ptr);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, false, ptr);
    return parent.splice(i, 1)[0];
  }
  if (!(last in parent)) throw patchFailed(`Unable to remove nonexistent key: ${last}: missing value`);
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: unknown, ptr: string, value: unknown, replace: boolean): unknown {
  const parts = parsePointer(ptr);
  if (parts.length === 0) return deepClone(value);
  const { parent, last } = parentOf(doc, parts, ptr);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, !replace, ptr);
    if (replace) parent[i] = deepClone(value);
    else parent.splice(i, 0, deepClone(value));
  } else {
    if (replace && !(last in parent)) throw patchFailed(`replace operation does not apply: doc is missing key: ${ptr}: missing value`);
    parent[last] = deepClone(value);
  }
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a list of operations');
  let doc = deepClone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest('invalid JSON patch operation');
    const op = raw as unknown as JsonPatchOp;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, op.value, false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, op.value, true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move': {
        const v = removeAt(doc, op.from ?? '');
        doc = addAt(doc, op.path, v, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path, getAt(doc, op.from ?? ''), false);
        break;
      case 'test':
        if (!jsonEqual(getAt(doc, op.path), op.value)) throw patchFailed(`testing value ${op.path} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** Applies a patch body of content type `contentType` (already parsed as JSON). */
export function applyPatch(contentType: string, target: unknown, patch: unknown): unknown {
  if (contentType === PATCH_TYPES.json) return jsonPatch(target, patch);
  if (!isObject(patch)) throw badRequest('patch body must be a JSON object');
  if (contentType === PATCH_TYPES.merge) return mergePatch(target, patch);
  return strategicMerge(target, patch);
}
