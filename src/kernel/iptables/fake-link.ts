// Links the two fake kernels the way netfilter links the real ones: a rule
// with `--match-set S` needs S to exist, and S cannot be destroyed while a
// rule references it (felix's apply order: set creates, rules, set deletes).

import type { FakeIpsetKernel } from '../ipset/fake.js';
import type { FakeIptablesKernel } from './fake.js';

export function linkFakeKernels(ipset: FakeIpsetKernel, ...iptables: FakeIptablesKernel[]): void {
  for (const ipt of iptables) ipt.setIpsetExists((name) => ipset.members(name) !== undefined);
  ipset.setReferenceCheck((name) => iptables.some((ipt) => ipt.referencesSet(name)));
}
