// ClusterIP / NodePort / healthCheckNodePort allocation for Services, as the
// real API server's service REST storage does (pkg/registry/core/service/
// storage/alloc.go): honour requested values when free (422 otherwise), keep
// the values of an update that omits them, allocate the rest from the upper
// band of each range, and release what an object no longer uses. ClusterIPs
// come from one range per configured family (dual-stack); which families a
// Service gets is decided by initIPFamilyFields (ip-families.ts).
import { KubeRouterError } from '../../../errors.js';
import { CidrRange, canonicalIP, ipFamily, parseCidrList } from './cidr.js';
import { CLUSTER_IP_NONE } from './constants.js';
import { AllocationError } from './errors.js';
import { checkClusterIPsImmutable, initIPFamilyFields, isHeadless, patchAllocatedIPs, syncClusterIP } from './ip-families.js';
import { OffsetAllocator, rangeOffset } from './offset-allocator.js';
import { objKey, type AddressType, type ServiceObj } from './types.js';

export interface ServiceAllocatorOptions {
  /** One service CIDR, or one per family (at most two; the first is the cluster's primary family). */
  serviceCidr: string | readonly string[];
  nodePortRange: [number, number];
  /** Random source for the scans (tests pass a fixed one). */
  random?: () => number;
}

export interface AllocateOptions {
  /** The stored object an update replaces: its values fill omitted fields. */
  old?: ServiceObj;
  /** false: only record values already present (startup pass), never pick new ones. */
  autoAllocate?: boolean;
}

interface Held {
  /** The ClusterIP slot held in each family's pool. */
  ips: Map<AddressType, number>;
  ports: Set<number>;
}

interface Txn {
  key: string;
  obj: string;
  auto: boolean;
  ips: Map<AddressType, number>;
  ports: Set<number>;
  /** Offsets newly taken by this call, given back if it fails. */
  taken: { a: OffsetAllocator; off: number }[];
}

const MAX_IP_SLOTS = 1 << 24;

/**
 * The ClusterIP range of one family. Slot i is the address at offset i+1:
 * never the network address, nor the IPv4 broadcast address.
 */
class IpPool {
  readonly slots: number;
  readonly alloc: OffsetAllocator;

  constructor(readonly range: CidrRange, random: (() => number) | undefined) {
    const usable = range.total - (range.family === 'IPv4' ? 2n : 1n);
    this.slots = Number(usable > BigInt(MAX_IP_SLOTS) ? BigInt(MAX_IP_SLOTS) : usable < 0n ? 0n : usable);
    this.alloc = new OffsetAllocator(this.slots, 'random', rangeOffset(this.slots, 16, 256, 16), random);
  }

  slotOf(ip: string): number | undefined {
    const off = this.range.offsetOf(ip);
    if (off === undefined || off < 1n || off > BigInt(this.slots)) return undefined;
    return Number(off) - 1;
  }

  ipOf(slot: number): string {
    return canonicalIP(this.range.ipAt(BigInt(slot) + 1n));
  }
}

export function serviceType(svc: ServiceObj): NonNullable<ServiceObj['spec']['type']> {
  return svc.spec?.type ?? 'ClusterIP';
}
export function needsClusterIP(svc: ServiceObj): boolean {
  return serviceType(svc) !== 'ExternalName';
}
export function needsNodePorts(svc: ServiceObj): boolean {
  const t = serviceType(svc);
  return t === 'NodePort' || (t === 'LoadBalancer' && svc.spec.allocateLoadBalancerNodePorts !== false);
}
export function needsHealthCheckNodePort(svc: ServiceObj): boolean {
  return serviceType(svc) === 'LoadBalancer' && svc.spec.externalTrafficPolicy === 'Local';
}

