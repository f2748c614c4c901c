// What the registry does to an object before it is stored: type meta
// checks, system metadata, generateName, namespace lifecycle, status
// handling for kinds with a /status subresource, defaulting, validation and
// generation bumps.

import { randomInt } from 'node:crypto';
import type { StoredObject } from './types.js';
import { KINDS, type KindInfo } from './kinds.js';
import { keepAllocatedServiceValues } from './defaults.js';
import { deepClone, isObject, jsonEqual } from './obj.js';
import { validateAnnotations, validateLabels, validateName } from './validators.js';
import { StatusError, badRequest, invalid, notFound, notFoundPath, type FieldError } from './status.js';

const GEN_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateName(base: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GEN_ALPHABET[randomInt(GEN_ALPHABET.length)];
  return `${base.slice(0, 58)}${suffix}`;
}

function checkTypeMeta(info: KindInfo, obj: StoredObject): void {
  if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== info.kind) {
    throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${info.kind})`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== info.apiVersion) {
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${info.apiVersion})`);
  }
  obj.kind = info.kind;
  obj.apiVersion = info.apiVersion;
}

function checkInput(input: unknown): StoredObject {
  if (!isObject(input)) throw badRequest('the object provided is not a JSON object');
  const obj = deepClone(input) as StoredObject;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = { name: '' };
  if (!isObject(obj.metadata)) throw badRequest('metadata must be an object');
  return obj;
}

function throwIfInvalid(info: KindInfo, obj: StoredObject, errs: FieldError[]): void {
  if (errs.length > 0) throw invalid(info, obj.metadata.name ?? '', errs);
}

function validateMeta(info: KindInfo, obj: StoredObject, errs: FieldError[]): void {
  validateLabels(obj.metadata.labels, 'metadata.labels', errs);
  validateAnnotations(obj.metadata.annotations, 'metadata.annotations', errs);
  void info;
}

/**
 * Lab-only: an object carrying this annotation (value "true") skips the
 * kind's spec validation (metadata is still checked), so a scenario can hand
 * the agents an object a real API server would refuse, as a different server
 * version or a direct etcd write could, and check they name it and serve the
 * rest. The agent never reads it.
 */
export const SKIP_SPEC_VALIDATION = 'lab.kube-router-ts.io/skip-spec-validation';

function skipsSpecValidation(obj: StoredObject): boolean {
  const a = obj.metadata.annotations;
  return isObject(a) && a[SKIP_SPEC_VALIDATION] === 'true';
}

/** Runs the kind's validation, unless the object opts out (`SKIP_SPEC_VALIDATION`). */
function validateSpec(info: KindInfo, next: StoredObject, cur: StoredObject | undefined, errs: FieldError[]): void {
  if (skipsSpecValidation(next)) return;
  info.validate(next, cur, errs);
}

export type NamespaceState = (ns: string) => 'missing' | 'active' | 'terminating';

export function prepareCreate(info: KindInfo, input: unknown, nsState: NamespaceState): StoredObject {
  const obj = checkInput(input);
  checkTypeMeta(info, obj);
  const md = obj.metadata;
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink']) {
    delete md[f];
  }
  if (info.namespaced) {
    if (md.namespace === undefined || md.namespace === '') md.namespace = 'default';
  } else {
    delete md.namespace;
  }
  const errs: FieldError[] = [];
  if ((md.name === undefined || md.name === '') && typeof md.generateName === 'string' && md.generateName !== '') {
    md.name = generateName(md.generateName);
  }
  if (typeof md.name !== 'string' || md.name === '') {
    md.name = '';
    errs.push({ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' });
  } else {
    validateName(info.nameRule, md.name, md.generateName !== undefined ? 'metadata.generateName' : 'metadata.name', errs);
  }
  validateMeta(info, obj, errs);
  throwIfInvalid(info, obj, errs);
  if (info.namespaced) {
    const ns = md.namespace as string;
    const state = nsState(ns);
    if (state === 'missing') throw notFound(KINDS.Namespace, ns);
    if (state === 'terminating') {
      throw new StatusError(403, 'Forbidden', `${info.plural} "${md.name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, {
        name: md.name,
        kind: info.plural,
      });
    }
  }
  // The registry resets status for these on create.
  if (info.kind === 'Pod') obj.status = { phase: 'Pending' };
  if (info.kind === 'Service') obj.status = { loadBalancer: {} };
  if (info.kind === 'Namespace') obj.status = { phase: 'Active' };
  info.defaults(obj);
  validateSpec(info, obj, undefined, errs);
  throwIfInvalid(info, obj, errs);
  return obj;
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specPart(o: StoredObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export function prepareUpdate(info: KindInfo, cur: StoredObject, input: unknown, subresource: 'status' | undefined): StoredObject {
  const inp = checkInput(input);
  checkTypeMeta(info, inp);
  if (inp.metadata.name !== undefined && inp.metadata.name !== cur.metadata.name) {
    throw badRequest(`the name of the object (${String(inp.metadata.name)}) does not match the name on the URL (${cur.metadata.name})`);
  }
  let next: StoredObject;
  if (subresource === 'status') {
    if (!info.statusSubresource) throw notFoundPath();
    next = deepClone(cur);
    if (inp.status === undefined) delete next.status;
    else next.status = inp.status;
  } else {
    next = inp;
    const md = next.metadata;
    const cm = cur.metadata;
    md.name = cm.name;
    if (info.namespaced) md.namespace = cm.namespace;
    else delete md.namespace;
    for (const f of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
      if (cm[f] === undefined) delete md[f];
      else md[f] = cm[f] as never;
    }
    if (info.statusSubresource) {
      if (cur.status === undefined) delete next.status;
      else next.status = deepClone(cur.status);
    }
    if (info.kind === 'Service') keepAllocatedServiceValues(next, cur);
  }
  const errs: FieldError[] = [];
  validateMeta(info, next, errs);
  info.defaults(next);
  validateSpec(info, next, cur, errs);
  throwIfInvalid(info, next, errs);
  if (!jsonEqual(specPart(next), specPart(cur))) next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
  return next;
}
