// The lab store's admission hooks: where admitCreate / admitUpdate /
// afterDelete are called (and where not), that what they return is stored,
// and that what they throw fails the write.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabStore, StatusError, type AdmissionHooks, type LabKind, type StoredObject } from '../../src/lab/apiserver/index.js';

type Call = [string, LabKind, string];

/** Records every call; stamps an annotation on what it admits; throws for names starting with "bad". */
class Recorder implements AdmissionHooks {
  readonly calls: Call[] = [];
  admitCreate(kind: LabKind, obj: StoredObject): StoredObject {
    this.calls.push(['create', kind, obj.metadata.name]);
    if (obj.metadata.name.startsWith('bad')) throw new StatusError(422, 'Invalid', `${kind} "${obj.metadata.name}" is invalid`);
    return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, admitted: 'create' } } };
  }
  admitUpdate(kind: LabKind, next: StoredObject, cur: StoredObject): StoredObject {
    this.calls.push(['update', kind, next.metadata.name]);
    assert.equal(cur.metadata.name, next.metadata.name);
    if (next.metadata.labels?.bad === 'yes') throw new StatusError(500, 'InternalError', 'Internal error occurred: range is full');
    return { ...next, metadata: { ...next.metadata, annotations: { ...next.metadata.annotations, admitted: 'update' } } };
  }
  afterDelete(kind: LabKind, obj: StoredObject): void {
    this.calls.push(['delete', kind, obj.metadata.name]);
  }
  take(): Call[] {
    return this.calls.splice(0);
  }
}

function setup(): { s: LabStore; h: Recorder } {
  const s = new LabStore();
  s.seed([]);
  const h = new Recorder();
  s.setAdmission(h);
  return { s, h };
}

function svc(name: string, ns = 'default'): StoredObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port: 80 }] } };
}

function pod(name: string, nodeName?: string): StoredObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }], ...(nodeName ? { nodeName } : {}) } };
}

describe('lab store: admission hooks', () => {
  it('stores what admitCreate returns, after defaulting', () => {
    const { s, h } = setup();
    const created = s.create('Service', svc('web'));
    assert.equal(created.metadata.annotations?.admitted, 'create');
    assert.equal((created.spec as { type?: string }).type, 'ClusterIP');
    assert.ok(created.metadata.uid);
    assert.equal(s.get('Service', 'default', 'web')?.metadata.annotations?.admitted, 'create');
    assert.deepEqual(h.take(), [['create', 'Service', 'web']]);
  });

  it('does not call admitCreate for invalid objects or existing names', () => {
    const { s, h } = setup();
    s.create('Service', svc('web'));
    h.take();
    assert.throws(() => s.create('Service', svc('web')), (e: unknown) => e instanceof StatusError && e.httpCode === 409);
    assert.throws(() => s.create('Service', { ...svc('x'), spec: { ports: [{ port: 0 }] } }), (e: unknown) => e instanceof StatusError && e.httpCode === 422);
    assert.throws(() => s.create('Service', svc('y', 'nope')), (e: unknown) => e instanceof StatusError && e.httpCode === 404);
    assert.deepEqual(h.take(), []);
  });

  it('a hook error fails the write and stores nothing', () => {
    const { s } = setup();
    const rv = s.resourceVersion();
    assert.throws(() => s.create('Service', svc('bad1')), (e: unknown) => e instanceof StatusError && e.httpCode === 422);
    assert.equal(s.get('Service', 'default', 'bad1'), undefined);
    s.create('Service', svc('web'));
    const cur = s.get('Service', 'default', 'web') as StoredObject;
    assert.throws(() => s.update('Service', { ...cur, metadata: { ...cur.metadata, labels: { bad: 'yes' } } }), (e: unknown) => e instanceof StatusError && e.httpCode === 500);
    assert.equal(s.get('Service', 'default', 'web')?.metadata.labels, undefined);
    assert.equal(Number(s.resourceVersion()), Number(rv) + 1);
  });

  it('calls admitUpdate on updates and patches, not on the status subresource', () => {
    const { s, h } = setup();
    const created = s.create('Service', svc('web'));
    h.take();
    const updated = s.update('Service', { ...created, metadata: { ...created.metadata, labels: { a: 'b' } } });
    assert.equal(updated.metadata.annotations?.admitted, 'update');
    s.patch('Service', 'default', 'web', { metadata: { labels: { c: 'd' } } });
    assert.deepEqual(h.take(), [['update', 'Service', 'web'], ['update', 'Service', 'web']]);
    s.patch('Service', 'default', 'web', { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }, { subresource: 'status' });
    const cur = s.get('Service', 'default', 'web') as StoredObject;
    s.update('Service', { ...cur, status: { loadBalancer: {} } }, { subresource: 'status' });
    assert.deepEqual(h.take(), []);
  });

  it('an update that creates (allowCreateOnUpdate) goes through admitCreate', () => {
    const { s, h } = setup();
    s.update('Lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'upd', namespace: 'default' }, spec: {} });
    assert.deepEqual(h.take(), [['create', 'Lease', 'upd']]);
  });

  it('calls afterDelete once an object is gone: delete, last finalizer, graceful pod, namespace cascade', () => {
    const { s, h } = setup();
    s.create('Service', svc('web'));
    h.take();
    s.delete('Service', 'default', 'web');
    assert.deepEqual(h.take(), [['delete', 'Service', 'web']]);

    s.create('Service', { ...svc('held'), metadata: { name: 'held', namespace: 'default', finalizers: ['x/y'] } });
    h.take();
    s.delete('Service', 'default', 'held');
    assert.deepEqual(h.take(), [], 'a finalizer holds the object');
    s.patch('Service', 'default', 'held', { metadata: { finalizers: null } });
    assert.deepEqual(h.take(), [['update', 'Service', 'held'], ['delete', 'Service', 'held']]);

    s.create('Pod', pod('p', 'node1'));
    h.take();
    s.delete('Pod', 'default', 'p');
    assert.deepEqual(h.take(), [], 'a bound pod is only marked');
    s.delete('Pod', 'default', 'p', { gracePeriodSeconds: 0 });
    assert.deepEqual(h.take(), [['delete', 'Pod', 'p']]);

    s.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone' } });
    s.create('Service', svc('a', 'gone'));
    h.take();
    s.delete('Namespace', undefined, 'gone');
    assert.deepEqual(h.take(), [['delete', 'Service', 'a'], ['delete', 'Namespace', 'gone']]);
  });

  it('setAdmission(undefined) removes the hooks', () => {
    const { s, h } = setup();
    s.setAdmission(undefined);
    const created = s.create('Service', svc('web'));
    assert.equal(created.metadata.annotations, undefined);
    s.delete('Service', 'default', 'web');
    assert.deepEqual(h.take(), []);
  });

  it('refuses a hook result that is another object', () => {
    const s = new LabStore();
    s.seed([]);
    s.setAdmission({
      admitCreate: (_k, o) => ({ ...o, metadata: { ...o.metadata, name: 'other' } }),
      admitUpdate: (_k, n) => n,
      afterDelete: () => undefined,
    });
    assert.throws(() => s.create('Service', svc('web')), (e: unknown) => e instanceof StatusError && e.httpCode === 500);
  });
});