export class ServiceAllocator {
  /** The primary family's service CIDR. */
  readonly range: CidrRange;
  /** Every configured service CIDR, primary first. */
  readonly ranges: readonly CidrRange[];
  private readonly pools = new Map<AddressType, IpPool>();
  private readonly ports: OffsetAllocator;
  private readonly held = new Map<string, Held>();
  private readonly portLo: number;
  private readonly portHi: number;

  constructor(opts: ServiceAllocatorOptions) {
    this.ranges = parseCidrList(opts.serviceCidr, 'service CIDR', 'serviceCidr');
    this.range = this.ranges[0] as CidrRange;
    for (const r of this.ranges) this.pools.set(r.family, new IpPool(r, opts.random));
    [this.portLo, this.portHi] = opts.nodePortRange;
    const nPorts = this.portHi - this.portLo + 1;
    this.ports = new OffsetAllocator(nPorts, 'random', rangeOffset(nPorts, 16, 128, 32), opts.random);
  }

  /** The configured service families, primary first. */
  get families(): AddressType[] {
    return this.ranges.map((r) => r.family);
  }

  /** Holder key (`ns/name`) of a ClusterIP, if allocated. */
  ipOwner(ip: string): string | undefined {
    const fam = ipFamily(ip);
    const pool = fam ? this.pools.get(fam) : undefined;
    const slot = pool?.slotOf(ip);
    return pool && slot !== undefined ? pool.alloc.owner(slot) : undefined;
  }

  portOwner(port: number): string | undefined {
    return this.inPortRange(port) ? this.ports.owner(port - this.portLo) : undefined;
  }

  /** What `key` holds now (ClusterIPs in the Service's family order). */
  heldBy(key: string): { clusterIPs: string[]; nodePorts: number[] } {
    const h = this.held.get(key);
    return {
      clusterIPs: [...(h?.ips ?? [])].map(([fam, s]) => this.pool(fam).ipOf(s)),
      nodePorts: [...(h?.ports ?? [])].map((p) => p + this.portLo).sort((a, b) => a - b),
    };
  }

  /** Frees everything `key` holds (Service deleted): every family's ClusterIP and the ports. */
  release(key: string): void {
    const h = this.held.get(key);
    if (!h) return;
    for (const [fam, s] of h.ips) this.pool(fam).alloc.release(s, key);
    for (const p of h.ports) this.ports.release(p, key);
    this.held.delete(key);
  }

  /**
   * Returns a copy of `svc` with its ClusterIP(s), IP families, NodePorts and
   * healthCheckNodePort filled in and recorded under `ns/name`; throws
   * AllocationError (nothing changed) when a requested value is taken or
   * out of range, the family fields are inconsistent, or a range is full.
   */
  allocate(svc: ServiceObj, opts: AllocateOptions = {}): ServiceObj {
    const out = structuredClone(svc);
    out.spec ??= {};
    const old = opts.old;
    const t: Txn = {
      key: objKey(svc.metadata),
      obj: svc.metadata.name,
      auto: opts.autoAllocate !== false,
      ips: new Map(),
      ports: new Set(),
      taken: [],
    };
    if (old) dropTypeDependentFields(out, old);
    try {
      if (needsClusterIP(out)) this.clusterIPs(out, old, t);
      this.nodePorts(out, old, t);
      this.healthCheck(out, old, t);
    } catch (err) {
      for (const { a, off } of t.taken) a.release(off, t.key);
      throw err;
    }
    this.commit(t);
    return out;
  }

  /** Frees what the key held before and no longer uses (a downgrade's secondary IP, dropped ports). */
  private commit(t: Txn): void {
    const prev = this.held.get(t.key);
    for (const [fam, s] of prev?.ips ?? []) if (t.ips.get(fam) !== s) this.pool(fam).alloc.release(s, t.key);
    for (const p of prev?.ports ?? []) if (!t.ports.has(p)) this.ports.release(p, t.key);
    if (t.ips.size || t.ports.size) this.held.set(t.key, { ips: t.ips, ports: t.ports });
    else this.held.delete(t.key);
  }

