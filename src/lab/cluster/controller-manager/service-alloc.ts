// ClusterIP / NodePort / healthCheckNodePort allocation for Services, as the
// real API server's service REST storage does (pkg/registry/core/service/
// storage/alloc.go): honour requested values when free (422 otherwise), keep
// the values of an update that omits them, allocate the rest from the upper
// band of each range, and release what an object no longer uses.
import { CidrRange, canonicalIP } from './cidr.js';
import { CLUSTER_IP_NONE } from './constants.js';
import { AllocationError } from './errors.js';
import { OffsetAllocator, rangeOffset } from './offset-allocator.js';
import { objKey, type ServiceObj } from './types.js';

export interface ServiceAllocatorOptions {
  serviceCidr: string;
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
  ips: Set<number>;
  ports: Set<number>;
}

interface Txn {
  key: string;
  obj: string;
  auto: boolean;
  ips: Set<number>;
  ports: Set<number>;
  takenIps: number[];
  takenPorts: number[];
}

const MAX_IP_SLOTS = 1 << 24;

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
  readonly range: CidrRange;
  private readonly ipSlots: number;
  private readonly ips: OffsetAllocator;
  private readonly ports: OffsetAllocator;
  private readonly held = new Map<string, Held>();
  private readonly portLo: number;
  private readonly portHi: number;

  constructor(opts: ServiceAllocatorOptions) {
    this.range = new CidrRange(opts.serviceCidr, 'service CIDR');
    // Usable addresses: not the network address, not the IPv4 broadcast.
    const usable = this.range.total - (this.range.family === 'IPv4' ? 2n : 1n);
    this.ipSlots = Number(usable > BigInt(MAX_IP_SLOTS) ? BigInt(MAX_IP_SLOTS) : usable < 0n ? 0n : usable);
    this.ips = new OffsetAllocator(this.ipSlots, 'random', rangeOffset(this.ipSlots, 16, 256, 16), opts.random);
    [this.portLo, this.portHi] = opts.nodePortRange;
    const nPorts = this.portHi - this.portLo + 1;
    this.ports = new OffsetAllocator(nPorts, 'random', rangeOffset(nPorts, 16, 128, 32), opts.random);
  }

  /** Holder key (`ns/name`) of a ClusterIP, if allocated. */
  ipOwner(ip: string): string | undefined {
    const slot = this.slotOf(ip);
    return slot === undefined ? undefined : this.ips.owner(slot);
  }

  portOwner(port: number): string | undefined {
    return this.inPortRange(port) ? this.ports.owner(port - this.portLo) : undefined;
  }

  /** What `key` holds now. */
  heldBy(key: string): { clusterIPs: string[]; nodePorts: number[] } {
    const h = this.held.get(key);
    return {
      clusterIPs: [...(h?.ips ?? [])].map((s) => this.ipOfSlot(s)),
      nodePorts: [...(h?.ports ?? [])].map((p) => p + this.portLo).sort((a, b) => a - b),
    };
  }

  /** Frees everything `key` holds (Service deleted). */
  release(key: string): void {
    const h = this.held.get(key);
    if (!h) return;
    for (const s of h.ips) this.ips.release(s, key);
    for (const p of h.ports) this.ports.release(p, key);
    this.held.delete(key);
  }

  /**
   * Returns a copy of `svc` with its ClusterIP(s), NodePorts and
   * healthCheckNodePort filled in and recorded under `ns/name`; throws
   * AllocationError (nothing changed) when a requested value is taken or
   * out of range, or a range is full.
   */
  allocate(svc: ServiceObj, opts: AllocateOptions = {}): ServiceObj {
    const out = structuredClone(svc);
    out.spec ??= {};
    const old = opts.old;
    const t: Txn = {
      key: objKey(svc.metadata),
      obj: svc.metadata.name,
      auto: opts.autoAllocate !== false,
      ips: new Set(),
      ports: new Set(),
      takenIps: [],
      takenPorts: [],
    };
    if (old) dropTypeDependentFields(out, old);
    try {
      if (needsClusterIP(out)) this.clusterIP(out, old, t);
      this.nodePorts(out, old, t);
      this.healthCheck(out, old, t);
    } catch (err) {
      for (const s of t.takenIps) this.ips.release(s, t.key);
      for (const p of t.takenPorts) this.ports.release(p, t.key);
      throw err;
    }
    const prev = this.held.get(t.key);
    for (const s of prev?.ips ?? []) if (!t.ips.has(s)) this.ips.release(s, t.key);
    for (const p of prev?.ports ?? []) if (!t.ports.has(p)) this.ports.release(p, t.key);
    if (t.ips.size || t.ports.size) this.held.set(t.key, { ips: t.ips, ports: t.ports });
    else this.held.delete(t.key);
    return out;
  }

  private clusterIP(svc: ServiceObj, old: ServiceObj | undefined, t: Txn): void {
    const spec = svc.spec;
    let ip = spec.clusterIP || spec.clusterIPs?.[0] || '';
    const oldIP = old && needsClusterIP(old) ? old.spec.clusterIP || '' : '';
    if (!ip && oldIP) ip = oldIP;
    if (oldIP && ip !== oldIP) {
      throw new AllocationError('Service', t.obj, 'spec.clusterIPs[0]', ip, 'may not change once set');
    }
    if (ip === CLUSTER_IP_NONE) {
      spec.clusterIP = CLUSTER_IP_NONE;
      spec.clusterIPs ??= [CLUSTER_IP_NONE];
      spec.ipFamilies ??= [this.range.family];
      const selectorless = !spec.selector || Object.keys(spec.selector).length === 0;
      spec.ipFamilyPolicy ??= selectorless ? 'RequireDualStack' : 'SingleStack';
      return;
    }
    let slot: number | undefined;
    if (ip) {
      slot = this.slotOf(ip);
      const field = 'spec.clusterIPs';
      const shown = [ip];
      if (slot === undefined) {
        throw new AllocationError('Service', t.obj, field, shown,
          `failed to allocate IP ${ip}: provided IP is not in the valid range. The range of valid IPs is ${this.range.cidr}`);
      }
      this.take(this.ips, slot, t, t.takenIps, () =>
        new AllocationError('Service', t.obj, field, shown, `failed to allocate IP ${ip}: provided IP is already allocated`));
    } else {
      if (!t.auto) return;
      slot = [...(this.held.get(t.key)?.ips ?? [])][0] ?? this.next(this.ips, t, t.takenIps);
      if (slot === undefined) {
        throw new AllocationError('Service', t.obj, 'spec.clusterIPs', [], 'failed to allocate a serviceIP: range is full', 500);
      }
    }
    t.ips.add(slot);
    ip = this.ipOfSlot(slot);
    spec.clusterIP = ip;
    if (!spec.clusterIPs || spec.clusterIPs[0] !== ip) spec.clusterIPs = [ip];
    spec.ipFamilies ??= [this.range.family];
    spec.ipFamilyPolicy ??= 'SingleStack';
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
    this.take(this.ports, off, t, t.takenPorts, () =>
      new AllocationError('Service', t.obj, field, port, 'provided port is already allocated'));
    t.ports.add(off);
  }

  /** A port this key held before and has not used yet in this call, else a new one. */
  private autoPort(spare: number[], t: Txn): number | undefined {
    let off = spare.find((s) => !t.ports.has(s));
    if (off === undefined) off = this.next(this.ports, t, t.takenPorts);
    if (off === undefined) return undefined;
    t.ports.add(off);
    return off + this.portLo;
  }

  private take(a: OffsetAllocator, off: number, t: Txn, taken: number[], err: () => AllocationError): void {
    const had = a.owner(off) === t.key;
    if (!a.allocate(off, t.key)) throw err();
    if (!had) taken.push(off);
  }

  private next(a: OffsetAllocator, t: Txn, taken: number[]): number | undefined {
    const off = a.allocateNext(t.key);
    if (off !== undefined) taken.push(off);
    return off;
  }

  private inPortRange(port: number): boolean {
    return Number.isInteger(port) && port >= this.portLo && port <= this.portHi;
  }

  private slotOf(ip: string): number | undefined {
    const off = this.range.offsetOf(ip);
    if (off === undefined || off < 1n || off > BigInt(this.ipSlots)) return undefined;
    return Number(off) - 1;
  }

  private ipOfSlot(slot: number): string {
    return canonicalIP(this.range.ipAt(BigInt(slot) + 1n));
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
