// An in-memory network namespace for Rtnl users (felix's mocknetlink is the
// model): links, addresses, main/custom-table routes and rules, with the
// kernel's errnos (EEXIST, EADDRNOTAVAIL, ESRCH, ENOENT, ENODEV), sorted
// listings and a mutation count. It does not invent the routes the kernel
// adds by itself for addresses (local table, prefix routes).

import { RtErrno, RtnlError } from './errors.js';
import { canonicalAddr, familyOf, type AddressFamily } from './inet.js';
import { tunnelLinkInfo } from './messages.js';
import {
  RT_SCOPE,
  RTN,
  RTPROT_KUBE_ROUTER,
  RT_TABLE_MAIN,
  addrKey,
  compareAddrs,
  compareRoutes,
  parsePrefix,
  planAddressSync,
  routeKey,
  ruleEntry,
  ruleKey,
  type AddressSyncResult,
  type IfAddr,
  type IfAddrEntry,
  type TunnelOptions,
  type Link,
  type LinkRef,
  type RouteEntry,
  type RouteSpec,
  type RouteWrite,
  type Rtnl,
  type RuleEntry,
  type RuleSpec,
} from './types.js';

export class FakeRtnl implements Rtnl {
  private readonly links = new Map<number, Link>();
  private readonly addrs = new Map<number, Map<string, IfAddrEntry>>();
  private readonly routes = new Map<string, RouteEntry>();
  private readonly rules = new Map<string, RuleEntry>();
  private nextIndex = 2;
  mutations = 0;

  constructor() {
    this.links.set(1, { index: 1, name: 'lo', kind: '', up: true, mtu: 65536 });
    this.addrs.set(1, new Map());
  }

  /** Test helper: a link as if created by someone else (`eth0`, a veth ...). */
  addLink(name: string, kind = '', up = true): Link {
    const l = { index: this.nextIndex++, name, kind, up, mtu: 1500 };
    this.links.set(l.index, l);
    this.addrs.set(l.index, new Map());
    return { ...l };
  }

  private find(ref: LinkRef): Link | undefined {
    if (typeof ref === 'number') return this.links.get(ref);
    for (const l of this.links.values()) if (l.name === ref) return l;
    return undefined;
  }

  private need(call: string, ref: LinkRef): Link {
    const l = this.find(ref);
    if (!l) throw new RtnlError(call, typeof ref === 'number' ? `link #${ref}` : `link ${ref}`, RtErrno.ENODEV);
    return l;
  }

  async listLinks(): Promise<Link[]> {
    return [...this.links.values()].map((l) => ({ ...l })).sort((a, b) => a.index - b.index);
  }

  async getLink(ref: LinkRef): Promise<Link | undefined> {
    const l = this.find(ref);
    return l && { ...l };
  }

  private ensure(name: string, kind: string): Link {
    let l = this.find(name);
    if (!l) {
      l = this.addLink(name, kind, false);
      l = this.links.get(l.index)!;
      this.mutations++;
    }
    if (!l.up) {
      l.up = true;
      this.mutations++;
    }
    return { ...l };
  }

  async ensureDummyLink(name: string): Promise<Link> {
    return this.ensure(name, 'dummy');
  }

  async ensureTunnel(name: string, opts: TunnelOptions): Promise<Link> {
    tunnelLinkInfo(opts); // refuses endpoints of the wrong family, as the Linux implementation does
    return this.ensure(name, opts.mode === 'ip6ip6' ? 'ip6tnl' : 'ipip');
  }

  async setLinkUp(ref: LinkRef, up: boolean): Promise<void> {
    this.need('RTM_SETLINK', ref).up = up;
    this.mutations++;
  }

  async deleteLink(ref: LinkRef): Promise<boolean> {
    const l = this.find(ref);
    if (!l) return false;
    this.links.delete(l.index);
    this.addrs.delete(l.index);
    for (const [k, r] of this.routes) if (r.oif === l.index) this.routes.delete(k);
    this.mutations++;
    return true;
  }

  async listAddresses(ref: LinkRef): Promise<IfAddrEntry[]> {
    const l = this.need('RTM_GETADDR', ref);
    return [...this.addrs.get(l.index)!.values()].map((a) => ({ ...a })).sort(compareAddrs);
  }

  async addAddress(ref: LinkRef, addr: IfAddr): Promise<void> {
    const l = this.need('RTM_NEWADDR', ref);
    const a: IfAddrEntry = { ...addr, address: canonicalAddr(addr.address), family: familyOf(addr.address)!, linkIndex: l.index };
    const m = this.addrs.get(l.index)!;
    if (m.has(addrKey(a))) throw new RtnlError('RTM_NEWADDR', `address ${addrKey(a)} on ${ref}`, RtErrno.EEXIST);
    m.set(addrKey(a), a);
    this.mutations++;
  }

  async deleteAddress(ref: LinkRef, addr: Pick<IfAddr, 'address' | 'prefixLen'>): Promise<void> {
    const l = this.need('RTM_DELADDR', ref);
    const k = addrKey({ address: canonicalAddr(addr.address), prefixLen: addr.prefixLen });
    if (!this.addrs.get(l.index)!.delete(k)) throw new RtnlError('RTM_DELADDR', `address ${k} on ${ref}`, RtErrno.EADDRNOTAVAIL);
    this.mutations++;
  }

