// Typed client of gobgpd's v3 gRPC API (apipb.GobgpApi) over @grpc/grpc-js.
// proto/ is loaded at run time with @grpc/proto-loader:
//   keepCase      field names stay upstream's snake_case (wire.ts)
//   enums: String enum values by name, as the `gobgp` CLI prints them
//   longs: Number uint64 counters and timers fit easily in 2^53
//   defaults      every scalar present on reads; unset messages are null
//   oneofs        WatchEventResponse.event names the member set
//   json          google.protobuf.Any (un)packed as {'@type', ...fields}
// Every unary and listing call has a deadline; WatchEvent is open-ended.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/proto-loader';
import { bgpCallError, type CallSubject } from './client-errors.js';
import { decodePath, encodePath, wireFamily } from './codec.js';
import {
  decodeAssignment,
  decodeDefinedSet,
  decodeGlobal,
  decodePeer,
  decodePolicy,
  encodeAssignment,
  encodeDefinedSet,
  encodeDirection,
  encodeGlobal,
  encodePeer,
  encodePolicy,
} from './codec-config.js';
import { PROTO_FILES, protoDir } from './proto-files.js';
import type {
  BgpPath,
  DefinedSet,
  GlobalConfig,
  IpFamily,
  PeerSpec,
  PeerStatus,
  Policy,
  PolicyAssignment,
  PolicyDirection,
} from './types.js';
import { readTableEvent } from './watch-decode.js';
import type { WireDestination, WirePath, WirePeer, WireTableType, WireWatchEventResponse } from './wire.js';

export interface GobgpClientOptions {
  /** host:port of gobgpd's API, e.g. '127.0.0.1:50051'. */
  address: string;
  /** Deadline of each unary call and listing, in ms. Default 5000. */
  timeoutMs?: number;
}

export type RibTable = 'global' | 'local' | 'adj-in' | 'adj-out';

export interface ListPathOptions {
  table?: RibTable;
  family: IpFamily;
  /** Peer address, for adj-in / adj-out. */
  neighbor?: string;
  /** Exact prefixes to look up; all when absent. */
  prefixes?: string[];
  /** Include paths rejected by import policy (adj-in), marked `filtered`. */
  enableFiltered?: boolean;
}

export interface Destination {
  prefix: string;
  paths: BgpPath[];
}

export interface WatchOptions {
  /** Best-path changes of the global RIB. */
  best?: boolean;
  /** Paths received from peers before policy. */
  adjIn?: boolean;
  /** Peer state changes. */
  peers?: boolean;
  /** Send the current table / peers first. Default true. */
  init?: boolean;
}

export interface WatchHandlers {
  onPaths?: (paths: BgpPath[]) => void;
  onPeer?: (peer: PeerStatus, type: 'init' | 'end-of-init' | 'state' | 'unknown') => void;
  /** The stream is over (gobgpd gone or error); not called after cancel(). Re-issue the watch. */
  onEnd?: (err?: Error) => void;
}

export interface WatchHandle {
  cancel(): void;
}

const TABLES: Record<RibTable, WireTableType> = { global: 'GLOBAL', local: 'LOCAL', 'adj-in': 'ADJ_IN', 'adj-out': 'ADJ_OUT' };

type Methods = Record<string, MethodDefinition<object, unknown>>;

let methodsCache: Methods | undefined;

/** The loaded apipb.GobgpApi method definitions (serialisers); exported for the codec tests. */
export function loadMethods(): Methods {
  if (methodsCache) return methodsCache;
  const def = protoLoader.loadSync([...PROTO_FILES], {
    includeDirs: [protoDir()],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
    oneofs: true,
    json: true,
  });
  // The service entry of a package definition is a ServiceDefinition (record of methods).
  methodsCache = def['apipb.GobgpApi'] as unknown as Methods;
  return methodsCache;
}

export class GobgpClient {
  readonly address: string;
  private readonly timeoutMs: number;
  private readonly client: grpc.Client;
  private readonly methods: Methods;

