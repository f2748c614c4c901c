// The lab suite's scenario files (test/lab/*.yaml) parse, and run as intended
// against the fake cluster with a "same node only" reachability (the lab
// before routing exists).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { FakeCluster, podPortsReach, type ReachFunction } from '../../src/lab/scenario/fake-cluster.js';
import { parseScenarioFile } from '../../src/lab/scenario/parse.js';
import { runScenarioFiles } from '../../src/lab/scenario/runner.js';

const LAB = fileURLToPath(new URL('../../../test/lab/', import.meta.url));
// Files that must FAIL (the runner cannot pass everything); scripts/test-all runs them expecting exit 1.
const NEGATIVE = fileURLToPath(new URL('../../../test/lab-negative/', import.meta.url));

/** Pods answer on their ports, but only to clients on their own node (no routing between nodes). */
const sameNodeOnly: ReachFunction = (req, ctx) => {
  const to = ctx.toPod;
  if (to === undefined) return false;
  let fromNode = req.from.name;
  if (req.from.kind === 'pod') {
    const o = ctx.cluster.objects.get(`Pod/${req.from.namespace}/${req.from.name}`);
    fromNode = ((o?.spec ?? {}) as { nodeName?: string }).nodeName ?? '?';
  }
  if (fromNode !== ((to.spec ?? {}) as { nodeName?: string }).nodeName) return { connected: false, error: 'timeout' };
  return podPortsReach(req, ctx);
};

async function runFiles(names: string[], dir = LAB): Promise<{ exitCode: number; lines: string[]; sleeps: number[] }> {
  const lines: string[] = [];
  const sleeps: number[] = [];
  const out = { write: (s: string) => lines.push(...s.split('\n').filter((l) => l !== '')) };
  const r = await runScenarioFiles(
    names.map((n) => join(dir, n)),
    new FakeCluster({ reach: sameNodeOnly }),
    out,
    { sleep: async (ms) => void sleeps.push(ms) },
  );
  return { exitCode: r.exitCode, lines, sleeps };
}

test('every scenario file of the lab suite parses', () => {
  const files = readdirSync(LAB).filter((f) => f.endsWith('.yaml'));
  const negative = readdirSync(NEGATIVE).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.includes('pods-same-node.yaml') && negative.includes('wrong-expectation.yaml'));
  for (const f of files) parseScenarioFile(join(LAB, f));
  for (const f of negative) parseScenarioFile(join(NEGATIVE, f));
});

test('pods-same-node.yaml: same-node pairs allow, cross-node deny, 324 matrix probes in one batch', async () => {
  const r = await runFiles(['pods-same-node.yaml']);
  assert.equal(r.exitCode, 0, r.lines.filter((l) => l.includes('"ok":false')).join('\n'));
  const matrix = r.lines.filter((l) => l.includes('"kind":"matrix"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(matrix.length, 9 * 9 * 4);
  assert.equal(matrix.filter((m) => m.expect === 'allow').length, 3 * 3 * 3 * 4);
  assert.deepEqual(r.sleeps, []);
  assert.match(r.lines[r.lines.length - 1], /^\d+ passed, 0 failed$/);
});

test('wrong-expectation.yaml fails with exit status 1 and a line naming the probe', async () => {
  const r = await runFiles(['wrong-expectation.yaml'], NEGATIVE);
  assert.equal(r.exitCode, 1);
  const failed = r.lines.filter((l) => l.includes('"ok":false'));
  assert.equal(failed.length, 1);
  const line = JSON.parse(failed[0]) as Record<string, unknown>;
  assert.deepEqual(
    [line.kind, line.from, line.to, line.port, line.protocol, line.expect, line.got],
    ['probe', 'wrong/a', 'wrong/b', 80, 'TCP', 'deny', 'allow'],
  );
  assert.match(String(line.file), /wrong-expectation\.yaml$/);
  assert.equal(line.step, 4);
  assert.match(r.lines[r.lines.length - 1], /^\d+ passed, 1 failed$/);
});
