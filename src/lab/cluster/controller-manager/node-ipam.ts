// Node podCIDR allocation (the node-ipam controller's range allocator): one
// subnet of `maskSize` bits per node from the cluster CIDR, handed out with
// a rolling cursor like cidrset; existing allocations are kept. NodeIpam
// holds one such allocator per configured family (dual-stack), as
// kube-controller-manager's range allocator holds one cidrset per
// --cluster-cidr entry.
import { KubeRouterError } from '../../../errors.js';
import { CidrRange, ipFamily, parseCidrList } from './cidr.js';
import { AllocationError } from './errors.js';
import { OffsetAllocator } from './offset-allocator.js';
import type { AddressType } from './types.js';

const MAX_SUBNETS = 1 << 20;

export class PodCidrAllocator {
  readonly range: CidrRange;
  private readonly step: bigint;
  private readonly alloc: OffsetAllocator;
  private readonly byNode = new Map<string, number>();

  /** `maskField` names the option the mask size came from, for the KR_ERR_CONFIG error. */
  constructor(clusterCidr: string | CidrRange, readonly maskSize: number, maskField = 'nodeCidrMaskSize') {
    this.range = typeof clusterCidr === 'string' ? new CidrRange(clusterCidr, 'cluster CIDR') : clusterCidr;
    if (!Number.isInteger(maskSize) || maskSize < this.range.prefix || maskSize > this.range.bits) {
      throw new KubeRouterError('KR_ERR_CONFIG',
        `node CIDR mask size ${maskSize} does not fit cluster CIDR ${this.range.cidr}`, { field: maskField, value: String(maskSize) });
    }
    this.step = 1n << BigInt(this.range.bits - maskSize);
    const n = 1n << BigInt(maskSize - this.range.prefix);
    this.alloc = new OffsetAllocator(Number(n > BigInt(MAX_SUBNETS) ? BigInt(MAX_SUBNETS) : n), 'sequential');
  }

  /** The podCIDR `node` holds, if any. */
  cidrOf(node: string): string | undefined {
    const i = this.byNode.get(node);
    return i === undefined ? undefined : this.subnet(i);
  }

  /**
   * Records an existing allocation (a Node that already has spec.podCIDR).
   * Returns false when it is not a subnet of the cluster CIDR of the right
   * size or another node holds it (the node then keeps it, unrecorded).
   */
  occupy(node: string, cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    if (!this.alloc.allocate(i, node)) return false;
    const prev = this.byNode.get(node);
    if (prev !== undefined && prev !== i) this.alloc.release(prev, node);
    this.byNode.set(node, i);
    return true;
  }

  /** The node's podCIDR, allocating one when it has none; AllocationError (500) when the range is full. */
  allocate(node: string, field = 'spec.podCIDR'): string {
    const have = this.byNode.get(node);
    if (have !== undefined) return this.subnet(have);
    const i = this.alloc.allocateNext(node);
    if (i === undefined) {
      throw new AllocationError('Node', node, field, '',
        `failed to allocate a podCIDR: CIDR range ${this.range.cidr} has no /${this.maskSize} subnets left`, 500);
    }
    this.byNode.set(node, i);
    return this.subnet(i);
  }

  release(node: string): void {
    const i = this.byNode.get(node);
    if (i === undefined) return;
    this.alloc.release(i, node);
    this.byNode.delete(node);
  }

  private subnet(i: number): string {
    return `${this.range.ipAt(BigInt(i) * this.step)}/${this.maskSize}`;
  }

  private indexOf(cidr: string): number | undefined {
    const [addr, len] = cidr.split('/');
    if (addr === undefined || Number(len) !== this.maskSize) return undefined;
    const off = this.range.offsetOf(addr);
    if (off === undefined || off % this.step !== 0n) return undefined;
    const i = off / this.step;
    return i < BigInt(this.alloc.size) ? Number(i) : undefined;
  }
}

export interface NodeIpamOptions {
  /** One cluster CIDR, or one per family (first = primary: spec.podCIDR). */
  clusterCidrs: string | readonly string[];
  /** Per-node prefix length for IPv4 (--node-cidr-mask-size-ipv4). */
  maskSizeIPv4: number;
  /** Per-node prefix length for IPv6 (--node-cidr-mask-size-ipv6). */
  maskSizeIPv6: number;
}

/**
 * Node podCIDRs for every configured family: a Node gets spec.podCIDRs with
 * one subnet per family in the configured order. Allocation is all or
 * nothing, so a node never ends up with only some of its families.
 */
export class NodeIpam {
  readonly allocators: readonly PodCidrAllocator[];

  constructor(opts: NodeIpamOptions) {
    this.allocators = parseCidrList(opts.clusterCidrs, 'cluster CIDR', 'clusterCidr').map((r) =>
      r.family === 'IPv4'
        ? new PodCidrAllocator(r, opts.maskSizeIPv4, 'nodeCidrMaskSize')
        : new PodCidrAllocator(r, opts.maskSizeIPv6, 'nodeCidrMaskSizeIPv6'));
  }

  get families(): AddressType[] {
    return this.allocators.map((a) => a.range.family);
  }

  /** The podCIDRs recorded for `node`, in family order; undefined when none. */
  cidrsOf(node: string): string[] | undefined {
    const out = this.allocators.map((a) => a.cidrOf(node)).filter((c): c is string => c !== undefined);
    return out.length > 0 ? out : undefined;
  }

  /**
   * Records the podCIDRs a Node already has, each with the allocator of its
   * family (a stored order need not match ours). Returns the ones that could
   * not be recorded: foreign, misaligned, taken, or of an unconfigured family.
   */
  occupy(node: string, cidrs: readonly string[]): string[] {
    return cidrs.filter((c) => {
      const a = this.allocatorFor(c);
      return !a || !a.occupy(node, c);
    });
  }

  /** Configured families `cidrs` has no subnet of (a node registered before a family was added). */
  missingFamilies(cidrs: readonly string[]): AddressType[] {
    const have = new Set(cidrs.map((c) => ipFamily(c.split('/')[0] ?? '')));
    return this.families.filter((f) => !have.has(f));
  }

  /**
   * One podCIDR per family for `node` (kept when already held). When one
   * family is full the subnets taken by this call are given back and the
   * AllocationError (500) names the field of that family.
   */
  allocate(node: string): string[] {
    const taken: PodCidrAllocator[] = [];
    try {
      return this.allocators.map((a, i) => {
        if (a.cidrOf(node) === undefined) taken.push(a);
        return a.allocate(node, i === 0 ? 'spec.podCIDR' : `spec.podCIDRs[${i}]`);
      });
    } catch (err) {
      for (const a of taken) a.release(node);
      throw err;
    }
  }

  release(node: string): void {
    for (const a of this.allocators) a.release(node);
  }

  private allocatorFor(cidr: string): PodCidrAllocator | undefined {
    const fam = ipFamily(cidr.split('/')[0] ?? '');
    return this.allocators.find((a) => a.range.family === fam);
  }
}
