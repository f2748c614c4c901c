// The lab's scheduler: binds pods without spec.nodeName to a node, spreading
// them round-robin (the node with the fewest pods, ties in node order), so
// x/a, x/b, x/c, y/a ... created in order land on node1, node2, node3, node1 ...

import type { ObjectStore, StoredObject } from '../../apiserver/types.js';
import { errorMessage } from '../../../errors.js';
import { silentLogger, type LabLogger } from './types.js';

export interface Binding {
  namespace: string;
  name: string;
  nodeName: string;
}

interface PodView {
  spec?: { nodeName?: string };
}

function nodeNameOf(pod: StoredObject): string | undefined {
  return (pod as PodView).spec?.nodeName || undefined;
}

/** Node names sorted naturally (node2 before node10), skipping unschedulable ones. */
export function schedulableNodes(store: ObjectStore): string[] {
  return store
    .list('Node')
    .items.filter((n) => !(n.spec as { unschedulable?: boolean } | undefined)?.unschedulable)
    .map((n) => n.metadata.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * Binds `pod` (or, without it, every pod that has no node) to the least
 * loaded of `nodes` (default: the store's schedulable Nodes). Returns the bindings made.
 */
export function schedulePod(store: ObjectStore, nodes?: string[], pod?: StoredObject): Binding[] {
  const names = nodes ?? schedulableNodes(store);
  if (names.length === 0) return [];
  const all = store.list('Pod').items;
  const load = new Map(names.map((n) => [n, 0]));
  for (const p of all) {
    const n = nodeNameOf(p);
    if (n && load.has(n) && !p.metadata.deletionTimestamp) load.set(n, (load.get(n) ?? 0) + 1);
  }
  const todo = pod ? [pod] : all.filter((p) => !nodeNameOf(p) && !p.metadata.deletionTimestamp);
  const out: Binding[] = [];
  for (const p of todo) {
    if (nodeNameOf(p)) continue;
    let best = names[0];
    for (const n of names) if ((load.get(n) ?? 0) < (load.get(best) ?? 0)) best = n;
    const namespace = p.metadata.namespace ?? 'default';
    store.patch('Pod', namespace, p.metadata.name, { spec: { nodeName: best } });
    load.set(best, (load.get(best) ?? 0) + 1);
    out.push({ namespace, name: p.metadata.name, nodeName: best });
  }
  return out;
}

export interface Scheduler {
  stop(): void;
}

/** Watches Pods and binds each unbound one as it appears. */
export function startScheduler(store: ObjectStore, opts: { nodes?: () => string[]; logger?: LabLogger } = {}): Scheduler {
  const log = opts.logger ?? silentLogger;
  let pending = false;
  const run = (): void => {
    if (pending) return;
    pending = true;
    // Batch the events of one tick (an applied multi-document file) into one pass.
    setImmediate(() => {
      pending = false;
      try {
        for (const b of schedulePod(store, opts.nodes?.())) log.info({ pod: `${b.namespace}/${b.name}`, node: b.nodeName }, 'pod bound');
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'scheduling failed');
      }
    });
  };
  const { resourceVersion } = store.list('Pod');
  run();
  const stopWatch = store.watch('Pod', resourceVersion, {}, (ev) => {
    if ((ev.type === 'ADDED' || ev.type === 'MODIFIED') && !nodeNameOf(ev.object) && !ev.object.metadata.deletionTimestamp) run();
  });
  return { stop: stopWatch };
}
