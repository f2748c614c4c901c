// Test helpers for the firewall controller: a FakeSharedCache holding the
// upstream e2e layout (x, y, z with a, b, c; a and b on node-1) and the
// linked fake kernels. Not a test file itself.

import pino from 'pino';
import { Registry } from 'prom-client';
import { defaultOptions } from '../../src/cmd/options/parse.js';
import type { AgentOptions } from '../../src/cmd/options/types.js';
import { FirewallController } from '../../src/controllers/firewall/controller.js';
import type { FirewallKernel } from '../../src/controllers/firewall/reconcile.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { Node } from '../../src/informers/types.js';
import { FakeIpsetKernel } from '../../src/kernel/ipset/fake.js';
import { IpsetReconciler } from '../../src/kernel/ipset/reconciler.js';
import { FakeIptablesKernel } from '../../src/kernel/iptables/fake.js';
import { linkFakeKernels } from '../../src/kernel/iptables/fake-link.js';
import { IptablesReconciler } from '../../src/kernel/iptables/reconciler.js';
import { AsyncMutex } from '../../src/kernel/lock.js';
import { FakeClock } from '../../src/runner/fake-clock.js';
import { mkNs, mkPod, NODE1, NODE2 } from './firewall-fixtures.js';

export interface Rig {
  cache: FakeSharedCache;
  ctl: FirewallController;
  ipsetK: FakeIpsetKernel;
  iptK: FakeIptablesKernel;
  kernel: FirewallKernel;
  registry: Registry;
  logs: { level: number; msg: string; object?: string }[];
}

export function mkNode(name: string, podCidr: string): Node {
  return { metadata: { name }, spec: { podCIDR: podCidr, podCIDRs: [podCidr] } };
}

/** e2e pods: a and b of each namespace on node-1, c on node-2 (IPs 10.244.<node>.<n>). */
export function seedE2e(cache: FakeSharedCache): void {
  cache.add('Node', mkNode(NODE1, '10.244.1.0/24'));
  cache.add('Node', mkNode(NODE2, '10.244.2.0/24'));
  let n = 10;
  for (const ns of ['x', 'y', 'z']) {
    cache.add('Namespace', mkNs(ns));
    for (const p of ['a', 'b', 'c']) {
      const node = p === 'c' ? NODE2 : NODE1;
      cache.add('Pod', mkPod(ns, p, `10.244.${node === NODE1 ? 1 : 2}.${n++}`, node));
    }
  }
}

/**
 * A controller over the fakes. By default it is started on a FakeClock that
 * is never advanced: handlers feed the tracker, and the test calls sync().
 * `realClock: true` leaves it unstarted, on real time (the test starts it).
 */
export async function rig(over: Partial<AgentOptions> = {}, kernel?: (k: FirewallKernel) => FirewallKernel, opts: { realClock?: boolean; pendingRetryMs?: number } = {}): Promise<Rig> {
  const cache = new FakeSharedCache({ kinds: ['Pod', 'Namespace', 'NetworkPolicy', 'Node'] });
  seedE2e(cache);
  await cache.start();
  const ipsetK = new FakeIpsetKernel();
  const iptK = new FakeIptablesKernel();
  linkFakeKernels(ipsetK, iptK);
  const lock = new AsyncMutex();
  const base: FirewallKernel = { ipset: new IpsetReconciler(ipsetK, lock), iptables: { ipv4: new IptablesReconciler(iptK, lock) } };
  const logs: Rig['logs'] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string): void {
        const o = JSON.parse(line) as { level: number; msg: string; object?: string };
        logs.push({ level: o.level, msg: o.msg, object: o.object });
      },
    },
  );
  const registry = new Registry();
  const options: AgentOptions = { ...defaultOptions(), serviceClusterIpRange: ['10.96.0.0/12'], ...over };
  const k = kernel ? kernel(base) : base;
  const clock = opts.realClock ? undefined : new FakeClock();
  const ctl = new FirewallController({ cache, options, nodeName: NODE1, logger, metrics: registry, kernel: k, clock, pendingRetryMs: opts.pendingRetryMs });
  if (!opts.realClock) await ctl.start();
  return { cache, ctl, ipsetK, iptK, kernel: k, registry, logs };
}

/** Every filter chain of ours with its rules (for before/after diffs). */
export function snapshot(iptK: FakeIptablesKernel): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of iptK.chains('filter')) out.set(c, (iptK.rules('filter', c) ?? []).join('\n'));
  return out;
}

export function changedChains(a: Map<string, string>, b: Map<string, string>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}
