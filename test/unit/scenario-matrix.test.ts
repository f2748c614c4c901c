import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenarioText } from '../../src/lab/scenario/parse.js';
import { matchTarget, parseRule } from '../../src/lab/scenario/matrix.js';
import type { MatrixCell } from '../../src/lab/scenario/types.js';

const PODS = '[x/a, x/b, x/c, y/a, y/b, y/c, z/a, z/b, z/c]';

function cells(matrix: string): MatrixCell[] {
  const s = parseScenarioText(`steps:\n  - matrix: ${matrix}\n`, 's.yaml');
  const st = s.steps[0];
  assert.ok(st.kind === 'matrix');
  return st.cells;
}

function denied(cs: MatrixCell[]): string[] {
  return cs.filter((c) => c.expect === 'deny').map((c) => `${c.from}->${c.to}:${c.port}/${c.protocol}`);
}

test('a 9x9 matrix over 2 ports and 2 protocols expands to 324 probes', () => {
  const cs = cells(`{pods: ${PODS}, ports: [80, 81], protocols: [TCP, UDP], expect: allow}`);
  assert.equal(cs.length, 9 * 9 * 2 * 2);
  assert.ok(cs.every((c) => c.expect === 'allow'));
  assert.deepEqual(cs[0], { from: 'x/a', to: 'x/a', port: 80, protocol: 'TCP', expect: 'allow' });
  assert.deepEqual(cs[1], { from: 'x/a', to: 'x/a', port: 80, protocol: 'UDP', expect: 'allow' });
  assert.equal(new Set(cs.map((c) => `${c.from} ${c.to} ${c.port} ${c.protocol}`)).size, cs.length);
});

test('defaults: port 80, TCP; self pairs can be left out', () => {
  const cs = cells('{pods: [x/a, x/b], expect: deny, self: false}');
  assert.deepEqual(cs.map((c) => [c.from, c.to, c.port, c.protocol, c.expect]), [
    ['x/a', 'x/b', 80, 'TCP', 'deny'],
    ['x/b', 'x/a', 80, 'TCP', 'deny'],
  ]);
});

test('default plus deny, then allow, then ordered rules; wildcards', () => {
  const cs = cells(`
      pods: ${PODS}
      ports: [80, 81]
      expect:
        default: allow
        deny: ["*->x/a", "y/b->z/*:81"]
        allow: ["x/b->x/a:80/TCP"]
        rules: ["deny z/c->*/c", "allow z/c->z/c"]`);
  const d = denied(cs);
  // Ingress to x/a denied from all 9 pods on both ports, except x/b on 80.
  assert.equal(d.filter((s) => s.includes('->x/a:')).length, 9 * 2 - 1);
  assert.ok(!d.includes('x/b->x/a:80/TCP'));
  assert.ok(d.includes('x/b->x/a:81/TCP'));
  assert.deepEqual(d.filter((s) => s.startsWith('y/b->z/')).sort(), ['y/b->z/a:81/TCP', 'y/b->z/b:81/TCP', 'y/b->z/c:81/TCP']);
  assert.deepEqual(d.filter((s) => s.startsWith('z/c->') && !s.includes('->x/a')).sort(), [
    'z/c->x/c:80/TCP',
    'z/c->x/c:81/TCP',
    'z/c->y/c:80/TCP',
    'z/c->y/c:81/TCP',
  ]);
  assert.equal(d.length, 17 + 3 + 4);
});

