// Dry-run wrappers around the kernel interfaces: reads go to the kernel,
// writes are recorded instead of applied. `dump` runs the controllers' own
// reconcile code (ProxyApplier, applyRoutePlan, applyFirewall, pod egress,
// the ipset and iptables reconcilers) over them, so the recorded writes are
// exactly what that reconciler would do now: none means "in sync".

import type { Exec, ExecResult } from '../../kernel/exec.js';
import type { IpsetDriver } from '../../kernel/ipset/types.js';
import type { IptablesDriver, IptablesTable } from '../../kernel/iptables/types.js';
import { serviceKey, type Ipvs, type IpvsOp } from '../../kernel/ipvs/types.js';
import type { IfAddr, Link, LinkRef, RouteSpec, RuleSpec, Rtnl } from '../../kernel/rtnl/types.js';

/** The writes a dry run recorded, in order. */
export class ChangeLog {
  readonly lines: string[] = [];

  add(line: string): void {
    this.lines.push(line);
  }
}

const OK: ExecResult = { code: 0, stdout: '', stderr: '', timedOut: false };

function scriptLines(script: string): string[] {
  return script.split('\n').filter((l) => l.trim() !== '' && l !== 'COMMIT');
}

export class DryRunIpsetDriver implements IpsetDriver {
  constructor(
    private readonly inner: IpsetDriver,
    private readonly log: ChangeLog,
  ) {}

  save(): Promise<string> {
    return this.inner.save();
  }

  async restore(script: string): Promise<void> {
    for (const l of scriptLines(script)) this.log.add(`ipset ${l}`);
  }
}

export class DryRunIptablesDriver implements IptablesDriver {
  constructor(
    private readonly inner: IptablesDriver,
    private readonly log: ChangeLog,
  ) {}

  get family(): IptablesDriver['family'] {
    return this.inner.family;
  }

  save(table: IptablesTable): Promise<string> {
    return this.inner.save(table);
  }

  async restore(script: string): Promise<void> {
    let table = '';
    for (const l of scriptLines(script)) {
      if (l.startsWith('*')) table = l.slice(1);
      else this.log.add(`${this.inner.family} ${table} ${l}`);
    }
  }
}

/** Commands that only read (`-C`, `-S`, `-L`, `save`, `--version`) run; the rest are recorded. */
export function dryRunExec(inner: Exec, log: ChangeLog): Exec {
  return async (argv, opts) => {
    const readOnly = argv.some((a) => a === '-C' || a === '-S' || a === '-L' || a === 'save' || a === 'list' || a === '--version' || a === '-V');
    if (readOnly && !/restore$/.test(argv[0] ?? '')) return inner(argv, opts);
    log.add(argv.join(' ') + (opts?.input ? ` < ${scriptLines(opts.input).length} line(s)` : ''));
    return OK;
  };
}

function describeOp(op: IpvsOp): string {
  const d = 'destination' in op ? ` -> ${op.destination.address}:${op.destination.port}` : '';
  return `ipvs ${op.op} ${serviceKey(op.service)}${d}`;
}

/** IPVS with `apply` and the single mutations recorded. */
export function dryRunIpvs(inner: Ipvs, log: ChangeLog): Ipvs {
  const record = (op: IpvsOp): Promise<void> => {
    log.add(describeOp(op));
    return Promise.resolve();
  };
  return {
    listServices: () => inner.listServices(),
    listDestinations: (s) => inner.listDestinations(s),
    getService: (s) => inner.getService(s),
    listAll: () => inner.listAll(),
    addService: (service) => record({ op: 'addService', service }),
    updateService: (service) => record({ op: 'updateService', service }),
    deleteService: (service) => record({ op: 'deleteService', service }),
    addDestination: (service, destination) => record({ op: 'addDestination', service, destination }),
    updateDestination: (service, destination) => record({ op: 'updateDestination', service, destination }),
    deleteDestination: (service, destination) => record({ op: 'deleteDestination', service, destination }),
    apply: async (ops) => {
      for (const op of ops) log.add(describeOp(op));
      return { applied: ops.length, errors: [] };
    },
    getInfo: () => inner.getInfo(),
    getTimeouts: () => inner.getTimeouts(),
    setTimeouts: async (t) => log.add(`ipvs set timeouts ${JSON.stringify(t)}`),
    flush: async () => log.add('ipvs flush'),
    close: () => inner.close(),
  };
}

function routeText(r: RouteSpec): string {
  const parts = [r.dst, `table ${r.table ?? 254}`];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.oif !== undefined) parts.push(`dev ${r.oif}`);
  if (r.src) parts.push(`src ${r.src}`);
  return parts.join(' ');
}

function ruleText(r: RuleSpec): string {
  return `from ${r.src || 'all'} lookup ${r.table} pref ${r.priority}`;
}

/**
 * rtnetlink with every mutation recorded. A link it would create is
 * reported with a negative index, and has no addresses.
 */
export function dryRunRtnl(inner: Rtnl, log: ChangeLog): Rtnl {
  let nextIndex = -1;
  const planned = new Map<string, Link>();
  const ensure = async (name: string, kind: string, what: string): Promise<Link> => {
    const have = (await inner.getLink(name)) ?? planned.get(name);
    if (have) return have;
    log.add(`link add ${name} ${what}`);
    const l: Link = { index: nextIndex--, name, kind, up: true, mtu: 1500 };
    planned.set(name, l);
    return l;
  };
  const linkName = (ref: LinkRef): string => String(ref);
  const addrText = (a: Pick<IfAddr, 'address' | 'prefixLen'>): string => `${a.address}/${a.prefixLen}`;
  return {
    listLinks: () => inner.listLinks(),
    getLink: async (ref) => (await inner.getLink(ref)) ?? (typeof ref === 'string' ? planned.get(ref) : undefined),
    ensureDummyLink: (name) => ensure(name, 'dummy', 'type dummy'),
    setLinkUp: async (ref, up) => log.add(`link set ${linkName(ref)} ${up ? 'up' : 'down'}`),
    deleteLink: async (ref) => {
      log.add(`link delete ${linkName(ref)}`);
      return true;
    },
    ensureTunnel: (name, o) =>
      o.mode === 'ip6ip6'
        ? ensure(name, 'ip6tnl', `type ip6tnl mode ip6ip6 local ${o.local} remote ${o.remote}`)
        : ensure(name, 'ipip', `type ipip local ${o.local} remote ${o.remote}`),
    listAddresses: async (ref) => (typeof ref === 'number' && ref < 0 ? [] : inner.listAddresses(ref)),
    addAddress: async (ref, a) => log.add(`addr add ${addrText(a)} dev ${linkName(ref)}`),
    deleteAddress: async (ref, a) => log.add(`addr del ${addrText(a)} dev ${linkName(ref)}`),
    syncAddresses: async (ref, desired) => {
      log.add(`addr sync dev ${linkName(ref)}: ${desired.map(addrText).join(' ')}`);
      return { added: [], removed: [] };
    },
    listRoutes: (f) => inner.listRoutes(f),
    addRoute: async (r) => log.add(`route add ${routeText(r)}`),
    replaceRoute: async (r) => log.add(`route replace ${routeText(r)}`),
    deleteRoute: async (r) => log.add(`route del ${routeText(r)}`),
    listRules: (f) => inner.listRules(f),
    addRule: async (r) => log.add(`rule add ${ruleText(r)}`),
    deleteRule: async (r) => log.add(`rule del ${ruleText(r)}`),
    close: () => inner.close(),
  };
}