  private clusterIPs(svc: ServiceObj, old: ServiceObj | undefined, t: Txn): void {
    const spec = svc.spec;
    const oldWithIPs = old && needsClusterIP(old) ? old : undefined;
    patchAllocatedIPs(spec, oldWithIPs);
    syncClusterIP(svc);
    checkClusterIPsImmutable(svc, oldWithIPs);
    initIPFamilyFields(svc, oldWithIPs, this.families);
    if (isHeadless(spec)) {
      spec.clusterIP = CLUSTER_IP_NONE;
      spec.clusterIPs = [CLUSTER_IP_NONE];
      return;
    }
    const requested = spec.clusterIPs ?? [];
    const wanted = (spec.ipFamilies ?? []).map((fam, i) => this.familyIP(fam, requested[i] ?? '', requested, t));
    const ips = wanted.filter((ip): ip is string => ip !== undefined);
    // Recording only (startup pass): what is there is held, the spec is left as it was.
    if (ips.length === 0 || ips.length !== wanted.length) return;
    spec.clusterIPs = ips;
    spec.clusterIP = ips[0];
  }

  /** The ClusterIP of family `fam`: the requested one when free and in range, else the held or a new one. */
  private familyIP(fam: AddressType, ip: string, requested: string[], t: Txn): string | undefined {
    const pool = this.pools.get(fam);
    // Only an unchanged PreferDualStack update gets here with a family the
    // cluster no longer serves: its IP is kept as is, untracked (upstream
    // neither releases nor re-validates it).
    if (!pool) return ip || undefined;
    let slot: number | undefined;
    if (ip) {
      slot = pool.slotOf(ip);
      if (slot === undefined) {
        throw new AllocationError('Service', t.obj, 'spec.clusterIPs', requested,
          `failed to allocate IP ${ip}: provided IP is not in the valid range. The range of valid IPs is ${pool.range.cidr}`);
      }
      this.take(pool.alloc, slot, t, () =>
        new AllocationError('Service', t.obj, 'spec.clusterIPs', requested, `failed to allocate IP ${ip}: provided IP is already allocated`));
    } else {
      if (!t.auto) return undefined;
      slot = this.held.get(t.key)?.ips.get(fam) ?? this.next(pool.alloc, t);
      if (slot === undefined) {
        throw new AllocationError('Service', t.obj, 'spec.clusterIPs', requested, `failed to allocate a serviceIP: range ${pool.range.cidr} is full`, 500);
      }
    }
    t.ips.set(fam, slot);
    return pool.ipOf(slot);
  }

  private nodePorts(svc: ServiceObj, old: ServiceObj | undefined, t: Txn): void {
    if (!needsNodePorts(svc)) return;
    const ports = svc.spec.ports ?? [];
    if (old && needsNodePorts(old)) {
      // patchAllocatedValues: fill omitted nodePorts by port name.
      const inNew = new Set(ports.map((p) => p.nodePort).filter((n) => n));
      const byName = new Map((old.spec.ports ?? []).map((p) => [p.name ?? '', p.nodePort ?? 0]));
      for (const p of ports) {
        const prev = byName.get(p.name ?? '');
        if (!p.nodePort && prev && !inNew.has(prev)) p.nodePort = prev;
      }
    }
    // One nodePort per service port number (shared across protocols).
    const byPortNum = new Map<number, number>();
    for (const p of ports) if (p.nodePort && !byPortNum.has(p.port)) byPortNum.set(p.port, p.nodePort);
    const spare = [...(this.held.get(t.key)?.ports ?? [])];
    ports.forEach((p, i) => {
      const np = p.nodePort || byPortNum.get(p.port) || 0;
      const field = `spec.ports[${i}].nodePort`;
      if (np) {
        this.requestPort(np, field, t);
        p.nodePort = np;
      } else {
        if (!t.auto) return;
        const got = this.autoPort(spare, t);
        if (got === undefined) {
          throw new AllocationError('Service', t.obj, field, 0, 'failed to allocate a nodePort: range is full', 500);
        }
        p.nodePort = got;
        byPortNum.set(p.port, got);
      }
    });
  }

