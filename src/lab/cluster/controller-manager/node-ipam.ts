// Node podCIDR allocation (the node-ipam controller's range allocator): one
// subnet of `maskSize` bits per node from the cluster CIDR, handed out with
// a rolling cursor like cidrset; existing allocations are kept.
import { KubeRouterError } from '../../../errors.js';
import { CidrRange } from './cidr.js';
import { AllocationError } from './errors.js';
import { OffsetAllocator } from './offset-allocator.js';

const MAX_SUBNETS = 1 << 20;

export class PodCidrAllocator {
  readonly range: CidrRange;
  private readonly step: bigint;
  private readonly alloc: OffsetAllocator;
  private readonly byNode = new Map<string, number>();

  constructor(clusterCidr: string, readonly maskSize: number) {
    this.range = new CidrRange(clusterCidr, 'cluster CIDR');
    if (!Number.isInteger(maskSize) || maskSize < this.range.prefix || maskSize > this.range.bits) {
      throw new KubeRouterError('KR_ERR_CONFIG',
        `node CIDR mask size ${maskSize} does not fit cluster CIDR ${clusterCidr}`, { field: 'nodeCidrMaskSize', value: String(maskSize) });
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
  allocate(node: string): string {
    const have = this.byNode.get(node);
    if (have !== undefined) return this.subnet(have);
    const i = this.alloc.allocateNext(node);
    if (i === undefined) {
      throw new AllocationError('Node', node, 'spec.podCIDR', '',
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