  async syncAddresses(ref: LinkRef, desired: readonly IfAddr[]): Promise<AddressSyncResult> {
    const plan = planAddressSync(await this.listAddresses(ref), desired);
    for (const a of plan.add) await this.addAddress(ref, a);
    for (const a of plan.remove) await this.deleteAddress(ref, a);
    return { added: plan.add.map(addrKey), removed: plan.remove.map(addrKey) };
  }

  private entry(call: string, r: RouteSpec): RouteEntry {
    const p = parsePrefix(r.dst);
    const family = familyOf(p.address);
    if (family === undefined) throw new RtnlError(call, `route ${r.dst}`, RtErrno.EINVAL);
    const type = r.type ?? RTN.unicast;
    return {
      family,
      dst: `${canonicalAddr(p.address)}/${p.len}`,
      table: r.table ?? RT_TABLE_MAIN,
      protocol: r.protocol ?? RTPROT_KUBE_ROUTER,
      scope: r.scope ?? (type === RTN.local ? RT_SCOPE.host : r.gateway || type !== RTN.unicast ? RT_SCOPE.universe : RT_SCOPE.link),
      type,
      gateway: r.gateway ? canonicalAddr(r.gateway) : '',
      oif: r.oif === undefined ? 0 : this.need(call, r.oif).index,
      src: r.src ? canonicalAddr(r.src) : '',
      priority: r.priority ?? 0,
    };
  }

  async listRoutes(filter: { family: AddressFamily; table?: number; protocol?: number }): Promise<RouteEntry[]> {
    return [...this.routes.values()]
      .filter((r) => r.family === filter.family)
      .filter((r) => (filter.table === undefined || r.table === filter.table) && (filter.protocol === undefined || r.protocol === filter.protocol))
      .map((r) => ({ ...r }))
      .sort(compareRoutes);
  }

  async addRoute(r: RouteSpec): Promise<void> {
    const e = this.entry('RTM_NEWROUTE', r);
    if (this.routes.has(`${e.family} ${routeKey(e)}`)) throw new RtnlError('RTM_NEWROUTE', `route ${e.dst}`, RtErrno.EEXIST);
    this.routes.set(`${e.family} ${routeKey(e)}`, e);
    this.mutations++;
  }

  /** As LinuxRtnl: each write in order, a failure does not stop the rest. */
  async writeRoutes(writes: readonly RouteWrite[]): Promise<(Error | undefined)[]> {
    const out: (Error | undefined)[] = [];
    for (const w of writes) {
      try {
        if (w.op === 'delete') await this.deleteRoute(w.route);
        else await this.replaceRoute(w.route);
        out.push(undefined);
      } catch (e) {
        out.push(e instanceof Error ? e : new Error(String(e)));
      }
    }
    return out;
  }

  async replaceRoute(r: RouteSpec): Promise<void> {
    const e = this.entry('RTM_NEWROUTE', r);
    this.routes.set(`${e.family} ${routeKey(e)}`, e);
    this.mutations++;
  }

  async deleteRoute(r: RouteSpec): Promise<void> {
    const e = this.entry('RTM_DELROUTE', r);
    const k = `${e.family} ${routeKey(e)}`;
    const have = this.routes.get(k);
    const matches =
      have !== undefined &&
      have.protocol === e.protocol &&
      (r.gateway === undefined || have.gateway === e.gateway) &&
      (r.oif === undefined || have.oif === e.oif) &&
      (r.scope === undefined || have.scope === e.scope) &&
      (r.type === undefined || have.type === e.type);
    if (!matches) throw new RtnlError('RTM_DELROUTE', `route ${e.dst}`, RtErrno.ESRCH);
    this.routes.delete(k);
    this.mutations++;
  }

  async listRules(family: AddressFamily): Promise<RuleEntry[]> {
    return [...this.rules.values()]
      .filter((r) => r.family === family)
      .map((r) => ({ ...r }))
      .sort((a, b) => a.priority - b.priority || a.table - b.table);
  }

  private norm(r: RuleSpec): RuleEntry {
    const net = (t: string | undefined): string => {
      if (!t) return '';
      const p = parsePrefix(t, r.family);
      return p.len ? `${canonicalAddr(p.address)}/${p.len}` : '';
    };
    return ruleEntry({ ...r, src: net(r.src), dst: net(r.dst) });
  }

  async addRule(r: RuleSpec): Promise<void> {
    const e = this.norm(r);
    if (this.rules.has(ruleKey(e))) throw new RtnlError('RTM_NEWRULE', `rule pref ${r.priority}`, RtErrno.EEXIST);
    this.rules.set(ruleKey(e), e);
    this.mutations++;
  }

  async deleteRule(r: RuleSpec): Promise<void> {
    if (!this.rules.delete(ruleKey(this.norm(r)))) throw new RtnlError('RTM_DELRULE', `rule pref ${r.priority}`, RtErrno.ENOENT);
    this.mutations++;
  }

  close(): void {}
}

// Compile-time conformance check.
const _conforms: Rtnl = new FakeRtnl();
void _conforms;
