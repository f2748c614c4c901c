import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskIP, scanTemplates, substituteTemplates } from '../../src/lab/scenario/template.js';

test('templates are found and parsed', () => {
  const uses = scanTemplates('a {{ip x/a}} b {{ net y/b 24 }} c {{nodeip node2}}');
  assert.deepEqual(uses.map((u) => u.ref), [
    { fn: 'ip', namespace: 'x', pod: 'a' },
    { fn: 'net', namespace: 'y', pod: 'b', bits: 24 },
    { fn: 'nodeip', node: 'node2' },
  ]);
  assert.throws(() => scanTemplates('{{ip x}}'), /template \{\{ip x\}\}: 'x' is not namespace\/pod/);
  assert.throws(() => scanTemplates('{{net x/a}}'), /expected \{\{net ns\/pod N\}\}/);
  assert.throws(() => scanTemplates('{{net x/a 200}}'), /'200' is not a prefix length/);
  assert.throws(() => scanTemplates('{{podip x/a}}'), /unknown template 'podip'/);
});

test('substitution replaces every template in place', async () => {
  const out = await substituteTemplates('cidr: {{net x/a 24}}\nip: {{ip x/a}}/32\n', async (ref) =>
    ref.fn === 'net' ? maskIP('10.244.1.7', ref.bits) : '10.244.1.7',
  );
  assert.equal(out, 'cidr: 10.244.1.0/24\nip: 10.244.1.7/32\n');
});

test('masking, IPv4 and IPv6', () => {
  assert.equal(maskIP('10.244.1.7', 32), '10.244.1.7/32');
  assert.equal(maskIP('10.244.1.7', 16), '10.244.0.0/16');
  assert.equal(maskIP('10.244.1.7', 0), '0.0.0.0/0');
  assert.equal(maskIP('10.244.1.7', 23), '10.244.0.0/23');
  assert.equal(maskIP('fd00:10:244:1::7', 64), 'fd00:10:244:1::/64');
  assert.equal(maskIP('fd00:10:244:1::7', 128), 'fd00:10:244:1::7/128');
  assert.throws(() => maskIP('10.0.0.1', 33), /too long/);
  assert.throws(() => maskIP('nope', 8), /not an IP address/);
});
