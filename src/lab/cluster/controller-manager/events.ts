// core/v1 Events the controller-manager records (allocation failures).
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../apiserver/types.js';
import { errorMessage } from '../../../errors.js';
import { toStored, type CmLogger, type Meta } from './types.js';

export interface InvolvedObject {
  kind: string;
  apiVersion: string;
  metadata: Meta;
}

export function recordEvent(
  store: ObjectStore,
  logger: CmLogger,
  obj: InvolvedObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  component: string,
): void {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const m = obj.metadata;
  const ev = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${m.name}.${randomBytes(8).toString('hex')}`, namespace: m.namespace ?? 'default' },
    involvedObject: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
    },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component },
    reportingComponent: component,
    reportingInstance: 'lab-controller-manager',
  };
  try {
    store.create('Event', toStored(ev));
  } catch (err) {
    logger.warn({ reason, object: `${obj.kind} ${m.namespace}/${m.name}`, err: errorMessage(err) }, 'could not record event');
  }
}
