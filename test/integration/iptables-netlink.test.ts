// The iptables driver with its nf_tables netlink writer against the host
// kernel: test/netns/iptables-netlink.contract.ts run by `node --test` inside
// `unshare -n`, so its netlink socket and its rules live in a throwaway
// network namespace. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const script = fileURLToPath(new URL('../netns/iptables-netlink.contract.js', import.meta.url));

test('iptables contract and the nf_tables writer, in an unshared netns', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 120_000 }, () => {
  // A fresh test run, not a subtest of this one (node:test marks its children through the environment).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync('unshare', ['-n', process.execPath, '--test', '--test-reporter=tap', script], { encoding: 'utf8', timeout: 110_000, env });
  const pass = /^# pass (\d+)/m.exec(r.stdout);
  const fail = /^# fail (\d+)/m.exec(r.stdout);
  assert.ok(pass && fail, `no summary in output:\n${r.stdout}\n${r.stderr}`);
  assert.equal(Number(fail[1]), 0, r.stdout);
  assert.ok(Number(pass[1]) >= 20, r.stdout);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
