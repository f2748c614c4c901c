// A bounded memo of a pure function of a text key: compiled label selectors
// (a cluster repeats a few selectors many times over), and the firewall's
// rule hashes, nf_tables compiles and encodings (it writes the same rule
// texts over and over: a pod chain rewritten when one of its policies
// changes, the policy chains of a namespace whose last local pod left and
// whose next one arrives, every rule of every full resync; in the TCG lab
// guest a rule costs 0.3-0.5 ms to hash, compile and encode). Not an LRU:
// when full it starts afresh, so memory stays bounded and a full compile
// re-fills it. A `make` that throws memoises nothing (it throws again).

export class BoundedMemo<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string, make: (key: string) => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined || this.map.has(key)) return hit as V;
    const v = make(key);
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, v);
    return v;
  }
}
