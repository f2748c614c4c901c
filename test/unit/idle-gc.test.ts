// The idle young-generation collection (src/runner/idle-gc.ts): run in a
// child started as the agent is (node --expose-gc), observed through the
// performance timeline's gc entries; a no-op without --expose-gc.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const moduleUrl = new URL('../../src/runner/idle-gc.js', import.meta.url).href;

/** Runs a script importing idle-gc in a child; returns its stdout. */
function child(nodeArgs: string[], body: string): string {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { collectYoungWhenIdle, idleGcAvailable } from ${JSON.stringify(moduleUrl)};
    const minor = [];
    const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor.push(e); });
    obs.observe({ entryTypes: ['gc'] });
    const count = () => new Promise((r) => setTimeout(() => r(minor.length), 50));
    ${body}
  `;
  const r = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('with --expose-gc: a young-generation collection when idle() holds, none when it does not', () => {
  const out = child(
    ['--expose-gc'],
    `
    const base = await count();
    collectYoungWhenIdle(() => false);
    const notIdle = await count();
    collectYoungWhenIdle(() => true);
    const idle = await count();
    console.log(JSON.stringify({ available: idleGcAvailable, notIdle: notIdle - base, idle: idle - notIdle }));
  `,
  );
  assert.deepEqual(JSON.parse(out), { available: true, notIdle: 0, idle: 1 });
});

test('without --expose-gc: not available, and nothing happens', () => {
  const out = child(
    [],
    `
    const base = await count();
    collectYoungWhenIdle(() => true);
    console.log(JSON.stringify({ available: idleGcAvailable, idle: (await count()) - base }));
  `,
  );
  assert.deepEqual(JSON.parse(out), { available: false, idle: 0 });
});

