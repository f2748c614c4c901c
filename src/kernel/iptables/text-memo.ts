// A bounded memo of a pure function of rule text: the firewall writes the
// same rule texts over and over (a pod chain rewritten when one of its
// policies changes, the policy chains of a namespace whose last local pod
// left and whose next one arrives, every rule of every full resync), and
// hashing, compiling and encoding a rule cost far more than a Map lookup
// (in the TCG lab guest, 0.3-0.5 ms per rule). Not an LRU: when full it
// starts afresh, so memory stays bounded and a full sync re-fills it.

export class TextMemo<V> {
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

  get size(): number {
    return this.map.size;
  }
}
