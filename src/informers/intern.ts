// String interning for values repeated across many cached objects
// (namespaces, node names, zones, protocols, label keys and values, port
// names). Strings from JSON.parse are fresh heap copies each time; mapping
// equal strings to one instance makes 100,000 endpoints on 100 nodes share
// 100 node-name strings instead of holding 100,000.
//
// The table is bounded: when it reaches maxEntries it is cleared and starts
// over, so high-cardinality churn (pod-template hashes, generated names) can
// only cost sharing, never unbounded memory. Interned strings stay alive as
// long as some cached object uses them; the table only holds the most recent.

export class Interner {
  private table = new Map<string, string>();
  private resets = 0;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly maxLength = 253,
  ) {}

  intern(s: string): string {
    if (s.length > this.maxLength) return s;
    const hit = this.table.get(s);
    if (hit !== undefined) return hit;
    if (this.table.size >= this.maxEntries) {
      this.table = new Map();
      this.resets++;
    }
    this.table.set(s, s);
    return s;
  }

  get size(): number {
    return this.table.size;
  }

  get resetCount(): number {
    return this.resets;
  }
}

/** The process-wide interner used by slim.ts. */
export const interner = new Interner();
