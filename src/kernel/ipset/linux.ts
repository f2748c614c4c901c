// The real kernel through the `ipset` binary: `ipset save` to read every set
// in one call, `ipset restore` to apply a whole script in one process.

import { execLocal, kernelError, type Exec } from '../exec.js';
import type { AsyncMutex } from '../lock.js';
import { IpsetRestoreError } from './errors.js';
import { IpsetReconciler } from './reconciler.js';
import type { Ipset, IpsetDriver } from './types.js';

export interface LinuxIpsetOptions {
  /** How to run the binary (wrap it for a netns in tests). Default: local exec. */
  exec?: Exec;
  /** Path or name of the binary. Default `ipset`. */
  binary?: string;
  timeoutMs?: number;
}

export class LinuxIpsetDriver implements IpsetDriver {
  private readonly exec: Exec;
  private readonly bin: string;
  private readonly timeoutMs: number;

  constructor(opts: LinuxIpsetOptions = {}) {
    this.exec = opts.exec ?? execLocal;
    this.bin = opts.binary ?? 'ipset';
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async save(): Promise<string> {
    const argv = [this.bin, 'save'];
    const res = await this.exec(argv, { timeoutMs: this.timeoutMs });
    if (res.code !== 0) throw kernelError(argv, res);
    return res.stdout;
  }

  async restore(script: string): Promise<void> {
    const argv = [this.bin, 'restore'];
    const res = await this.exec(argv, { input: script, timeoutMs: this.timeoutMs });
    if (res.code === 0) return;
    if (res.timedOut) throw kernelError(argv, res);
    throw new IpsetRestoreError(argv.join(' '), res.stderr, script.split('\n'));
  }
}

/** The Ipset API on the real kernel. */
export function createLinuxIpset(opts: LinuxIpsetOptions & { lock?: AsyncMutex } = {}): Ipset {
  return new IpsetReconciler(new LinuxIpsetDriver(opts), opts.lock);
}
