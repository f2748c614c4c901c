// The store's event history: every write in resourceVersion order (one
// global counter, like etcd's revision), bounded. Watches resume from it and
// paged lists roll the current state back through it to a consistent
// snapshot. Versions older than `compactedRV` are gone (410).

import type { LabKind, StoredObject } from './types.js';
import { tooOldResourceVersion } from './status.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface HistoryEntry {
  rv: number;
  kind: LabKind;
  /** `namespace/name` or `name`. */
  key: string;
  type: EventType;
  /** The object after the write (for DELETED: the last state, carrying the deletion's resourceVersion). */
  object: StoredObject;
  /** The object before the write (MODIFIED, DELETED). */
  prev?: StoredObject;
}

export class History {
  private entries: HistoryEntry[] = [];
  private head = 0;
  /** Every event with rv > compactedRV is kept. */
  private compacted = 0;

  constructor(private readonly limit: number) {}

  get compactedRV(): number {
    return this.compacted;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  append(e: HistoryEntry): void {
    this.entries.push(e);
    while (this.entries.length - this.head > this.limit) {
      this.compacted = this.entries[this.head].rv;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Forgets everything up to `rv`. */
  compact(rv: number): void {
    this.entries = this.entries.filter((e, i) => i >= this.head && e.rv > rv);
    this.head = 0;
    this.compacted = Math.max(this.compacted, rv);
  }

  /** Throws 410 Expired when `rv` is older than what is kept. */
  check(rv: number): void {
    if (rv < this.compacted) throw tooOldResourceVersion(rv, this.compacted);
  }

  /** Index of the first entry with rv > `rv`. */
  private firstAfter(rv: number): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Entries with rv > `rv`, oldest first (check() first). */
  since(rv: number): HistoryEntry[] {
    return this.entries.slice(this.firstAfter(rv));
  }

  /** Entries with rv > `rv`, newest first: for rolling state back. */
  *newestFirstAfter(rv: number): Generator<HistoryEntry> {
    const stop = this.firstAfter(rv);
    for (let i = this.entries.length - 1; i >= stop; i--) yield this.entries[i];
  }
}
