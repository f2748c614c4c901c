// Rtnl over rtnetlink (the `netlink` package's createRtNetlink), for the
// network namespace of this process. One socket, requests serialized (the
// package keeps one multipart buffer per socket), a timeout on every request,
// errors typed with the call and the object.

import { AttrStream, FlagsGet, FlagsNew, createRtNetlink, rt, type RtNetlinkSocket } from 'netlink';
import { sendBatch, type BatchRequest } from './batch.js';
import { RtErrno, RtnlError, errnoOf, toRtnlError } from './errors.js';
import { type AddressFamily } from './inet.js';
import { readRouteEntry } from './route-dump.js';
import {
  addrRequest,
  dummyLinkInfo,
  tunnelLinkInfo,
  routeRequest,
  ruleRequest,
  toIfAddr,
  toLink,
  toRuleEntry,
} from './messages.js';
import {
  addrKey,
  compareAddrs,
  compareRoutes,
  planAddressSync,
  ruleEntry,
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

const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL;
const CREATE_REPLACE = FlagsNew.CREATE | FlagsNew.REPLACE;

export interface LinuxRtnlOptions {
  timeoutMs?: number;
}

function linkText(ref: LinkRef): string {
  return typeof ref === 'number' ? `link #${ref}` : `link ${ref}`;
}

function routeText(r: RouteSpec): string {
  const parts = [r.dst];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.oif !== undefined) parts.push(`dev ${r.oif}`);
  if (r.table !== undefined) parts.push(`table ${r.table}`);
  if (r.protocol !== undefined) parts.push(`proto ${r.protocol}`);
  return `route ${parts.join(' ')}`;
}

function ruleText(r: RuleSpec): string {
  return `rule pref ${r.priority} from ${r.src || 'all'}${r.dst ? ` to ${r.dst}` : ''}${r.fwmark ? ` fwmark ${r.fwmark}` : ''} lookup ${r.table}`;
}

export class LinuxRtnl implements Rtnl {
  private sock: RtNetlinkSocket | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly timeout: number;

  constructor(opts: LinuxRtnlOptions = {}) {
    this.timeout = opts.timeoutMs ?? 5_000;
  }

  private socket(): RtNetlinkSocket {
    this.sock ??= createRtNetlink({ recvBufferSize: 4 << 20, sendBufferSize: 1 << 20 });
    return this.sock;
  }

  /** Runs one netlink exchange exclusively; errors become RtnlErrors naming `call` and `object`. */
  private run<T>(call: string, object: string, fn: (s: RtNetlinkSocket, o: { timeout: number }) => Promise<T>): Promise<T> {
    const p = this.tail.then(async () => {
      try {
        return await fn(this.socket(), { timeout: this.timeout });
      } catch (e) {
        if (/Timeout/.test((e as Error)?.message ?? '')) {
          this.sock?.socket.close();
          this.sock = undefined;
        }
        throw toRtnlError(e, call, object);
      }
    });
    this.tail = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.sock?.socket.close();
    this.sock = undefined;
  }

  // ---------------------------------------------------------------- links

  async listLinks(): Promise<Link[]> {
    const msgs = await this.run('RTM_GETLINK', 'links', (s, o) => s.getLinks(undefined, undefined, o));
    return msgs.map(toLink).sort((a, b) => a.index - b.index);
  }

  async getLink(ref: LinkRef): Promise<Link | undefined> {
    try {
      const msgs = await this.run('RTM_GETLINK', linkText(ref), (s, o) =>
        typeof ref === 'number' ? s.getLink({ index: ref }, undefined, o) : s.getLink({}, { ifname: ref }, o),
      );
      return msgs.length ? toLink(msgs[0]) : undefined;
    } catch (e) {
      if (e instanceof RtnlError && e.errno === RtErrno.ENODEV) return undefined;
      throw e;
    }
  }

  private async index(ref: LinkRef): Promise<number> {
    if (typeof ref === 'number') return ref;
    const l = await this.getLink(ref);
    if (!l) throw new RtnlError('RTM_GETLINK', linkText(ref), RtErrno.ENODEV);
    return l.index;
  }

  private async createLink(name: string, linkinfo: Buffer): Promise<Link> {
    try {
      await this.run('RTM_NEWLINK', linkText(name), (s, o) => s.newLink({}, { ifname: name, linkinfo }, { ...o, flags: CREATE_EXCL }));
    } catch (e) {
      if (!(e instanceof RtnlError && e.errno === RtErrno.EEXIST)) throw e;
    }
    await this.setLinkUp(name, true);
    const l = await this.getLink(name);
    if (!l) throw new RtnlError('RTM_GETLINK', linkText(name), RtErrno.ENODEV);
    return l;
  }

