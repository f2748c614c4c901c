// The netlink ipset driver against the host kernel: the shared ipset
// contract (test/netns/ipset-netlink.contract.ts) run by `node --test` inside
// `unshare -n`, so its netlink socket and its sets live in a throwaway
// network namespace. Needs root; skipped otherwise.

import { test } from 'node:test';
import { needsRoot, runUnshared } from './unshared-test-run.js';

test('ipset contract through the netlink driver, in an unshared netns', { skip: needsRoot, timeout: 120_000 }, () => {
  runUnshared('../netns/ipset-netlink.contract.js', 8);
});
