import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCluster } from '../../src/lab/scenario/fake-cluster.js';
import { lineOf, registerGuestRoutes, SCENARIO_RUN_PATH, type ScenarioRouteHost } from '../../src/lab/scenario/guest.js';
import { runScenarioCommand } from '../../src/lab/scenario/cli.js';

type Handler = (req: { body: unknown; signal: AbortSignal }) => Promise<unknown> | AsyncIterable<unknown>;

function tmpFiles(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
  return Object.entries(files).map(([name, text]) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  });
}

test('the guest route streams result objects, summaries and a done object', async () => {
  const routes = new Map<string, Handler>();
  const host: ScenarioRouteHost = { control: { route: (m, p, h) => void routes.set(`${m} ${p}`, h) } };
  registerGuestRoutes(host, new FakeCluster());
  const handler = routes.get(`POST ${SCENARIO_RUN_PATH}`);
  assert.ok(handler !== undefined);
  const [file] = tmpFiles({
    'one.yaml': `steps:
  - apply: {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x}, spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}}
  - probe: {from: x/a, to: x/a, port: 80, expect: allow}
`,
  });
  const stream = (await handler({ body: { files: [file] }, signal: new AbortController().signal })) as AsyncIterable<unknown>;
  const objs: unknown[] = [];
  for await (const o of stream) objs.push(o);
  assert.equal(objs.length, 5);
  assert.deepEqual(objs.slice(2, 5), [{ summary: `${file}: 2 passed, 0 failed` }, { summary: '2 passed, 0 failed' }, { done: true, passed: 2, failed: 0, exitCode: 0 }]);
  assert.equal((objs[1] as { kind: string }).kind, 'probe');
  assert.deepEqual(objs.map(lineOf).slice(2), [`${file}: 2 passed, 0 failed`, '2 passed, 0 failed', undefined]);
  assert.equal(lineOf(objs[1])?.startsWith(`{"file":"${file}","step":2,"kind":"probe"`), true);
  await assert.rejects(async () => handler({ body: { files: [] }, signal: new AbortController().signal }), /body must be/);
});

test('kube-router-lab run: usage, and a malformed file fails before any boot', async () => {
  const lines: string[] = [];
  const said: string[] = [];
  const out = { write: (s: string) => void lines.push(s) };
  assert.equal(await runScenarioCommand([], out, (l) => void said.push(l)), 2);
  assert.equal(await runScenarioCommand(['--bogus', 'x.yaml'], out, (l) => void said.push(l)), 2);
  const [bad] = tmpFiles({ 'bad.yaml': 'steps:\n  - probe: {from: x/a, to: x/b, port: 80, expect: alow}\n' });
  assert.equal(await runScenarioCommand([bad], out, (l) => void said.push(l)), 1);
  assert.match(lines.join(''), /step 1 \(probe\): field 'expect' must be allow or deny, got 'alow'/);
  assert.match(lines.join(''), /0 passed, 1 failed\n$/);
});
