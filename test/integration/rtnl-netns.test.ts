// The Rtnl contract against the host kernel, in a throwaway network
// namespace (veth links; dummy/ipip cases are skipped on the host and run in
// the lab guest). Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const script = fileURLToPath(new URL('../lab-kernel/rtnl-contract.js', import.meta.url));

test('Rtnl contract on the host kernel in a throwaway netns', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 110_000 });
  const summary = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(r.stdout);
  assert.ok(summary, `no summary in output:\n${r.stdout}\n${r.stderr}`);
  assert.equal(Number(summary[2]), 0, r.stdout);
  assert.ok(Number(summary[1]) >= 8, r.stdout);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const leftover = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(leftover, /kr-rtnl-/);
});