  constructor(opts: GobgpClientOptions) {
    this.address = opts.address;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.methods = loadMethods();
    this.client = new grpc.Client(opts.address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  close(): void {
    this.client.close();
  }

  /** Resolves once the channel is connected; rejects after timeoutMs. */
  waitForReady(timeoutMs = this.timeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => {
        if (err) reject(bgpCallError('connect', err, {}, this.address));
        else resolve();
      });
    });
  }

  private deadline(): grpc.CallOptions {
    return { deadline: Date.now() + this.timeoutMs };
  }

  private unary<T>(rpc: string, req: object, subject: CallSubject = {}): Promise<T> {
    const m = this.methods[rpc];
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        new grpc.Metadata(),
        this.deadline(),
        (err, res) => {
          if (err) reject(bgpCallError(rpc, err, subject, this.address));
          // The deserialiser returns the plain object whose shape wire.ts describes.
          else resolve(res as T);
        },
      );
    });
  }

  private list<T>(rpc: string, req: object, subject: CallSubject = {}): Promise<T[]> {
    const m = this.methods[rpc];
    return new Promise((resolve, reject) => {
      const out: T[] = [];
      let call: grpc.ClientReadableStream<unknown>;
      try {
        call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, req, new grpc.Metadata(), this.deadline());
      } catch (err) {
        reject(bgpCallError(rpc, err, subject, this.address));
        return;
      }
      call.on('data', (d: unknown) => out.push(d as T));
      call.on('error', (err: Error) => reject(bgpCallError(rpc, err, subject, this.address)));
      call.on('end', () => resolve(out));
    });
  }

  // ---- global ----

  async startBgp(global: GlobalConfig): Promise<void> {
    await this.unary('StartBgp', { global: encodeGlobal(global) });
  }

  async stopBgp(): Promise<void> {
    await this.unary('StopBgp', {});
  }

  /** gobgpd's global config; asn 0 means StartBgp has not been called (a fresh gobgpd). */
  async getBgp(): Promise<GlobalConfig> {
    const res = await this.unary<{ global?: Parameters<typeof decodeGlobal>[0] }>('GetBgp', {});
    return decodeGlobal(res.global);
  }

  // ---- peers ----

  async addPeer(peer: PeerSpec): Promise<void> {
    await this.unary('AddPeer', { peer: encodePeer(peer) }, { peer: peer.neighborAddress });
  }

  /** Returns whether gobgpd asks for a soft reset in (always false with doSoftResetIn). */
  async updatePeer(peer: PeerSpec, doSoftResetIn = true): Promise<{ needsSoftResetIn: boolean }> {
    const res = await this.unary<{ needs_soft_reset_in?: boolean }>(
      'UpdatePeer',
      { peer: encodePeer(peer), do_soft_reset_in: doSoftResetIn },
      { peer: peer.neighborAddress },
    );
    return { needsSoftResetIn: res.needs_soft_reset_in === true };
  }

  async deletePeer(address: string): Promise<void> {
    await this.unary('DeletePeer', { address }, { peer: address });
  }

  /** Every peer (or the one at `address`) with its config and state. */
  async listPeers(address?: string): Promise<PeerStatus[]> {
    const res = await this.list<{ peer?: WirePeer | null }>(
      'ListPeer',
      { address: address ?? '', enableAdvertised: true },
      address ? { peer: address } : {},
    );
    return res.flatMap((r) => (r.peer ? [decodePeer(r.peer)] : []));
  }

  // ---- paths ----

  /** Originates (or replaces) a path in the global RIB; returns its uuid (hex). */
  async addPath(path: BgpPath): Promise<string> {
    const res = await this.unary<{ uuid?: Uint8Array }>(
      'AddPath',
      { table_type: 'GLOBAL', path: encodePath({ ...path, isWithdraw: false }) },
      { prefix: path.prefix },
    );
    return Buffer.from(res.uuid ?? []).toString('hex');
  }

  /** Withdraws a locally originated path (the path still carries its next hop, as gobgpd requires). */
  async deletePath(path: BgpPath): Promise<void> {
    await this.unary(
      'DeletePath',
      { table_type: 'GLOBAL', family: wireFamily(path.family), path: encodePath({ ...path, isWithdraw: true }) },
      { prefix: path.prefix },
    );
  }

  async listPaths(opts: ListPathOptions): Promise<Destination[]> {
    const res = await this.list<{ destination?: WireDestination | null }>(
      'ListPath',
      {
        table_type: TABLES[opts.table ?? 'global'],
        name: opts.neighbor ?? '',
        family: wireFamily(opts.family),
        prefixes: (opts.prefixes ?? []).map((prefix) => ({ prefix, type: 'EXACT' })),
        sort_type: 'PREFIX',
        enable_filtered: opts.enableFiltered ?? false,
      },
      opts.neighbor ? { peer: opts.neighbor } : {},
    );
    const out: Destination[] = [];
    for (const r of res) {
      const d = r.destination;
      if (!d) continue;
      const paths = (d.paths ?? []).flatMap((p) => {
        const bp = decodePath(p);
        return bp ? [bp] : [];
      });
      out.push({ prefix: paths[0]?.prefix ?? d.prefix ?? '', paths });
    }
    return out;
  }

  /** Streams table and/or peer events until cancel() or the stream ends. */
  watch(opts: WatchOptions, handlers: WatchHandlers): WatchHandle {
    const m = this.methods.WatchEvent;
    const init = opts.init ?? true;
    const filters: { type: string; init: boolean }[] = [];
    if (opts.best) filters.push({ type: 'BEST', init });
    if (opts.adjIn) filters.push({ type: 'ADJIN', init });
    const req: Record<string, unknown> = {};
    if (opts.peers) req.peer = {};
    if (filters.length > 0) req.table = { filters };
    // Table events read straight from the wire (watch-decode.ts), the rest by proto-loader.
    const deserialize = (buf: Buffer): WireWatchEventResponse => {
      const paths = readTableEvent(buf);
      return paths ? { event: 'table', table: { paths } } : (m.responseDeserialize(buf) as WireWatchEventResponse);
    };
    const call = this.client.makeServerStreamRequest(m.path, m.requestSerialize, deserialize, req, new grpc.Metadata(), {});
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      handlers.onEnd?.(err);
    };
    call.on('data', (d: unknown) => {
      const ev = d as WireWatchEventResponse;
      if (ev.table && handlers.onPaths) {
        const paths = (ev.table.paths ?? []).flatMap((p: WirePath) => {
          const bp = decodePath(p);
          return bp ? [bp] : [];
        });
        if (paths.length > 0) handlers.onPaths(paths);
      } else if (ev.peer?.peer && handlers.onPeer) {
        const t = String(ev.peer.type ?? 'UNKNOWN').toLowerCase().replace(/_/g, '-');
        const type = t === 'init' || t === 'end-of-init' || t === 'state' ? t : 'unknown';
        handlers.onPeer(decodePeer(ev.peer.peer), type);
      }
    });
    call.on('error', (err: Error) => finish(bgpCallError('WatchEvent', err, {}, this.address)));
    call.on('end', () => finish());
    return {
      cancel: () => {
        done = true;
        call.cancel();
      },
    };
  }

  // ---- defined sets ----

  /** Creates the set, or adds members to an existing one. */
  async addDefinedSet(set: DefinedSet): Promise<void> {
    await this.unary('AddDefinedSet', { defined_set: encodeDefinedSet(set) }, { definedSet: set.name });
  }

  /** all: delete the set; otherwise remove the listed members. */
  async deleteDefinedSet(set: DefinedSet, all: boolean): Promise<void> {
    await this.unary('DeleteDefinedSet', { defined_set: encodeDefinedSet(set), all }, { definedSet: set.name });
  }

  async listDefinedSets(type: DefinedSet['type'], name?: string): Promise<DefinedSet[]> {
    const res = await this.list<{ defined_set?: Parameters<typeof decodeDefinedSet>[0] | null }>(
      'ListDefinedSet',
      { defined_type: type === 'prefix' ? 'PREFIX' : 'NEIGHBOR', name: name ?? '' },
      name ? { definedSet: name } : {},
    );
    return res.flatMap((r) => {
      const s = r.defined_set ? decodeDefinedSet(r.defined_set) : undefined;
      return s ? [s] : [];
    });
  }

  // ---- policies ----

  async addPolicy(policy: Policy, referExistingStatements = false): Promise<void> {
    await this.unary(
      'AddPolicy',
      { policy: encodePolicy(policy), refer_existing_statements: referExistingStatements },
      { policy: policy.name },
    );
  }

  /** Deletes a policy and (unless preserveStatements) its statements. */
  async deletePolicy(name: string, preserveStatements = false): Promise<void> {
    await this.unary('DeletePolicy', { policy: { name }, preserve_statements: preserveStatements, all: true }, { policy: name });
  }

  async listPolicies(name?: string): Promise<Policy[]> {
    const res = await this.list<{ policy?: Parameters<typeof decodePolicy>[0] | null }>(
      'ListPolicy',
      { name: name ?? '' },
      name ? { policy: name } : {},
    );
    return res.flatMap((r) => (r.policy ? [decodePolicy(r.policy)] : []));
  }

  async addPolicyAssignment(a: PolicyAssignment): Promise<void> {
    await this.unary('AddPolicyAssignment', { assignment: encodeAssignment(a) }, { assignment: `${a.name}/${a.direction}` });
  }

  /** Replaces the policy list and default action of an assignment in one step. */
  async setPolicyAssignment(a: PolicyAssignment): Promise<void> {
    await this.unary('SetPolicyAssignment', { assignment: encodeAssignment(a) }, { assignment: `${a.name}/${a.direction}` });
  }

  /** all: remove every policy of the assignment; otherwise the listed ones. */
  async deletePolicyAssignment(a: PolicyAssignment, all: boolean): Promise<void> {
    await this.unary(
      'DeletePolicyAssignment',
      { assignment: encodeAssignment(a), all },
      { assignment: `${a.name}/${a.direction}` },
    );
  }

  async listPolicyAssignments(name = 'global', direction?: PolicyDirection): Promise<PolicyAssignment[]> {
    const res = await this.list<{ assignment?: Parameters<typeof decodeAssignment>[0] | null }>(
      'ListPolicyAssignment',
      { name, direction: direction ? encodeDirection(direction) : 'UNKNOWN' },
      { assignment: name },
    );
    return res.flatMap((r) => {
      const a = r.assignment ? decodeAssignment(r.assignment) : undefined;
      return a ? [a] : [];
    });
  }
}
