// The proxy's kernel writes for one sync, in dependency order:
//   addresses added on kube-dummy-if -> ipsets -> iptables -> IPVS (services,
//   destinations, then deletions) -> addresses removed.
// Each step reads only what it diffs against and writes only the difference,
// so a sync over a kernel already in the desired state makes no mutation.

import type { Logger } from 'pino';
import { KubeRouterError, errorMessage } from '../../errors.js';
import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IptablesDesired } from '../../kernel/iptables/types.js';
import { parseServiceKey, serviceKey, type IpvsOp, type IpvsServiceWithDestinations } from '../../kernel/ipvs/types.js';
import { planAddressSync, type IfAddr } from '../../kernel/rtnl/types.js';
import type { ProxyKernel } from './kernel.js';
import type { ProxyMetrics } from './metrics.js';
import { DUMMY_LINK } from './node-info.js';
import { planIpvs, type DesiredVirtualService, type DrainOptions, type ManagedRanges } from './reconcile-ipvs.js';
import { ServicesFilter } from './filter-services.js';
import { ownsProxyChain } from './reconcile-tables.js';
import type { IpFamilyName } from './validate-ip.js';

export interface ApplyInput {
  /** undefined: full sync (read and diff everything); else only these IPVS service keys. */
  scope: ReadonlySet<string> | undefined;
  ipvs: ReadonlyMap<string, DesiredVirtualService>;
  ranges: ManagedRanges;
  /** Desired kube-dummy-if addresses (`a.b.c.d/32`), or undefined when unchanged since the last sync. */
  addresses: readonly string[] | undefined;
  ipsets: readonly IpsetSet[] | undefined;
  /** nat and mangle tables per family (reconciler). */
  tables: readonly FamilyTable[] | undefined;
  /** KUBE-ROUTER-SERVICES rules and the INPUT jump per family (filter, written directly). */
  filter: readonly { family: IpFamilyName; rules: readonly string[]; jump: string }[] | undefined;
  /** Graceful termination (--ipvs-graceful-termination); undefined: removed destinations go at once. */
  drain?: DrainOptions;
}

export interface FamilyTable {
  family: IpFamilyName;
  desired: IptablesDesired;
}

export interface ApplyResult {
  mutations: number;
  /** IPVS services in the kernel after the sync (full syncs only). */
  ipvsServices?: number;
  errors: Error[];
  /** Destinations left draining in this sync's scope (drainKey -> start). */
  draining: Map<string, number>;
  /** Milliseconds per phase (addresses, ipsets, iptables, ipvsRead, ipvsApply). */
  phasesMs: Record<string, number>;
}

function toIfAddr(text: string): IfAddr {
  const [address, len] = text.split('/');
  return { address, prefixLen: Number(len), scope: 253 };
}

export class ProxyApplier {
  private readonly filters = new Map<IpFamilyName, ServicesFilter>();

  constructor(
    private readonly kernel: ProxyKernel,
    private readonly metrics: ProxyMetrics,
    private readonly logger: Logger,
  ) {
    this.filters.set('IPv4', new ServicesFilter(kernel.iptablesDriver));
    if (kernel.iptablesDriver6) this.filters.set('IPv6', new ServicesFilter(kernel.iptablesDriver6));
  }

  private iptablesFor(family: IpFamilyName): ProxyKernel['iptables'] {
    const t = family === 'IPv6' ? this.kernel.iptables6 : this.kernel.iptables;
    if (!t) throw new KubeRouterError('KR_ERR_CONFIG', 'IPv6 services need ip6tables: --enable-ipv6 was not given to the proxy', { field: '--enable-ipv6' });
    return t;
  }

  private count(kind: string, n = 1): void {
    if (n > 0) this.metrics.mutations.inc({ kind }, n);
  }