test('from and to lists instead of pods; non-pod targets match only themselves or *', () => {
  const cs = cells('{from: [x/a, node1], to: ["service:x/web", y/b], expect: {default: deny, allow: ["node1->*", "*->service:x/web"]}}');
  assert.deepEqual(cs.map((c) => `${c.from}->${c.to}=${c.expect}`), [
    'x/a->service:x/web=allow',
    'x/a->y/b=deny',
    'node1->service:x/web=allow',
    'node1->y/b=allow',
  ]);
  assert.equal(matchTarget('x/*', 'service:x/web'), false);
  assert.equal(matchTarget('*/a', 'x/a'), true);
  assert.equal(matchTarget('*', 'nodeport:x/web@node1'), true);
  assert.deepEqual(parseRule('*->service:x/web:80/UDP', 'deny'), { expect: 'deny', from: '*', to: 'service:x/web', port: 80, protocol: 'UDP' });
  assert.deepEqual(parseRule(' x/a -> y/b ', 'allow'), { expect: 'allow', from: 'x/a', to: 'y/b', port: '*', protocol: '*' });
});

test('truth tables, one for all ports or one per port/protocol', () => {
  const cs = cells(`
      pods: [x/a, x/b, y/a]
      table: |
        -    x/a  x/b  y/a
        x/a  .    X    .
        x/b  .    .    X
        y/a  X    X    .`);
  assert.deepEqual(denied(cs).sort(), ['x/a->x/b:80/TCP', 'x/b->y/a:80/TCP', 'y/a->x/a:80/TCP', 'y/a->x/b:80/TCP']);
  const per = cells(`
      pods: [x/a, x/b]
      ports: [80, 81]
      table:
        80/TCP: |
          x/a x/b
          x/a . X
          x/b . .
        81/TCP: |
          x/a x/b
          x/b X X
          x/a . .`);
  assert.deepEqual(denied(per).sort(), ['x/a->x/b:80/TCP', 'x/b->x/a:81/TCP', 'x/b->x/b:81/TCP']);
});

test('matrix errors name the step and the field', () => {
  const bad = (m: string): string => {
    try {
      parseScenarioText(`steps:\n  - settle: {}\n  - matrix: ${m}\n`, 's.yaml');
    } catch (err) {
      return (err as Error).message;
    }
    return 'no error';
  };
  assert.match(bad('{expect: allow}'), /step 2 \(matrix\): field 'pods' is required/);
  assert.match(bad('{pods: [x/a]}'), /field 'expect' give exactly one of expect and table/);
  assert.match(bad('{pods: [x/a], expect: alow}'), /field 'expect' must be allow, deny or a mapping/);
  assert.match(bad('{pods: [x/a], expect: {default: allow, deny: ["x/a"]}}'), /field 'expect.deny' item 1 must look like 'x\/a->y\/b:80\/TCP', got 'x\/a'/);
  assert.match(bad('{pods: [x/a], expect: {default: allow, rules: ["x/a->x/a"]}}'), /field 'expect.rules' item 1 must start with allow or deny/);
  assert.match(bad('{pods: [x/a], expect: {deny: []}}'), /field 'expect.default' must be allow or deny/);
  assert.match(bad('{pods: [x/a], expect: {default: allow, other: 1}}'), /field 'expect.other' is not known/);
  assert.match(bad('{pods: [x/a], ports: [0], expect: allow}'), /field 'ports' item 1 must be a port/);
  assert.match(bad('{pods: [x/a], protocols: [ICMP], expect: allow}'), /field 'protocols' must list TCP, UDP or SCTP/);
  assert.match(bad('{pods: [x/a, x/b], table: "x/a x/c\\nx/a . .\\nx/b . ."}'), /field 'table' header must name the 2 targets/);
  assert.match(bad('{pods: [x/a, x/b], table: "x/a x/b\\nx/a . ."}'), /field 'table' has no row for x\/b/);
  assert.match(bad('{pods: [x/a, x/b], table: "x/a x/b\\nx/a . ?\\nx/b . ."}'), /row 'x\/a' column 'x\/b': '\?' must be '.' \(allow\) or 'X' \(deny\)/);
  assert.match(bad('{pods: [x/a], ports: [80, 81], table: {80/TCP: "x/a\\nx/a ."}}'), /field 'table' has no table for 81\/TCP/);
  assert.match(bad('{pods: [x/a], poods: [x/b], expect: allow}'), /field 'poods' is not known/);
});
