// The iptables driver with its nf_tables netlink writer against the host
// kernel: test/netns/iptables-netlink.contract.ts run by `node --test` inside
// `unshare -n`, so its netlink socket and its rules live in a throwaway
// network namespace. Needs root; skipped otherwise.

import { test } from 'node:test';
import { needsRoot, runUnshared } from './unshared-test-run.js';

test('iptables contract and the nf_tables writer, in an unshared netns', { skip: needsRoot, timeout: 120_000 }, () => {
  runUnshared('../netns/iptables-netlink.contract.js', 20);
});
