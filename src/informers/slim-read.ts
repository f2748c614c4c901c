// Typed readers over raw JSON used by slim.ts. They copy only declared fields
// (no deep clone, no delete) and throw FieldError on a wrong type; slim()
// turns that into an ObjectError naming the object and the field path.

import type { LabelSelector, ObjectMeta } from './types.js';
import { interner } from './intern.js';

export type Raw = Record<string, unknown>;

export class FieldError extends Error {
  constructor(
    public field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

export function isObj(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An optional nested object; null/undefined → undefined. */
export function optObj(o: Raw, key: string): Raw | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new FieldError(key, `expected an object, got ${typeName(v)}`);
  return v;
}

export function optStr(o: Raw, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new FieldError(key, `expected a string, got ${typeName(v)}`);
  return v;
}

/** Optional string, interned (low-cardinality values). */
export function optIStr(o: Raw, key: string): string | undefined {
  const v = optStr(o, key);
  return v === undefined ? undefined : interner.intern(v);
}

export function reqStr(o: Raw, key: string): string {
  const v = optStr(o, key);
  if (v === undefined || v === '') throw new FieldError(key, 'required');
  return v;
}

export function optNum(o: Raw, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FieldError(key, `expected a number, got ${typeName(v)}`);
  return v;
}

export function optBool(o: Raw, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new FieldError(key, `expected a boolean, got ${typeName(v)}`);
  return v;
}

/** number | string (targetPort, NetworkPolicy port). */
export function optIntOrStr(o: Raw, key: string): number | string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return interner.intern(v);
  throw new FieldError(key, `expected a number or string, got ${typeName(v)}`);
}

/** Maps an optional array; element errors get `key[i].` prefixed. */
export function optArr<T>(o: Raw, key: string, fn: (el: unknown) => T): T[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new FieldError(key, `expected an array, got ${typeName(v)}`);
  const out = new Array<T>(v.length);
  for (let i = 0; i < v.length; i++) {
    try {
      out[i] = fn(v[i]);
    } catch (err) {
      if (err instanceof FieldError) {
        err.field = `${key}[${i}]${err.field ? `.${err.field}` : ''}`;
      }
      throw err;
    }
  }
  return out;
}

/** Runs `fn` on a nested object, prefixing `key.` to field errors. */
export function nested<T>(o: Raw, key: string, fn: (n: Raw) => T): T | undefined {
  const n = optObj(o, key);
  if (n === undefined) return undefined;
  try {
    return fn(n);
  } catch (err) {
    if (err instanceof FieldError) err.field = `${key}.${err.field}`;
    throw err;
  }
}

export function asObj(el: unknown): Raw {
  if (!isObj(el)) throw new FieldError('', `expected an object, got ${typeName(el)}`);
  return el;
}

export function strEl(el: unknown): string {
  if (typeof el !== 'string') throw new FieldError('', `expected a string, got ${typeName(el)}`);
  return el;
}

export function iStrEl(el: unknown): string {
  return interner.intern(strEl(el));
}

/** A string map with interned keys and values (labels, selectors). */
export function optStrMap(o: Raw, key: string, keep?: (k: string) => boolean): Record<string, string> | undefined {
  const m = optObj(o, key);
  if (m === undefined) return undefined;
  let out: Record<string, string> | undefined;
  for (const k in m) {
    if (keep !== undefined && !keep(k)) continue;
    const v = m[k];
    if (typeof v !== 'string') throw new FieldError(`${key}[${k}]`, `expected a string, got ${typeName(v)}`);
    if (out === undefined) out = {};
    out[interner.intern(k)] = interner.intern(v);
  }
  return out;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Annotations the controllers read; everything else (last-applied-configuration ...) is dropped. */
export function keepAnnotation(k: string): boolean {
  return (
    k.startsWith('kube-router.io/') ||
    k.startsWith('service.kubernetes.io/') ||
    k.startsWith('kubernetes.io/') ||
    k.startsWith('node.kubernetes.io/') ||
    k === 'endpoints.kubernetes.io/last-change-trigger-time'
  );
}

export function slimMeta(raw: Raw): ObjectMeta {
  const m = optObj(raw, 'metadata');
  if (m === undefined) throw new FieldError('metadata', 'required');
  try {
    const meta: ObjectMeta = { name: reqStr(m, 'name') };
    const ns = optIStr(m, 'namespace');
    if (ns !== undefined && ns !== '') meta.namespace = ns;
    const uid = optStr(m, 'uid');
    if (uid !== undefined) meta.uid = uid;
    const rv = optStr(m, 'resourceVersion');
    if (rv !== undefined) meta.resourceVersion = rv;
    const gen = optNum(m, 'generation');
    if (gen !== undefined) meta.generation = gen;
    const ct = optStr(m, 'creationTimestamp');
    if (ct !== undefined) meta.creationTimestamp = ct;
    const dt = optStr(m, 'deletionTimestamp');
    if (dt !== undefined) meta.deletionTimestamp = dt;
    const labels = optStrMap(m, 'labels');
    if (labels !== undefined) meta.labels = labels;
    const ann = optStrMap(m, 'annotations', keepAnnotation);
    if (ann !== undefined) meta.annotations = ann;
    const owners = optArr(m, 'ownerReferences', (el) => {
      const r = asObj(el);
      const ref: { kind: string; name: string; uid?: string; controller?: boolean } = {
        kind: interner.intern(reqStr(r, 'kind')),
        name: reqStr(r, 'name'),
      };
      const uid2 = optStr(r, 'uid');
      if (uid2 !== undefined) ref.uid = uid2;
      const c = optBool(r, 'controller');
      if (c !== undefined) ref.controller = c;
      return ref;
    });
    if (owners !== undefined && owners.length > 0) meta.ownerReferences = owners;
    return meta;
  } catch (err) {
    if (err instanceof FieldError) err.field = `metadata.${err.field}`;
    throw err;
  }
}

export function slimSelector(s: Raw): LabelSelector {
  const sel: LabelSelector = {};
  const ml = optStrMap(s, 'matchLabels');
  if (ml !== undefined) sel.matchLabels = ml;
  const me = optArr(s, 'matchExpressions', (el) => {
    const e = asObj(el);
    const req: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] } = {
      key: interner.intern(reqStr(e, 'key')),
      operator: interner.intern(reqStr(e, 'operator')) as 'In' | 'NotIn' | 'Exists' | 'DoesNotExist',
    };
    const values = optArr(e, 'values', iStrEl);
    if (values !== undefined) req.values = values;
    return req;
  });
  if (me !== undefined) sel.matchExpressions = me;
  return sel;
}
