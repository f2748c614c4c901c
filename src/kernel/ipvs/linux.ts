// The IPVS table of this process's network namespace over generic netlink
// (no ipvsadm in the data path). One socket for everything, serialized;
// batches pipelined on it; optional extra sockets only to read destinations
// of many services in parallel (the kernel dumps destinations one service
// per request, and one dump at a time per socket).

import { KubeRouterError } from '../../errors.js';
import { Cmd, IPVS_GENL_NAME, cmdName } from './attrs.js';
import { ChannelError, GenlChannel } from '../netlink/channel.js';
import {
  decodeConfig,
  decodeDestMessage,
  decodeInfo,
  decodeServiceMessage,
  encodeBare,
  encodeDestCmd,
  encodeServiceCmd,
  encodeServiceIdentity,
  encodeSetConfig,
} from './codec.js';
import { Errno, IpvsError } from './errors.js';
import {
  renderDestination,
  renderService,
  sortDestinations,
  sortServices,
  type Ipvs,
  type IpvsBatchResult,
  type IpvsDestination,
  type IpvsDestinationEntry,
  type IpvsInfo,
  type IpvsOp,
  type IpvsService,
  type IpvsServiceEntry,
  type IpvsServiceWithDestinations,
  type IpvsTimeouts,
} from './types.js';

export const IPVS_FAMILY_MISSING = 'IPVS generic netlink family not found: is the ip_vs module loaded?';

export interface LinuxIpvsOptions {
  /** Per request. Default 5 s. */
  timeoutMs?: number;
  /** Sockets used by listAll to dump destinations in parallel. Default 4. */
  dumpSockets?: number;
  /** Requests in flight in a batch. Default 256. */
  window?: number;
}

interface Encoded {
  cmd: number;
  payload: Buffer;
  service: string;
  destination?: string;
}

function encodeOp(op: IpvsOp): Encoded {
  const service = renderService(op.service);
  switch (op.op) {
    case 'addService':
      return { cmd: Cmd.NEW_SERVICE, payload: encodeServiceCmd(Cmd.NEW_SERVICE, op.service), service };
    case 'updateService':
      return { cmd: Cmd.SET_SERVICE, payload: encodeServiceCmd(Cmd.SET_SERVICE, op.service), service };
    case 'deleteService':
      return { cmd: Cmd.DEL_SERVICE, payload: encodeServiceIdentity(Cmd.DEL_SERVICE, op.service), service };
    case 'addDestination':
    case 'updateDestination':
    case 'deleteDestination': {
      const cmd = op.op === 'addDestination' ? Cmd.NEW_DEST : op.op === 'updateDestination' ? Cmd.SET_DEST : Cmd.DEL_DEST;
      return { cmd, payload: encodeDestCmd(cmd, op.service, op.destination), service, destination: renderDestination(op.destination) };
    }
  }
}

function toIpvsError(e: unknown, call: string, service?: string, destination?: string): Error {
  if (e instanceof ChannelError) {
    return new IpvsError({ call, errno: e.errno, service, destination }, e.timedOut ? e.message : undefined, { cause: e });
  }
  if (e instanceof KubeRouterError) return e;
  return new IpvsError({ call, errno: 0, service, destination }, (e as Error).message, { cause: e });
}

export class LinuxIpvs implements Ipvs {
  private readonly main: GenlChannel;
  private readonly extra: GenlChannel[] = [];
  private family: Promise<number> | undefined;

  constructor(private readonly opts: LinuxIpvsOptions = {}) {
    this.main = new GenlChannel({ timeoutMs: opts.timeoutMs });
  }

  /** Resolves the family id once (again after a failure). */
  private familyId(): Promise<number> {
    if (!this.family) {
      this.family = this.main.resolveFamily(IPVS_GENL_NAME).then((id) => {
        if (id === undefined) throw new KubeRouterError('KR_ERR_KERNEL', IPVS_FAMILY_MISSING, { call: 'CTRL_CMD_GETFAMILY', value: IPVS_GENL_NAME });
        return id;
      });
      this.family.catch(() => {
        this.family = undefined;
      });
    }
    return this.family;
  }

  private async call(cmd: number, payload: Buffer, dump: boolean, service?: string, destination?: string, ch = this.main): Promise<Buffer[]> {
    const family = await this.familyId();
    try {
      return await ch.request(family, payload, dump);
    } catch (e) {
      throw toIpvsError(e, cmdName(cmd), service, destination);
    }
  }

