// Live watch fan-out. Writes are queued and delivered in resourceVersion
// order to every watcher of the kind, even when a watcher's callback writes
// to the store itself (re-entrant writes are queued behind the current one).
// Selector transitions follow kube-apiserver: an object that starts matching
// arrives as ADDED, one that stops matching as DELETED.

import type { LabKind, ListOptions, StoredObject } from './types.js';
import type { EventType, HistoryEntry } from './history.js';
import { fieldValue, type KindInfo } from './kinds.js';
import { labelMatcher, parseFieldSelector } from './selectors.js';
import { badRequest } from './status.js';

export interface RawWatchEvent {
  type: EventType;
  /** The stored object: never mutate it. */
  object: StoredObject;
  rv: number;
}

export type ObjectFilter = (obj: StoredObject) => boolean;

/** namespace + labelSelector + fieldSelector as one predicate; bad selectors throw 400. */
export function objectFilter(info: KindInfo, opts: ListOptions | undefined): ObjectFilter {
  const ns = opts?.namespace;
  const labels = labelMatcher(opts?.labelSelector);
  const fields = parseFieldSelector(opts?.fieldSelector);
  for (const f of fields) {
    if (f.field !== 'metadata.name' && f.field !== 'metadata.namespace' && info.fields[f.field] === undefined) {
      throw badRequest(`field label not supported: ${f.field}`);
    }
  }
  return (obj) => {
    if (ns !== undefined && ns !== '' && info.namespaced && obj.metadata.namespace !== ns) return false;
    if (!labels(obj.metadata.labels)) return false;
    for (const f of fields) {
      const v = fieldValue(info, obj, f.field) ?? '';
      if ((v === f.value) !== (f.op === '=')) return false;
    }
    return true;
  };
}

/** What a watcher with `filter` sees of one history entry, if anything. */
export function translate(filter: ObjectFilter, e: HistoryEntry): RawWatchEvent | undefined {
  if (e.type === 'ADDED') return filter(e.object) ? { type: 'ADDED', object: e.object, rv: e.rv } : undefined;
  if (e.type === 'DELETED') return filter(e.object) ? { type: 'DELETED', object: e.object, rv: e.rv } : undefined;
  const now = filter(e.object);
  const before = e.prev !== undefined && filter(e.prev);
  if (now && before) return { type: 'MODIFIED', object: e.object, rv: e.rv };
  if (now) return { type: 'ADDED', object: e.object, rv: e.rv };
  if (before) return { type: 'DELETED', object: e.object, rv: e.rv };
  return undefined;
}

export interface Watcher {
  kind: LabKind;
  filter: ObjectFilter;
  /** Highest resourceVersion delivered: later duplicates are skipped. */
  lastRV: number;
  onEvent: (ev: RawWatchEvent) => void;
  onError?: (err: unknown) => void;
}

export class WatchHub {
  private readonly watchers = new Map<LabKind, Set<Watcher>>();
  private queue: HistoryEntry[] = [];
  private dispatching = false;

  add(w: Watcher): () => void {
    let set = this.watchers.get(w.kind);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(w.kind, set);
    }
    set.add(w);
    return () => {
      this.watchers.get(w.kind)?.delete(w);
    };
  }

  count(): number {
    let n = 0;
    for (const s of this.watchers.values()) n += s.size;
    return n;
  }

  /** Delivers `w` one entry (replay or live), honouring lastRV. */
  deliver(w: Watcher, e: HistoryEntry): void {
    if (e.rv <= w.lastRV) return;
    w.lastRV = e.rv;
    const ev = translate(w.filter, e);
    if (ev === undefined) return;
    try {
      w.onEvent(ev);
    } catch (err) {
      if (w.onError !== undefined) w.onError(err);
    }
  }

  publish(e: HistoryEntry): void {
    this.queue.push(e);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        const entry = this.queue[i];
        const set = this.watchers.get(entry.kind);
        if (set === undefined) continue;
        for (const w of [...set]) {
          if (set.has(w)) this.deliver(w, entry);
        }
      }
    } finally {
      this.queue = [];
      this.dispatching = false;
    }
  }
}