  async apply(input: ApplyInput): Promise<ApplyResult> {
    const errors: Error[] = [];
    let mutations = 0;
    const { rtnl, ipvs } = this.kernel;
    const phasesMs: Record<string, number> = {};
    let t = Date.now();
    const lap = (name: string): void => {
      const now = Date.now();
      phasesMs[name] = (phasesMs[name] ?? 0) + now - t;
      t = now;
    };

    // 1. Addresses first, so IPVS services bind to local VIPs.
    let removeAddrs: IfAddr[] = [];
    if (input.addresses) {
      const link = await rtnl.ensureDummyLink(DUMMY_LINK);
      const current = await rtnl.listAddresses(link.index);
      const plan = planAddressSync(current, input.addresses.map(toIfAddr));
      if (plan.add.length > 0) {
        // One pipelined netlink batch (10,000 VIPs one round trip each took
        // most of a full sync); the current addresses are kept in the desired
        // list so this only adds: removals wait for step 5.
        try {
          const r = await rtnl.syncAddresses(link.index, [...current, ...plan.add]);
          mutations += r.added.length;
          this.count('address_add', r.added.length);
        } catch (e) {
          errors.push(e as Error);
        }
      }
      removeAddrs = plan.remove;
      lap('addresses');
    }

    // 2. ipsets before the rules that refer to them.
    if (input.ipsets) {
      const r = await this.kernel.ipset.applyCreatesAndUpdates(input.ipsets);
      if (r.lines > 0) {
        mutations++;
        this.count('ipset_restore');
      }
      lap('ipsets');
    }

    // 3. iptables: one transaction per table and family.
    for (const f of input.filter ?? []) {
      const filter = this.filters.get(f.family);
      if (!filter) {
        errors.push(new KubeRouterError('KR_ERR_CONFIG', `${f.family} services need ip6tables: --enable-ipv6 was not given to the proxy`, { field: '--enable-ipv6' }));
        continue;
      }
      const r = await filter.ensure(f.rules, f.jump);
      if (r.lines > 0) {
        mutations++;
        this.count('iptables_restore');
      }
    }
    for (const t of input.tables ?? []) {
      const r = await this.iptablesFor(t.family).apply(t.desired, { owned: ownsProxyChain });
      if (r.lines > 0) {
        mutations++;
        this.count('iptables_restore');
      }
      lap('iptables');
    }

    // 4. IPVS: read once (all on a full sync; on a partial one the changed
    //    services only, each looked up by identity: a cost that follows the
    //    change, not the size of the table).
    let actual: IpvsServiceWithDestinations[];
    if (input.scope === undefined) {
      actual = await ipvs.listAll();
    } else {
      actual = [];
      for (const key of input.scope) {
        const id = parseServiceKey(key);
        const s = id && (await ipvs.getService(id));
        if (s) actual.push({ service: s, destinations: await ipvs.listDestinations(s) });
      }
    }
    lap('ipvsRead');
    const plan = planIpvs(input.ipvs, actual, input.ranges, input.scope, input.drain);
    if (plan.ops.length > 0) {
      const r = await ipvs.apply(plan.ops);
      mutations += r.applied;
      for (const [op, n] of Object.entries(plan.counts)) this.count(`ipvs_${op}`, n);
      for (const f of r.errors) errors.push(this.opError(f.op, f.error));
      await this.flushUdp(plan.ops);
    }
    lap('ipvsApply');
    let ipvsServices: number | undefined;
    if (input.scope === undefined) {
      const added = plan.counts.addService - plan.counts.deleteService;
      ipvsServices = actual.length + added;
    }

    // 5. Addresses removed last (after the services on them are gone).
    if (removeAddrs.length > 0) {
      for (const a of removeAddrs) {
        try {
          await rtnl.deleteAddress(DUMMY_LINK, a);
          mutations++;
          this.count('address_delete');
        } catch (e) {
          errors.push(e as Error);
        }
      }
      lap('addresses');
    }
    if (errors.length > 0) this.metrics.errors.inc(errors.length);
    return { mutations, ipvsServices, errors, draining: plan.draining, phasesMs };
  }

  /** Deletes the conntrack flows of every UDP destination (or UDP service) removed; a failure is logged, not fatal. */
  private async flushUdp(ops: readonly IpvsOp[]): Promise<void> {
    const ct = this.kernel.conntrack;
    if (!ct) return;
    for (const op of ops) {
      if (op.service.protocol !== 'UDP' || op.service.fwmark) continue;
      if (op.op !== 'deleteDestination' && op.op !== 'deleteService') continue;
      const flow = { vip: op.service.address, port: op.service.port, endpoint: op.op === 'deleteDestination' ? op.destination.address : undefined };
      try {
        const n = await ct.deleteUdpFlows(flow);
        if (n > 0) this.count('conntrack_delete', n);
      } catch (e) {
        this.logger.warn({ flow }, errorMessage(e));
      }
    }
  }

  private opError(op: IpvsOp, error: Error): Error {
    if (error instanceof KubeRouterError) return error;
    const dst = 'destination' in op ? ` -> ${op.destination.address}:${op.destination.port}` : '';
    this.logger.debug({ op: op.op }, 'ipvs op failed');
    return new KubeRouterError('KR_ERR_KERNEL', `ipvs ${op.op} ${serviceKey(op.service)}${dst}: ${errorMessage(error)}`, {
      call: op.op,
      object: serviceKey(op.service),
    });
  }
}
