// The lab API server's selector parsing and patch formats.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelMatcher, parseFieldSelector, parseLabelSelector } from '../../src/lab/apiserver/selectors.js';
import { jsonPatch, mergePatch, strategicMerge } from '../../src/lab/apiserver/patch.js';
import { StatusError } from '../../src/lab/apiserver/status.js';

describe('label selectors', () => {
  const L = { app: 'web', tier: 'front', n: '5' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['app in (web, db)', true],
    ['app notin (web)', false],
    ['missing notin (web)', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['app in (web),!missing,tier', true],
    ['n>4', true],
    ['n<4', false],
    ['example.com/key', false],
  ];
  for (const [sel, want] of cases) {
    it(`"${sel}" -> ${want}`, () => assert.equal(labelMatcher(sel)(L), want));
  }
  it('rejects bad syntax with 400 BadRequest', () => {
    for (const bad of ['app in (', 'a=b=c', '=x', 'a,,b', 'a in ()', 'x>y']) {
      assert.throws(() => parseLabelSelector(bad), (e: unknown) => e instanceof StatusError && e.httpCode === 400, bad);
    }
  });
});

describe('field selectors', () => {
  it('parses =, == and != with escapes', () => {
    assert.deepEqual(parseFieldSelector('spec.nodeName=n1,metadata.name!=x,status.phase==Running'), [
      { field: 'spec.nodeName', op: '=', value: 'n1' },
      { field: 'metadata.name', op: '!=', value: 'x' },
      { field: 'status.phase', op: '=', value: 'Running' },
    ]);
    assert.deepEqual(parseFieldSelector('metadata.name=a\\,b'), [{ field: 'metadata.name', op: '=', value: 'a,b' }]);
    assert.throws(() => parseFieldSelector('nonsense'), StatusError);
  });
});

describe('patches', () => {
  it('merge patch (RFC 7386)', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3], f: 'x' }), { a: 1, b: { d: 3, e: 4 }, l: [3], f: 'x' });
  });

  it('strategic merge: merge keys, $patch directives, $retainKeys, primitive lists', () => {
    const pod = {
      metadata: { labels: { a: '1' }, finalizers: ['x'] },
      spec: { containers: [{ name: 'a', image: 'i1', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'i2' }], tolerations: [{ key: 't' }] },
    };
    const out = strategicMerge(pod, {
      metadata: { labels: { b: '2' }, finalizers: ['y'] },
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
        containers: [{ name: 'a', image: 'i3', ports: [{ containerPort: 81 }] }, { name: 'b', $patch: 'delete' }],
        tolerations: [{ key: 'u' }],
      },
    }) as typeof pod;
    assert.deepEqual(out.metadata, { labels: { a: '1', b: '2' }, finalizers: ['x', 'y'] });
    assert.deepEqual(out.spec.containers, [{ name: 'a', image: 'i3', ports: [{ containerPort: 80 }, { containerPort: 81 }] }]);
    assert.deepEqual(out.spec.tolerations, [{ key: 'u' }]);
    assert.deepEqual(strategicMerge({ spec: { a: 1, b: 2 } }, { spec: { $patch: 'replace', c: 3 } }), { spec: { c: 3 } });
    assert.deepEqual(strategicMerge({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ['b', 'c'], c: 3 } }), { spec: { b: 2, c: 3 } });
    assert.deepEqual(strategicMerge({ metadata: { finalizers: ['a', 'b'] } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }), { metadata: { finalizers: ['b'] } });
    assert.deepEqual(strategicMerge({ spec: { ports: [{ port: 1 }] } }, { spec: { ports: [{ $patch: 'replace' }, { port: 2 }] } }), { spec: { ports: [{ port: 2 }] } });
    assert.deepEqual(strategicMerge({ x: { y: 1 } }, { x: { $patch: 'delete' } }), {});
  });

  it('JSON patch (RFC 6902)', () => {
    const doc = { metadata: { labels: { 'a/b': '1' } }, list: [1, 2, 3] };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/c', value: '2' },
      { op: 'remove', path: '/metadata/labels/a~1b' },
      { op: 'replace', path: '/list/0', value: 9 },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'move', from: '/list/1', path: '/moved' },
      { op: 'copy', from: '/moved', path: '/copied' },
      { op: 'test', path: '/copied', value: 2 },
    ]);
    assert.deepEqual(out, { metadata: { labels: { c: '2' } }, list: [9, 3, 4], moved: 2, copied: 2 });
    assert.deepEqual(doc.list, [1, 2, 3], 'input untouched');
    assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 5 }]), (e: unknown) => e instanceof StatusError && e.httpCode === 422);
    assert.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }]), StatusError);
    assert.throws(() => jsonPatch(doc, [{ op: 'frob', path: '/x' }]), (e: unknown) => e instanceof StatusError && e.httpCode === 400);
  });
});
