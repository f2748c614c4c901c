// Logs each warning once per object+field until its message changes, so a
// bad annotation is reported when it appears (or changes), not every sync.

import type { Logger } from 'pino';
import type { KubeRouterError } from '../../errors.js';

export class WarnOnce {
  private last = new Map<string, string>();
  constructor(private readonly logger: Pick<Logger, 'warn'>) {}

  /** Reports the warnings of one sync; keys not seen this time are forgotten (a fix, then the same error again, is logged). */
  report(warnings: readonly KubeRouterError[]): void {
    const now = new Map<string, string>();
    for (const w of warnings) {
      const key = `${w.context.object ?? ''}|${w.context.field ?? ''}|${w.context.value ?? ''}`;
      const prevMsg = this.last.get(key);
      now.set(key, w.message);
      if (prevMsg !== w.message) this.logger.warn({ object: w.context.object, field: w.context.field }, w.message);
    }
    for (const [k, v] of this.last) if (k.startsWith('#')) now.set(k, v);
    this.last = now;
  }

  /** A warning with its own key (kernel errors), logged when its message changes. */
  warnKey(key: string, message: string): void {
    const k = `#${key}`;
    if (this.last.get(k) === message) return;
    this.last.set(k, message);
    this.logger.warn(message);
  }
}
