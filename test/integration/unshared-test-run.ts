// Runs a node:test file inside `unshare -n` (a netlink socket belongs to the
// network namespace of the process that opens it, so the whole process must
// be in a throwaway one) and checks its summary: nothing failed, at least
// `minPass` passed. Shared by the netlink driver tests; not a test file.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const needsRoot = process.getuid?.() !== 0 ? 'needs root' : false;

/** `file` relative to this directory (of the compiled tests), e.g. '../netns/x.contract.js'. */
export function runUnshared(file: string, minPass: number): void {
  const script = fileURLToPath(new URL(file, import.meta.url));
  // A fresh test run, not a subtest of the caller (node:test marks its children through the environment).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync('unshare', ['-n', process.execPath, '--test', '--test-reporter=tap', script], { encoding: 'utf8', timeout: 110_000, env });
  const pass = /^# pass (\d+)/m.exec(r.stdout);
  const fail = /^# fail (\d+)/m.exec(r.stdout);
  assert.ok(pass && fail, `no summary in output:\n${r.stdout}\n${r.stderr}`);
  assert.equal(Number(fail[1]), 0, r.stdout);
  assert.ok(Number(pass[1]) >= minPass, r.stdout);
  assert.equal(r.status, 0, r.stdout + r.stderr);
}
