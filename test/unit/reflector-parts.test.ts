import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, sleep } from '../../src/informers/backoff.js';
import { LineSplitter, LineTooLongError } from '../../src/informers/lines.js';
import { compareResourceVersions, minResourceVersion, newerResourceVersion } from '../../src/informers/resource-version.js';

test('LineSplitter: lines across chunks, CRLF, blank lines, multi-byte UTF-8 split mid-character, trailing line', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(':2}\r\n\n\n{"c":'), ['{"b":2}']);
  const euro = Buffer.from('"€"}\n');
  assert.deepEqual(s.push(euro.subarray(0, 2)), []); // '"' + first byte of '€'
  assert.deepEqual(s.push(euro.subarray(2)), ['{"c":"€"}']);
  assert.deepEqual(s.push('{"d":4}'), []);
  assert.equal(s.flush(), '{"d":4}');
  assert.equal(s.flush(), undefined);
});

test('LineSplitter: a line over the limit throws and the splitter recovers', () => {
  const s = new LineSplitter(10);
  assert.throws(() => s.push('x'.repeat(11)), LineTooLongError);
  assert.deepEqual(s.push('ok\n'), ['ok']);
});

test('LineSplitter: many lines in one chunk', () => {
  const s = new LineSplitter();
  const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i }));
  assert.deepEqual(s.push(`${lines.join('\n')}\n`), lines);
});

test('Backoff: doubles from initial to max, jitter shortens, reset starts over', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 30_000, jitter: 0, random: () => 0.99 });
  const seq = Array.from({ length: 11 }, () => b.next());
  assert.deepEqual(seq, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  assert.equal(b.attempts, 11);
  b.reset();
  assert.equal(b.next(), 100);
  const j = new Backoff({ initialMs: 1000, jitter: 0.5, random: () => 1 });
  assert.equal(j.next(), 500);
  const r = new Backoff({ initialMs: 1000, jitter: 0.5 });
  for (let i = 0; i < 50; i++) {
    r.reset();
    const d = r.next();
    assert.ok(d >= 500 && d <= 1000, `jittered delay ${d} in [500, 1000]`);
  }
});

test('sleep resolves early on abort', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  const p = sleep(10_000, ac.signal);
  ac.abort();
  await p;
  assert.ok(Date.now() - t0 < 100);
});

test('resourceVersion comparison is numeric for integers, big ones too', () => {
  assert.ok((compareResourceVersions('9', '10') ?? 0) < 0);
  assert.ok((compareResourceVersions('123456789012345678901', '123456789012345678900') ?? 0) > 0);
  assert.equal(compareResourceVersions('abc', '10'), undefined);
  assert.equal(newerResourceVersion('10', '9'), '10');
  assert.equal(newerResourceVersion('9', '10'), '10');
  assert.equal(newerResourceVersion('', '3'), '3');
  assert.equal(newerResourceVersion('x', 'y'), 'y');
  assert.equal(minResourceVersion(['100', '99', '1000']), '99');
  assert.equal(minResourceVersion(['100', '']), '');
  assert.equal(minResourceVersion([]), '');
});
