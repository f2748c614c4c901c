// CPU profile of chosen windows of a bench run (`--profile <kind prefix>`):
// the V8 sampling profiler runs only while a change of that kind is being
// synced, and the self time of each function is summed over all of them.
// Diagnostic only: the profiled changes are slower than unprofiled ones.

import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export class WindowProfiler {
  private session?: Session;
  private readonly selfUs = new Map<string, number>();
  private windows = 0;

  async start(): Promise<void> {
    if (!this.session) {
      this.session = new Session();
      this.session.connect();
      await this.session.post('Profiler.enable');
      await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    await this.session.post('Profiler.start');
  }

  async stop(): Promise<void> {
    if (!this.session) return;
    const { profile } = (await this.session.post('Profiler.stop')) as { profile: Profile };
    this.windows++;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const n = byId.get(samples[i]);
      if (!n) continue;
      const f = n.callFrame;
      // The inspector's own call that starts and stops the profiler, not the sync's.
      if (f.functionName === 'dispatch' && f.url === '') continue;
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
      this.selfUs.set(key, (this.selfUs.get(key) ?? 0) + (deltas[i] ?? 0));
    }
  }

  /** The functions with the most self time, in ms per window. */
  top(n: number): string[] {
    const total = [...this.selfUs.values()].reduce((a, b) => a + b, 0);
    const per = (us: number): string => (us / 1000 / Math.max(1, this.windows)).toFixed(2).padStart(8);
    return [
      `${per(total)} ms per window in all (${this.windows} windows)`,
      ...[...this.selfUs]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, us]) => `${per(us)} ${k}`),
    ];
  }
}