  private healthCheck(svc: ServiceObj, old: ServiceObj | undefined, t: Txn): void {
    if (!needsHealthCheckNodePort(svc)) return;
    const spec = svc.spec;
    const field = 'spec.healthCheckNodePort';
    let hc = spec.healthCheckNodePort || 0;
    if (!hc && old && needsHealthCheckNodePort(old)) hc = old.spec.healthCheckNodePort || 0;
    if (hc) {
      this.requestPort(hc, field, t);
    } else {
      if (!t.auto) return;
      const spare = [...(this.held.get(t.key)?.ports ?? [])];
      const got = this.autoPort(spare, t);
      if (got === undefined) {
        throw new AllocationError('Service', t.obj, field, 0, 'failed to allocate a nodePort: range is full', 500);
      }
      hc = got;
    }
    spec.healthCheckNodePort = hc;
  }

  private requestPort(port: number, field: string, t: Txn): void {
    if (!this.inPortRange(port)) {
      throw new AllocationError('Service', t.obj, field, port,
        `provided port is not in the valid range. The range of valid ports is ${this.portLo}-${this.portHi}`);
    }
    const off = port - this.portLo;
    if (t.ports.has(off)) return;
    this.take(this.ports, off, t, () =>
      new AllocationError('Service', t.obj, field, port, 'provided port is already allocated'));
    t.ports.add(off);
  }

  /** A port this key held before and has not used yet in this call, else a new one. */
  private autoPort(spare: number[], t: Txn): number | undefined {
    let off = spare.find((s) => !t.ports.has(s));
    if (off === undefined) off = this.next(this.ports, t);
    if (off === undefined) return undefined;
    t.ports.add(off);
    return off + this.portLo;
  }

  private take(a: OffsetAllocator, off: number, t: Txn, err: () => AllocationError): void {
    const had = a.owner(off) === t.key;
    if (!a.allocate(off, t.key)) throw err();
    if (!had) t.taken.push({ a, off });
  }

  private next(a: OffsetAllocator, t: Txn): number | undefined {
    const off = a.allocateNext(t.key);
    if (off !== undefined) t.taken.push({ a, off });
    return off;
  }

  /** The pool of a family something is held in (only configured families are ever held). */
  private pool(fam: AddressType): IpPool {
    const p = this.pools.get(fam);
    if (!p) throw new KubeRouterError('KR_ERR_INTERNAL', `no ClusterIP range for ${fam}`, { field: 'serviceCidr', value: fam });
    return p;
  }

  private inPortRange(port: number): boolean {
    return Number.isInteger(port) && port >= this.portLo && port <= this.portHi;
  }

}

/**
 * On update, values that only made sense for the old type are dropped when
 * the user left them as they were (upstream's dropTypeDependentFields).
 */
function dropTypeDependentFields(svc: ServiceObj, old: ServiceObj): void {
  const spec = svc.spec;
  if (needsClusterIP(old) && !needsClusterIP(svc) && spec.clusterIP === old.spec.clusterIP) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.ipFamilies;
    delete spec.ipFamilyPolicy;
  }
  if (needsNodePorts(old) && !needsNodePorts(svc)) {
    const oldPorts = new Set((old.spec.ports ?? []).map((p) => p.nodePort));
    for (const p of spec.ports ?? []) if (p.nodePort && oldPorts.has(p.nodePort)) delete p.nodePort;
  }
  if (needsHealthCheckNodePort(old) && !needsHealthCheckNodePort(svc) && spec.healthCheckNodePort === old.spec.healthCheckNodePort) {
    delete spec.healthCheckNodePort;
  }
}
