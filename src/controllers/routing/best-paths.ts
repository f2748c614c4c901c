// The best paths gobgpd learned from peers, kept from a WatchEvent(best)
// stream (re-issued when it ends: gobgpd restarted or the stream broke) and
// re-read with ListPath on resync(). onChange is called (cheaply) after
// every change so the controller schedules a kernel route sync.

import type { GobgpClient } from '../../bgp/client.js';
import type { BgpPath, IpFamily } from '../../bgp/types.js';
import type { LearnedPath } from './routes-plan.js';

export interface BestPathLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface BestPathOptions {
  client: GobgpClient;
  families: readonly IpFamily[];
  onChange: () => void;
  onReceived?: (n: number) => void;
  logger?: BestPathLogger;
  /** Delay before re-issuing an ended stream. Default 1000 ms. */
  rewatchMs?: number;
}

export class BestPaths {
  private readonly opts: BestPathOptions;
  /** prefix -> best learned path. */
  private readonly best = new Map<string, LearnedPath>();
  /** paths() as last sorted; dropped on every change. */
  private sorted: LearnedPath[] | undefined;
  private handle: { cancel(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(opts: BestPathOptions) {
    this.opts = opts;
  }

  /** The learned best paths, sorted by prefix (a fresh array; sorted once per change). */
  paths(): LearnedPath[] {
    this.sorted ??= [...this.best.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
    return [...this.sorted];
  }

  start(): void {
    this.stopped = false;
    this.watch();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.handle?.cancel();
    this.handle = undefined;
  }

  /** Re-issues the stream now (after a gobgpd restart). */
  restart(): void {
    if (this.stopped) return;
    this.handle?.cancel();
    this.handle = undefined;
    clearTimeout(this.timer);
    this.watch();
  }

  /** Replaces the map with what ListPath reports (drift repair). */
  async resync(): Promise<void> {
    const fresh = new Map<string, LearnedPath>();
    for (const family of this.opts.families) {
      for (const d of await this.opts.client.listPaths({ table: 'global', family })) {
        const p = d.paths.find((x) => x.best) ?? d.paths[0];
        if (p && isLearned(p)) fresh.set(p.prefix, { prefix: p.prefix, nextHop: p.nextHop });
      }
    }
    if (sameMap(fresh, this.best)) return;
    this.best.clear();
    for (const [k, v] of fresh) this.best.set(k, v);
    this.sorted = undefined;
    this.opts.onChange();
  }

  /** Applies one batch of best-path events (public for tests). */
  apply(paths: readonly BgpPath[]): void {
    let changed = false;
    for (const p of paths) {
      if (!this.opts.families.includes(p.family)) continue;
      if (p.isWithdraw || !isLearned(p)) {
        // A withdrawal, or our own path became best again: no learned route.
        changed = this.best.delete(p.prefix) || changed;
        continue;
      }
      const cur = this.best.get(p.prefix);
      if (cur?.nextHop === p.nextHop) continue;
      this.best.set(p.prefix, { prefix: p.prefix, nextHop: p.nextHop });
      changed = true;
    }
    this.opts.onReceived?.(paths.length);
    if (!changed) return;
    this.sorted = undefined;
    this.opts.onChange();
  }

  private watch(): void {
    if (this.stopped) return;
    this.handle = this.opts.client.watch(
      { best: true, init: true },
      {
        onPaths: (paths) => this.apply(paths),
        onEnd: (err) => {
          this.handle = undefined;
          if (this.stopped) return;
          this.opts.logger?.warn({ err: err?.message }, 'gobgpd best-path watch ended; re-issuing it');
          this.timer = setTimeout(() => this.watch(), this.opts.rewatchMs ?? 1000);
        },
      },
    );
  }
}

/** Learned from a peer (gobgpd reports local paths without a neighbor address). */
function isLearned(p: BgpPath): boolean {
  return p.neighborIp !== undefined && p.neighborIp !== '' && p.neighborIp !== '<nil>';
}

function sameMap(a: Map<string, LearnedPath>, b: Map<string, LearnedPath>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k)?.nextHop !== v.nextHop) return false;
  return true;
}
