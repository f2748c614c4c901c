// The real kernel through the `ipset` binary: `ipset save` to read every set
// in one call, `ipset restore` to apply a whole script in one process. The
// agent itself uses the netlink driver (netlink.ts); this one serves callers
// that pass their own `exec` and the `tools` dumps.

import { execLocal, kernelError, type Exec } from '../exec.js';
import type { AsyncMutex } from '../lock.js';
import { IpsetRestoreError } from './errors.js';
import { NetlinkIpsetDriver } from './netlink.js';
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

/**
 * The Ipset API on the real kernel: over netlink in this process
 * (netlink.ts), or through the `ipset` binary when `exec` is given (a
 * caller that runs the tools somewhere else, such as in a netns).
 */
export function createLinuxIpset(opts: LinuxIpsetOptions & { lock?: AsyncMutex } = {}): Ipset {
  const driver = opts.exec ? new LinuxIpsetDriver(opts) : new NetlinkIpsetDriver({ timeoutMs: opts.timeoutMs });
  return new IpsetReconciler(driver, opts.lock);
}
