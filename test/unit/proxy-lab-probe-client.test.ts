// The lab's probe bodies may check the client the responder saw (the proxy
// scenarios check source IPs: externalTrafficPolicy Local, hairpin SNAT).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toProbeResult } from '../../src/lab/guest/lab-cluster-probe.js';
import { judge, type ProbeOutcome } from '../../src/lab/scenario/probes.js';

function outcome(wantBody: string | undefined, wantBodies?: string[]): ProbeOutcome {
  return { probe: { step: 1, kind: 'probe', from: 'x/a', to: 'service:x/b', expect: 'allow', timeoutMs: 1000 }, wantBody, wantBodies, ok: false, retried: false, ms: 0 };
}

test('a body pattern matches the body or the body with the client', () => {
  const r = toProbeResult({ id: '0', status: 'ok', body: 'pxn/loc-1 client=192.168.56.12:40312', latencyMs: 2 });
  assert.deepEqual(r, { connected: true, body: 'pxn/loc-1', client: '192.168.56.12:40312', ms: 2 });
  assert.equal(judge(outcome('^pxn/loc-1$'), [r]), undefined);
  assert.equal(judge(outcome('^pxn/loc-1 client=192\\.168\\.56\\.12:'), [r]), undefined);
  assert.match(judge(outcome('^pxn/loc-1 client=192\\.168\\.56\\.13:'), [r]) ?? '', /does not match/);
  assert.equal(judge(outcome(undefined, ['client=192\\.168\\.56\\.12:']), [r]), undefined);
  // A reply without a client (not the lab responder) is matched on its body only.
  const plain = toProbeResult({ id: '0', status: 'ok', body: 'hello', latencyMs: 1 });
  assert.deepEqual(plain, { connected: true, body: 'hello', ms: 1 });
  assert.match(judge(outcome('client='), [plain]) ?? '', /does not match/);
});
