// A bitmap-like allocator over offsets 0..size-1, the model of upstream's
// pkg/registry/core/service/allocator: each used offset has an owner key.
// `allocateNext` uses either a rolling cursor (node podCIDRs, like cidrset)
// or a random scan that prefers the upper band above `dynamicOffset`
// (ClusterIPs and NodePorts since ServiceIPStaticSubrange), leaving the lower
// band for requested values.

export type Strategy = 'sequential' | 'random';

export class OffsetAllocator {
  private readonly owners = new Map<number, string>();
  private cursor = 0;

  constructor(
    readonly size: number,
    private readonly strategy: Strategy,
    private readonly dynamicOffset = 0,
    private readonly random: () => number = Math.random,
  ) {}

  owner(offset: number): string | undefined {
    return this.owners.get(offset);
  }

  /** Takes `offset` for `owner`; false when another owner holds it. */
  allocate(offset: number, owner: string): boolean {
    const cur = this.owners.get(offset);
    if (cur !== undefined && cur !== owner) return false;
    this.owners.set(offset, owner);
    return true;
  }

  /** A free offset now owned by `owner`, or undefined when the range is full. */
  allocateNext(owner: string): number | undefined {
    if (this.owners.size >= this.size) return undefined;
    const off = this.strategy === 'sequential' ? this.nextSequential() : this.nextRandom();
    if (off !== undefined) this.owners.set(off, owner);
    return off;
  }

  /** Frees `offset` (only if `owner` holds it, when given). */
  release(offset: number, owner?: string): void {
    if (owner !== undefined && this.owners.get(offset) !== owner) return;
    this.owners.delete(offset);
  }

  used(): number {
    return this.owners.size;
  }

  private nextSequential(): number | undefined {
    for (let i = 0; i < this.size; i++) {
      const off = (this.cursor + i) % this.size;
      if (!this.owners.has(off)) {
        this.cursor = (off + 1) % this.size;
        return off;
      }
    }
    return undefined;
  }

  private nextRandom(): number | undefined {
    const upper = this.scan(this.dynamicOffset, this.size);
    return upper !== undefined ? upper : this.scan(0, this.dynamicOffset);
  }

  /** Random start in [lo, hi), then a wrapping linear scan. */
  private scan(lo: number, hi: number): number | undefined {
    const n = hi - lo;
    if (n <= 0) return undefined;
    const start = Math.floor(this.random() * n) % n;
    for (let i = 0; i < n; i++) {
      const off = lo + ((start + i) % n);
      if (!this.owners.has(off)) return off;
    }
    return undefined;
  }
}

/** min(max(min, size/step), max), 0 for tiny ranges: upstream's calculateRangeOffset. */
export function rangeOffset(size: number, min: number, max: number, step: number): number {
  if (size <= min) return 0;
  return Math.min(Math.max(min, Math.floor(size / step)), max);
}
