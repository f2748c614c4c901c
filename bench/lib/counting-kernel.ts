// The proxy controller's kernel (ProxyKernel) over the Linux implementations,
// each facility behind a counting wrapper with the same interface: every
// call is counted, every MUTATION is counted by kind, and the time the last
// kernel call returned is kept (performance.now()). For benches (S1, S2, S8
// of shared/notes/performance-anchors.md), not for the agent.
//
// What counts as a mutation: IPVS add/update/delete/flush/setTimeouts (apply
// counts each op of the batch); rtnl link/address/route/rule writes (a
// dummy link counts only when ensureDummyLink had to create it or set it up,
// checked with one extra getLink); one `ipset restore` and one
// `iptables-restore` each count 1 (their script lines are summed too); a
// sysctl.ensure that wrote.

import type { ProxyKernel } from '../../src/controllers/proxy/kernel.js';
import { LinuxIpsetDriver } from '../../src/kernel/ipset/linux.js';
import { IpsetReconciler } from '../../src/kernel/ipset/reconciler.js';
import type { IpsetDriver } from '../../src/kernel/ipset/types.js';
import { LinuxIptablesDriver } from '../../src/kernel/iptables/linux.js';
import { IptablesReconciler } from '../../src/kernel/iptables/reconciler.js';
import type { IptablesDriver } from '../../src/kernel/iptables/types.js';
import { LinuxIpvs } from '../../src/kernel/ipvs/linux.js';
import type { Ipvs, IpvsBatchResult, IpvsOp } from '../../src/kernel/ipvs/types.js';
import { LinuxRtnl } from '../../src/kernel/rtnl/linux.js';
import type { AddressSyncResult, Rtnl } from '../../src/kernel/rtnl/types.js';
import { ProcSysctl, type Sysctl } from '../../src/kernel/sysctl.js';

export class KernelCounters {
  calls = 0;
  mutations = 0;
  /** Mutations by `facility.method`. */
  readonly byKind = new Map<string, number>();
  /** Lines of ipset/iptables restore scripts written. */
  scriptLines = 0;
  /** performance.now() when the last kernel call (read or write) settled. */
  lastReturnAt = 0;
  /** Scripts handed to `iptables-restore` (replayed by the S1 baseline). */
  readonly iptablesScripts: string[] = [];

  addMutation(kind: string, n: number): void {
    if (n <= 0) return;
    this.mutations += n;
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + n);
  }

  reset(): void {
    this.calls = 0;
    this.mutations = 0;
    this.byKind.clear();
    this.scriptLines = 0;
  }

  /** `ipvs.apply=3 rtnl.addAddress=1`, sorted; `none` when zero. */
  kinds(): string {
    const parts = [...this.byKind].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
    return parts.length ? parts.join(' ') : 'none';
  }
}

/** How many mutations one call made, from its arguments and (when it succeeded) its result. */
type Classifier = (method: string, args: readonly unknown[], result: unknown, ok: boolean) => number;

type AnyFn = (...args: unknown[]) => unknown;

/** `inner` behind a Proxy with the same interface that counts calls and classifies mutations. */
function counting<T extends object>(inner: T, facility: string, counters: KernelCounters, classify: Classifier): T {
  return new Proxy(inner, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      const fn = v as AnyFn;
      return (...args: unknown[]): unknown => {
        counters.calls++;
        const done = (result: unknown, ok: boolean): void => {
          counters.lastReturnAt = performance.now();
          counters.addMutation(`${facility}.${prop}`, classify(prop, args, result, ok));
        };
        let r: unknown;
        try {
          r = fn.apply(target, args);
        } catch (e) {
          done(undefined, false);
          throw e;
        }
        if (r instanceof Promise) {
          return r.then(
            (res: unknown) => {
              done(res, true);
              return res;
            },
            (e: unknown) => {
              done(undefined, false);
              throw e;
            },
          );
        }
        done(r, true);
        return r;
      };
    },
  });
}

const IPVS_WRITES = new Set(['addService', 'updateService', 'deleteService', 'addDestination', 'updateDestination', 'deleteDestination', 'setTimeouts', 'flush']);
const RTNL_WRITES = new Set(['setLinkUp', 'deleteLink', 'ensureIpipTunnel', 'addAddress', 'deleteAddress', 'addRoute', 'replaceRoute', 'deleteRoute', 'addRule', 'deleteRule']);

export function countingIpvs(inner: Ipvs, c: KernelCounters): Ipvs {
  return counting(inner, 'ipvs', c, (m, args, result, ok) => {
    if (m === 'apply') return ok ? (result as IpvsBatchResult).applied + (result as IpvsBatchResult).errors.length : (args[0] as readonly IpvsOp[]).length;
    return IPVS_WRITES.has(m) ? 1 : 0;
  });
}

export function countingRtnl(inner: Rtnl, c: KernelCounters): Rtnl {
  const wrapped = counting(inner, 'rtnl', c, (m, _args, result, ok) => {
    if (m === 'syncAddresses') return ok ? (result as AddressSyncResult).added.length + (result as AddressSyncResult).removed.length : 1;
    return RTNL_WRITES.has(m) ? 1 : 0;
  });
  // ensureDummyLink writes only when the link is missing or down: look first.
  return new Proxy(wrapped, {
    get(target, prop) {
      if (prop !== 'ensureDummyLink') return Reflect.get(target, prop, target);
      return async (name: string) => {
        const before = await target.getLink(name);
        const link = await target.ensureDummyLink(name);
        if (!before || !before.up) c.addMutation('rtnl.ensureDummyLink', 1);
        return link;
      };
    },
  });
}

function scriptLines(script: string): number {
  return script.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length;
}

export function countingIpsetDriver(inner: IpsetDriver, c: KernelCounters): IpsetDriver {
  return counting(inner, 'ipset', c, (m, args) => {
    if (m !== 'restore') return 0;
    c.scriptLines += scriptLines(args[0] as string);
    return 1;
  });
}

export function countingIptablesDriver(inner: IptablesDriver, c: KernelCounters): IptablesDriver {
  return counting(inner, 'iptables', c, (m, args, _r, ok) => {
    if (m !== 'restore') return 0;
    if (ok) c.iptablesScripts.push(args[0] as string);
    c.scriptLines += scriptLines(args[0] as string);
    return 1;
  });
}

export function countingSysctl(inner: Sysctl, c: KernelCounters): Sysctl {
  return counting(inner, 'sysctl', c, (m, _a, result, ok) => (m === 'ensure' && ok && result === true ? 1 : 0));
}

export interface CountingKernel {
  kernel: ProxyKernel;
  counters: KernelCounters;
}

/** A fresh set of Linux kernel handles (new netlink sockets), as a restarted agent has, behind counters. */
export function countingLinuxKernel(counters = new KernelCounters()): CountingKernel {
  const iptablesDriver = countingIptablesDriver(new LinuxIptablesDriver({ family: 'ipv4' }), counters);
  const kernel: ProxyKernel = {
    ipvs: countingIpvs(new LinuxIpvs({ timeoutMs: 60_000 }), counters),
    rtnl: countingRtnl(new LinuxRtnl({ timeoutMs: 60_000 }), counters),
    ipset: new IpsetReconciler(countingIpsetDriver(new LinuxIpsetDriver(), counters)),
    iptables: new IptablesReconciler(iptablesDriver),
    iptablesDriver,
    sysctl: countingSysctl(new ProcSysctl(), counters),
  };
  return { kernel, counters };
}
