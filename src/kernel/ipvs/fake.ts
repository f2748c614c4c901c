// An in-memory IPVS table that behaves like the kernel's (kube-proxy's FakeIPVS
// is the model, made stricter): the same errnos for duplicate and missing
// objects (EEXIST, ESRCH for services, ENOENT for destinations and unknown
// schedulers, ERANGE for bad thresholds), sorted listings, copies out, and a
// count of mutations so tests can assert "a no-op sync changes nothing".

import { Cmd, cmdName } from './attrs.js';
import { Errno, IpvsError } from './errors.js';
import {
  destinationConfig,
  destinationKey,
  renderDestination,
  renderService,
  serviceConfig,
  serviceKey,
  sortDestinations,
  sortServices,
  zeroStats,
  type Ipvs,
  type IpvsBatchResult,
  type IpvsDestination,
  type IpvsDestinationEntry,
  type IpvsInfo,
  type IpvsOp,
  type IpvsService,
  type IpvsServiceEntry,
  type IpvsServiceWithDestinations,
  type IpvsStats,
  type IpvsTimeouts,
} from './types.js';
import { familyOf } from '../rtnl/inet.js';

/** Schedulers a Debian kernel ships as ip_vs_<name> modules. */
export const KERNEL_SCHEDULERS: readonly string[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

interface DestState {
  config: IpvsDestination;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  stats: IpvsStats;
}

interface ServiceState {
  config: IpvsService;
  stats: IpvsStats;
  dests: Map<string, DestState>;
}

export class FakeIpvs implements Ipvs {
  private readonly services = new Map<string, ServiceState>();
  private timeouts: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  /** Successful mutations (service and destination add/update/delete, flush, timeouts). */
  mutations = 0;
  /** Every call, in order, as `IPVS_CMD_* <service> [-> dest]` (for tests). */
  readonly calls: string[] = [];
  closed = false;

  private readonly schedulers: readonly string[];

  constructor(opts: { schedulers?: readonly string[] } = {}) {
    this.schedulers = opts.schedulers ?? KERNEL_SCHEDULERS;
  }

  private fail(cmd: number, errno: number, svc?: IpvsService, dst?: IpvsDestination): never {
    throw new IpvsError({
      call: cmdName(cmd),
      errno,
      service: svc ? renderService(svc) : undefined,
      destination: dst ? renderDestination(dst) : undefined,
    });
  }

  private record(cmd: number, svc?: IpvsService, dst?: IpvsDestination): void {
    this.calls.push([cmdName(cmd), svc && renderService(svc), dst && renderDestination(dst)].filter(Boolean).join(' '));
  }

  private find(cmd: number, svc: IpvsService): ServiceState {
    const s = this.services.get(serviceKey(svc));
    if (!s) this.fail(cmd, Errno.ESRCH, svc);
    return s;
  }

  private checkService(cmd: number, svc: IpvsService): void {
    if (!this.schedulers.includes(svc.scheduler)) this.fail(cmd, Errno.ENOENT, svc);
    if (!svc.fwmark && familyOf(svc.address) !== svc.af) this.fail(cmd, Errno.EINVAL, svc);
  }

  private checkDest(cmd: number, svc: IpvsService, dst: IpvsDestination): void {
    if (dst.weight > 0x7fffffff || dst.weight < 0) this.fail(cmd, Errno.ERANGE, svc, dst);
    if (dst.lowerThreshold > dst.upperThreshold) this.fail(cmd, Errno.ERANGE, svc, dst);
    if (familyOf(dst.address) !== svc.af && dst.fwdMethod !== 'tunnel') this.fail(cmd, Errno.EINVAL, svc, dst);
  }

  async listServices(): Promise<IpvsServiceEntry[]> {
    this.record(Cmd.GET_SERVICE);
    return sortServices([...this.services.values()].map((s) => ({ ...serviceConfig(s.config), stats: { ...s.stats } })));
  }

  async listDestinations(service: IpvsService): Promise<IpvsDestinationEntry[]> {
    this.record(Cmd.GET_DEST, service);
    const s = this.services.get(serviceKey(service));
    if (!s) return []; // the kernel's dump is empty for a missing service
    return sortDestinations(
      [...s.dests.values()].map((d) => ({
        ...destinationConfig(d.config),
        activeConns: d.activeConns,
        inactConns: d.inactConns,
        persistConns: d.persistConns,
        stats: { ...d.stats },
      })),
    );
  }

  async getService(service: IpvsService): Promise<IpvsServiceEntry | undefined> {
    this.record(Cmd.GET_SERVICE, service);
    const s = this.services.get(serviceKey(service));
    return s ? { ...serviceConfig(s.config), stats: { ...s.stats } } : undefined;
  }

  async listAll(): Promise<IpvsServiceWithDestinations[]> {
    const out: IpvsServiceWithDestinations[] = [];
    for (const service of await this.listServices()) out.push({ service, destinations: await this.listDestinations(service) });
    return out;
  }

  async addService(service: IpvsService): Promise<void> {
    this.record(Cmd.NEW_SERVICE, service);
    if (this.services.has(serviceKey(service))) this.fail(Cmd.NEW_SERVICE, Errno.EEXIST, service);
    this.checkService(Cmd.NEW_SERVICE, service);
    this.services.set(serviceKey(service), { config: serviceConfig(service), stats: zeroStats(), dests: new Map() });
    this.mutations++;
  }

  async updateService(service: IpvsService): Promise<void> {
    this.record(Cmd.SET_SERVICE, service);
    const s = this.find(Cmd.SET_SERVICE, service);
    this.checkService(Cmd.SET_SERVICE, service);
    s.config = serviceConfig(service);
    this.mutations++;
  }

  async deleteService(service: IpvsService): Promise<void> {
    this.record(Cmd.DEL_SERVICE, service);
    this.find(Cmd.DEL_SERVICE, service);
    this.services.delete(serviceKey(service));
    this.mutations++;
  }

  async addDestination(service: IpvsService, destination: IpvsDestination): Promise<void> {
    this.record(Cmd.NEW_DEST, service, destination);
    const s = this.find(Cmd.NEW_DEST, service);
    this.checkDest(Cmd.NEW_DEST, service, destination);
    const k = destinationKey(destination);
    if (s.dests.has(k)) this.fail(Cmd.NEW_DEST, Errno.EEXIST, service, destination);
    s.dests.set(k, { config: destinationConfig(destination), activeConns: 0, inactConns: 0, persistConns: 0, stats: zeroStats() });
    this.mutations++;
  }

  async updateDestination(service: IpvsService, destination: IpvsDestination): Promise<void> {
    this.record(Cmd.SET_DEST, service, destination);
    const s = this.find(Cmd.SET_DEST, service);
    this.checkDest(Cmd.SET_DEST, service, destination);
    const d = s.dests.get(destinationKey(destination));
    if (!d) this.fail(Cmd.SET_DEST, Errno.ENOENT, service, destination);
    d.config = destinationConfig(destination);
    this.mutations++;
  }

  async deleteDestination(service: IpvsService, destination: IpvsDestination): Promise<void> {
    this.record(Cmd.DEL_DEST, service, destination);
    const s = this.find(Cmd.DEL_DEST, service);
    if (!s.dests.delete(destinationKey(destination))) this.fail(Cmd.DEL_DEST, Errno.ENOENT, service, destination);
    this.mutations++;
  }

  async apply(ops: readonly IpvsOp[]): Promise<IpvsBatchResult> {
    const errors: IpvsBatchResult['errors'] = [];
    for (const [index, op] of ops.entries()) {
      try {
        switch (op.op) {
          case 'addService':
            await this.addService(op.service);
            break;
          case 'updateService':
            await this.updateService(op.service);
            break;
          case 'deleteService':
            await this.deleteService(op.service);
            break;
          case 'addDestination':
            await this.addDestination(op.service, op.destination);
            break;
          case 'updateDestination':
            await this.updateDestination(op.service, op.destination);
            break;
          case 'deleteDestination':
            await this.deleteDestination(op.service, op.destination);
            break;
        }
      } catch (error) {
        errors.push({ index, op, error: error as Error });
      }
    }
    return { applied: ops.length - errors.length, errors };
  }

  async getInfo(): Promise<IpvsInfo> {
    this.record(Cmd.GET_INFO);
    return { version: '1.2.1', connTabSize: 4096 };
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    this.record(Cmd.GET_CONFIG);
    return { ...this.timeouts };
  }

  async setTimeouts(t: Partial<IpvsTimeouts>): Promise<void> {
    this.record(Cmd.SET_CONFIG);
    this.timeouts = {
      tcp: t.tcp || this.timeouts.tcp,
      tcpFin: t.tcpFin || this.timeouts.tcpFin,
      udp: t.udp || this.timeouts.udp,
    };
    this.mutations++;
  }

  async flush(): Promise<void> {
    this.record(Cmd.FLUSH);
    this.services.clear();
    this.mutations++;
  }

  close(): void {
    this.closed = true;
  }

  // ------------------------------------------------------------ test hooks

  /** Sets connection counts / stats the kernel would report (for metrics and graceful-termination tests). */
  setCounters(
    service: IpvsService,
    destination: IpvsDestination | undefined,
    counters: Partial<IpvsStats> & { activeConns?: number; inactConns?: number; persistConns?: number },
  ): void {
    const s = this.services.get(serviceKey(service));
    if (!s) throw new Error(`fake ipvs: no service ${renderService(service)}`);
    const { activeConns, inactConns, persistConns, ...stats } = counters;
    if (!destination) {
      Object.assign(s.stats, stats);
      return;
    }
    const d = s.dests.get(destinationKey(destination));
    if (!d) throw new Error(`fake ipvs: no destination ${renderDestination(destination)}`);
    Object.assign(d.stats, stats);
    if (activeConns !== undefined) d.activeConns = activeConns;
    if (inactConns !== undefined) d.inactConns = inactConns;
    if (persistConns !== undefined) d.persistConns = persistConns;
  }
}

// Compile-time conformance check.
const _conforms: Ipvs = new FakeIpvs();
void _conforms;
