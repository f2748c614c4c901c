// The POST-only pod subresources: `pods/binding` (what a scheduler uses to
// set spec.nodeName) and `pods/eviction` (what `kubectl drain` uses; no
// PodDisruptionBudgets here, so an eviction is a delete).

import type { StoredObject } from './types.js';
import type { DeleteOptions, LabStore } from './store.js';
import { badRequest, conflict, invalid, type K8sStatus } from './status.js';
import { isObject } from './obj.js';

export type PodAction = 'binding' | 'eviction';

export const POD_ACTIONS: readonly PodAction[] = ['binding', 'eviction'];

function created(): K8sStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}

function checkName(body: Record<string, unknown>, name: string): void {
  const md = isObject(body.metadata) ? body.metadata : {};
  if (md.name !== undefined && md.name !== '' && md.name !== name) {
    throw badRequest(`name in URL does not match name in ${String(body.kind ?? 'body')} object`);
  }
}

export function bindPod(store: LabStore, namespace: string, name: string, body: unknown, dryRun: boolean): K8sStatus {
  if (!isObject(body)) throw badRequest('the object provided is not a Binding');
  checkName(body, name);
  const target = isObject(body.target) ? body.target : {};
  if (typeof target.name !== 'string' || target.name === '') {
    throw invalid({ group: '', plural: 'bindings', kind: 'Binding' }, name, [{ type: 'FieldValueRequired', field: 'target.name', detail: '' }]);
  }
  const node = target.name;
  store.mutateRaw(
    'Pod',
    namespace,
    name,
    (pod: StoredObject) => {
      const ref = { group: '', plural: 'pods/binding', kind: 'Binding' };
      if (pod.metadata.deletionTimestamp !== undefined) throw conflict(ref, name, `pod ${name} is being deleted, cannot be assigned to a host`);
      const spec = isObject(pod.spec) ? pod.spec : {};
      if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
        throw conflict(ref, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      }
      const md = isObject(body.metadata) ? body.metadata : {};
      if (isObject(md.annotations)) pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), ...(md.annotations as Record<string, string>) };
      return { ...pod, spec: { ...spec, nodeName: node } };
    },
    { dryRun },
  );
  return created();
}

export function evictPod(store: LabStore, namespace: string, name: string, body: unknown, dryRun: boolean): K8sStatus {
  if (!isObject(body)) throw badRequest('the object provided is not an Eviction');
  checkName(body, name);
  const opts: DeleteOptions = { dryRun };
  const d = isObject(body.deleteOptions) ? body.deleteOptions : {};
  if (typeof d.gracePeriodSeconds === 'number') opts.gracePeriodSeconds = d.gracePeriodSeconds;
  if (isObject(d.preconditions)) {
    opts.preconditions = {};
    if (typeof d.preconditions.uid === 'string') opts.preconditions.uid = d.preconditions.uid;
    if (typeof d.preconditions.resourceVersion === 'string') opts.preconditions.resourceVersion = d.preconditions.resourceVersion;
  }
  if (Array.isArray(d.dryRun) && d.dryRun.includes('All')) opts.dryRun = true;
  store.deleteRaw('Pod', namespace, name, opts);
  return created();
}