  async ensureDummyLink(name: string): Promise<Link> {
    const l = await this.getLink(name);
    if (l?.up) return l;
    return this.createLink(name, dummyLinkInfo());
  }

  async ensureTunnel(name: string, opts: TunnelOptions): Promise<Link> {
    const l = await this.getLink(name);
    if (l?.up) return l;
    return this.createLink(name, tunnelLinkInfo(opts));
  }

  async setLinkUp(ref: LinkRef, up: boolean): Promise<void> {
    const index = await this.index(ref);
    await this.run('RTM_SETLINK', linkText(ref), (s, o) => s.setLink({ index, flags: up ? { up: true } : {}, change: { up: true } }, undefined, o));
  }

  async deleteLink(ref: LinkRef): Promise<boolean> {
    try {
      await this.run('RTM_DELLINK', linkText(ref), (s, o) =>
        typeof ref === 'number' ? s.delLink({ index: ref }, undefined, o) : s.delLink({}, { ifname: ref }, o),
      );
      return true;
    } catch (e) {
      if (e instanceof RtnlError && e.errno === RtErrno.ENODEV) return false;
      throw e;
    }
  }

  // ------------------------------------------------------------ addresses

  async listAddresses(ref: LinkRef): Promise<IfAddrEntry[]> {
    const index = await this.index(ref);
    const msgs = await this.run('RTM_GETADDR', `addresses of ${linkText(ref)}`, (s, o) => s.getAddresses(undefined, undefined, o));
    return msgs
      .filter((m) => m.data.index === index)
      .map(toIfAddr)
      .filter((a): a is IfAddrEntry => a !== undefined)
      .sort(compareAddrs);
  }

  async addAddress(ref: LinkRef, addr: IfAddr): Promise<void> {
    const index = await this.index(ref);
    const { data, attrs } = addrRequest(index, addr);
    await this.run('RTM_NEWADDR', `address ${addrKey(addr)} on ${ref}`, (s, o) => s.newAddress(data, attrs, { ...o, flags: CREATE_EXCL }));
  }

  async deleteAddress(ref: LinkRef, addr: Pick<IfAddr, 'address' | 'prefixLen'>): Promise<void> {
    const index = await this.index(ref);
    const { data, attrs } = addrRequest(index, addr);
    await this.run('RTM_DELADDR', `address ${addrKey(addr)} on ${ref}`, (s, o) => s.delAddress(data, attrs, o));
  }

  /**
   * One pass: every add and delete packed into a few datagrams (batch.ts),
   * not one round trip per address. An add that finds the address already
   * there, or a delete that finds it gone, is what we wanted anyway.
   */
  async syncAddresses(ref: LinkRef, desired: readonly IfAddr[]): Promise<AddressSyncResult> {
    const index = await this.index(ref);
    const plan = planAddressSync(await this.listAddresses(ref), desired);
    const body = (a: IfAddr): Buffer => {
      const { data, attrs } = addrRequest(index, a);
      const s = new AttrStream();
      rt.formatAddressMessage({ kind: 'address', data, attrs }, s);
      return Buffer.concat(s.bufs);
    };
    const requests: BatchRequest[] = [
      ...plan.add.map((a) => ({ type: rt.MessageType.NEWADDR, flags: CREATE_EXCL, payload: body(a) })),
      ...plan.remove.map((a) => ({ type: rt.MessageType.DELADDR, payload: body(a) })),
    ];
    if (requests.length) {
      const results = await this.run('RTM_NEWADDR/RTM_DELADDR', `addresses of ${linkText(ref)}`, (s, o) => sendBatch(s.socket, requests, { timeoutMs: o.timeout }));
      const all = [...plan.add.map((a) => ['RTM_NEWADDR', a] as const), ...plan.remove.map((a) => ['RTM_DELADDR', a] as const)];
      results.forEach((r, i) => {
        const [call, a] = all[i];
        const benign = call === 'RTM_NEWADDR' ? RtErrno.EEXIST : RtErrno.EADDRNOTAVAIL;
        if (r.errno !== 0 && r.errno !== benign) {
          throw new RtnlError(call, `address ${addrKey(a)} on ${ref}`, Math.max(r.errno, 0), r.errno < 0 ? r.detail : undefined);
        }
      });
    }
    return { added: plan.add.map(addrKey), removed: plan.remove.map(addrKey) };
  }

  // --------------------------------------------------------------- routes