  private decode<T>(cmd: number, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw toIpvsError(e, cmdName(cmd));
    }
  }

  async listServices(): Promise<IpvsServiceEntry[]> {
    const msgs = await this.call(Cmd.GET_SERVICE, encodeBare(Cmd.GET_SERVICE), true);
    return this.decode(Cmd.GET_SERVICE, () => sortServices(msgs.map(decodeServiceMessage)));
  }

  private async dests(service: IpvsService, ch: GenlChannel): Promise<IpvsDestinationEntry[]> {
    const msgs = await this.call(Cmd.GET_DEST, encodeServiceIdentity(Cmd.GET_DEST, service), true, renderService(service), undefined, ch);
    return this.decode(Cmd.GET_DEST, () => sortDestinations(msgs.map((m) => decodeDestMessage(m, service.af))));
  }

  listDestinations(service: IpvsService): Promise<IpvsDestinationEntry[]> {
    return this.dests(service, this.main);
  }

  async getService(service: IpvsService): Promise<IpvsServiceEntry | undefined> {
    let msgs: Buffer[];
    try {
      msgs = await this.call(Cmd.GET_SERVICE, encodeServiceIdentity(Cmd.GET_SERVICE, service), false, renderService(service));
    } catch (e) {
      if (e instanceof IpvsError && e.errno === Errno.ESRCH) return undefined;
      throw e;
    }
    return msgs.length === 0 ? undefined : this.decode(Cmd.GET_SERVICE, () => decodeServiceMessage(msgs[0]));
  }

  async listAll(): Promise<IpvsServiceWithDestinations[]> {
    const services = await this.listServices();
    const n = Math.max(1, Math.min(this.opts.dumpSockets ?? 4, services.length));
    while (this.extra.length < n - 1) this.extra.push(new GenlChannel({ timeoutMs: this.opts.timeoutMs }));
    const channels = [this.main, ...this.extra.slice(0, n - 1)];
    const out: IpvsServiceWithDestinations[] = services.map((service) => ({ service, destinations: [] }));
    let next = 0;
    await Promise.all(
      channels.map(async (ch) => {
        while (next < out.length) {
          const item = out[next++];
          item.destinations = await this.dests(item.service, ch);
        }
      }),
    );
    return out;
  }

  private async one(op: IpvsOp): Promise<void> {
    const e = encodeOp(op);
    await this.call(e.cmd, e.payload, false, e.service, e.destination);
  }

  addService(service: IpvsService): Promise<void> {
    return this.one({ op: 'addService', service });
  }
  updateService(service: IpvsService): Promise<void> {
    return this.one({ op: 'updateService', service });
  }
  deleteService(service: IpvsService): Promise<void> {
    return this.one({ op: 'deleteService', service });
  }
  addDestination(service: IpvsService, destination: IpvsDestination): Promise<void> {
    return this.one({ op: 'addDestination', service, destination });
  }
  updateDestination(service: IpvsService, destination: IpvsDestination): Promise<void> {
    return this.one({ op: 'updateDestination', service, destination });
  }
  deleteDestination(service: IpvsService, destination: IpvsDestination): Promise<void> {
    return this.one({ op: 'deleteDestination', service, destination });
  }

  async apply(ops: readonly IpvsOp[]): Promise<IpvsBatchResult> {
    if (ops.length === 0) return { applied: 0, errors: [] };
    const family = await this.familyId();
    const encoded = ops.map(encodeOp);
    const results = await this.main.pipeline(
      family,
      encoded.map((e) => e.payload),
      this.opts.window,
    );
    const errors: IpvsBatchResult['errors'] = [];
    results.forEach((r, index) => {
      if (r) {
        const e = encoded[index];
        errors.push({ index, op: ops[index], error: toIpvsError(r, cmdName(e.cmd), e.service, e.destination) });
      }
    });
    return { applied: ops.length - errors.length, errors };
  }

  async getInfo(): Promise<IpvsInfo> {
    const [reply] = await this.call(Cmd.GET_INFO, encodeBare(Cmd.GET_INFO), false);
    return this.decode(Cmd.GET_INFO, () => decodeInfo(reply));
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    const [reply] = await this.call(Cmd.GET_CONFIG, encodeBare(Cmd.GET_CONFIG), false);
    return this.decode(Cmd.GET_CONFIG, () => decodeConfig(reply));
  }

  async setTimeouts(t: Partial<IpvsTimeouts>): Promise<void> {
    await this.call(Cmd.SET_CONFIG, encodeSetConfig(t), false);
  }

  async flush(): Promise<void> {
    await this.call(Cmd.FLUSH, encodeBare(Cmd.FLUSH), false);
  }

  close(): void {
    this.main.close();
    for (const ch of this.extra) ch.close();
    this.extra.length = 0;
  }
}

// Compile-time conformance check.
const _conforms: (o: LinuxIpvsOptions) => Ipvs = (o) => new LinuxIpvs(o);
void _conforms;
