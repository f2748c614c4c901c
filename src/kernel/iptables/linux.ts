// The real kernel: `<ip6>tables-<backend>-save -t <table>` to read,
// `<ip6>tables-<backend>-restore --noflush --wait` to apply one table atomically.

import { execLocal, kernelError, type Exec } from '../exec.js';
import { sharedWarmExec } from '../warm-exec.js';
import type { AsyncMutex } from '../lock.js';
import { binariesFor, detectBackend, type IptablesBinaries } from './backend.js';
import { IptablesRestoreError } from './errors.js';
import { NftRestorer } from './nft-linux.js';
import { IptablesReconciler } from './reconciler.js';
import type { Iptables, IptablesBackend, IptablesDriver, IptablesFamily, IptablesTable } from './types.js';

export interface LinuxIptablesOptions {
  family: IptablesFamily;
  /** Default: detected once with `iptables --version`. */
  backend?: IptablesBackend;
  /** How to run the binaries (wrap for a netns in tests). */
  exec?: Exec;
  timeoutMs?: number;
  /**
   * With the nft backend, apply restores over nf_tables netlink in-process
   * when the script allows (nft-linux.ts). Default off; ignored when `exec`
   * is given (a wrapped exec runs in another namespace than this process).
   */
  netlink?: boolean;
  /**
   * Chains only this driver writes (with `netlink`): the netlink writer keeps
   * knowing their rules when others change the table (nft-linux.ts).
   */
  ownChains?: (chain: string) => boolean;
  /** Told how each restore was applied (and why not over netlink, when it was not). */
  onWrite?: (via: 'netlink' | 'iptables-restore', reason?: string) => void;
}

export class LinuxIptablesDriver implements IptablesDriver {
  readonly family: IptablesFamily;
  private readonly exec: Exec;
  /** Restores run in a process started ahead of time (warm-exec.ts) unless the caller brings its own exec. */
  private readonly restoreExec: Exec;
  private readonly timeoutMs: number;
  private bins: Promise<IptablesBinaries>;
  private readonly useNetlink: boolean;
  private readonly onWrite: LinuxIptablesOptions['onWrite'];
  private readonly ownChains: LinuxIptablesOptions['ownChains'];
  private nft: NftRestorer | undefined;
  /**
   * Restores applied over netlink, and those that fell back to iptables-restore (with the last
   * reason); kernelMs: the netlink batches' time from send to answer, summed.
   */
  readonly netlinkStats = { applied: 0, fellBack: 0, lastReason: '', chainsRead: 0, kernelMs: 0 };

  constructor(opts: LinuxIptablesOptions) {
    this.family = opts.family;
    this.exec = opts.exec ?? execLocal;
    this.restoreExec = opts.exec ?? sharedWarmExec.exec;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.useNetlink = opts.netlink === true && opts.exec === undefined;
    this.onWrite = opts.onWrite;
    this.ownChains = opts.ownChains;
    const fam = opts.family;
    this.bins = opts.backend ? Promise.resolve(binariesFor(opts.backend, fam)) : detectBackend(this.exec).then((b) => binariesFor(b, fam));
  }

  async backend(): Promise<IptablesBackend> {
    return (await this.bins).backend;
  }

  async save(table: IptablesTable): Promise<string> {
    const argv = [(await this.bins).save, '-t', table];
    const res = await this.exec(argv, { timeoutMs: this.timeoutMs });
    if (res.code !== 0) throw kernelError(argv, res);
    return res.stdout;
  }

  async restore(script: string): Promise<void> {
    if (this.useNetlink && (await this.bins).backend === 'nft') {
      this.nft ??= new NftRestorer(this.family, this.timeoutMs, {}, undefined, this.ownChains);
      const r = await this.nft.restore(script);
      if (r.applied) {
        this.netlinkStats.applied++;
        this.netlinkStats.chainsRead += r.chainsRead;
        this.netlinkStats.kernelMs += r.kernelMs;
        this.onWrite?.('netlink');
        return;
      }
      this.netlinkStats.fellBack++;
      this.netlinkStats.lastReason = r.reason;
      this.onWrite?.('iptables-restore', r.reason);
    } else {
      this.onWrite?.('iptables-restore');
    }
    const argv = [(await this.bins).restore, '--noflush', '--wait'];
    // Whatever iptables-restore does to the chains it names, the netlink writer no longer knows their rules.
    this.nft?.forget(scriptChains(script));
    const res = await this.restoreExec(argv, { input: script, timeoutMs: this.timeoutMs });
    if (res.code === 0) return;
    if (res.timedOut) throw kernelError(argv, res);
    throw new IptablesRestoreError(argv.join(' '), res.stderr, script.split('\n'));
  }
}

/** The chains a restore script names (declares, appends to, inserts into, deletes from, flushes or deletes). */
export function scriptChains(script: string): Set<string> {
  const out = new Set<string>();
  for (const m of script.matchAll(/^(?::|-[AIDFXZPNE] )([^\s]+)/gm)) out.add(m[1]);
  return out;
}

export function createLinuxIptables(opts: LinuxIptablesOptions & { lock?: AsyncMutex }): Iptables {
  return new IptablesReconciler(new LinuxIptablesDriver(opts), opts.lock);
}