  /** One dump; the answers read raw (route-dump.ts), the filter applied before their attributes are. */
  async listRoutes(filter: { family: AddressFamily; table?: number; protocol?: number }): Promise<RouteEntry[]> {
    const [msgs] = await this.run('RTM_GETROUTE', 'routes', (s, o) => {
      const req = new AttrStream();
      rt.formatRouteMessage({ kind: 'route', data: { family: filter.family }, attrs: {} }, req);
      return s.socket.request(rt.MessageType.GETROUTE, req.bufs, { ...o, flags: FlagsGet.DUMP });
    });
    const out: RouteEntry[] = [];
    for (const m of msgs) {
      if (m.type !== rt.MessageType.NEWROUTE) continue;
      const r = readRouteEntry(m.data, filter);
      if (r !== undefined) out.push(r);
    }
    return out.sort(compareRoutes);
  }

  private async routeCall(call: string, r: RouteSpec, flags: number, del: boolean): Promise<void> {
    const oif = r.oif === undefined ? 0 : await this.index(r.oif);
    const { data, attrs } = routeRequest(r, oif, del);
    await this.run(call, routeText(r), (s, o) => (del ? s.delRoute(data, attrs, o) : s.newRoute(data, attrs, { ...o, flags })));
  }

  addRoute(r: RouteSpec): Promise<void> {
    return this.routeCall('RTM_NEWROUTE', r, CREATE_EXCL, false);
  }

  replaceRoute(r: RouteSpec): Promise<void> {
    return this.routeCall('RTM_NEWROUTE', r, CREATE_REPLACE, false);
  }

  deleteRoute(r: RouteSpec): Promise<void> {
    return this.routeCall('RTM_DELROUTE', r, 0, true);
  }

  /** Every write in few datagrams (batch.ts); a failed write does not stop the others. */
  async writeRoutes(writes: readonly RouteWrite[]): Promise<(Error | undefined)[]> {
    const results: (Error | undefined)[] = new Array<Error | undefined>(writes.length).fill(undefined);
    const requests: BatchRequest[] = [];
    const sent: number[] = [];
    const oifs = new Map<string | number, number>();
    for (let i = 0; i < writes.length; i++) {
      const { op, route } = writes[i];
      const del = op === 'delete';
      const call = del ? 'RTM_DELROUTE' : 'RTM_NEWROUTE';
      try {
        let oif = 0;
        if (route.oif !== undefined) {
          oif = oifs.get(route.oif) ?? (await this.index(route.oif));
          oifs.set(route.oif, oif);
        }
        const { data, attrs } = routeRequest(route, oif, del);
        const s = new AttrStream();
        rt.formatRouteMessage({ kind: 'route', data, attrs }, s);
        requests.push({ type: del ? rt.MessageType.DELROUTE : rt.MessageType.NEWROUTE, flags: del ? 0 : CREATE_REPLACE, payload: Buffer.concat(s.bufs) });
        sent.push(i);
      } catch (e) {
        results[i] = toRtnlError(e, call, routeText(route));
      }
    }
    if (requests.length === 0) return results;
    const answers = await this.run('RTM_NEWROUTE/RTM_DELROUTE', `${requests.length} routes`, (s, o) => sendBatch(s.socket, requests, { timeoutMs: o.timeout }));
    answers.forEach((a, j) => {
      if (a.errno === 0) return;
      const i = sent[j];
      const { op, route } = writes[i];
      results[i] = new RtnlError(op === 'delete' ? 'RTM_DELROUTE' : 'RTM_NEWROUTE', routeText(route), Math.max(a.errno, 0), a.errno < 0 ? a.detail : undefined);
    });
    return results;
  }

  // ---------------------------------------------------------------- rules

  async listRules(family: AddressFamily): Promise<RuleEntry[]> {
    const msgs = await this.run('RTM_GETRULE', 'rules', (s, o) => s.getRules({ family }, undefined, o));
    return msgs
      .map(toRuleEntry)
      .filter((r): r is RuleEntry => r !== undefined && r.family === family)
      .sort((a, b) => a.priority - b.priority || a.table - b.table);
  }

  async addRule(r: RuleSpec): Promise<void> {
    const { data, attrs } = ruleRequest(r);
    await this.run('RTM_NEWRULE', ruleText(r), (s, o) => s.newRule(data, attrs, { ...o, flags: CREATE_EXCL }));
  }

  async deleteRule(r: RuleSpec): Promise<void> {
    const { data, attrs } = ruleRequest(ruleEntry(r));
    await this.run('RTM_DELRULE', ruleText(r), (s, o) => s.delRule(data, attrs, o));
  }
}

/** errno of any failure (exported for callers that wrap their own calls). */
export { errnoOf };

// Compile-time conformance check.
const _conforms: (o: LinuxRtnlOptions) => Rtnl = (o) => new LinuxRtnl(o);
void _conforms;
