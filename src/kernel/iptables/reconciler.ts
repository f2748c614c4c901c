// The Iptables implementation over any IptablesDriver: read back our chains
// and jumps, plan, apply ONE restore transaction; serialised through the
// process-wide lock. A stale chain or jump the kernel refuses to delete is
// dropped from the transaction, reported, and retried next sync.

import { kernelTablesLock, type AsyncMutex } from '../lock.js';
import { IptablesRestoreError } from './errors.js';
import { parseOwnedState } from './parse.js';
import { planChainChanges, planIptables, validateDesired } from './plan.js';
import type {
  Iptables,
  IptablesApplyOptions,
  IptablesApplyResult,
  IptablesDesired,
  IptablesDriver,
  IptablesFamily,
  IptablesTable,
  OwnedTableState,
} from './types.js';

const MAX_ATTEMPTS = 8;

export class IptablesReconciler implements Iptables {
  constructor(
    private readonly driver: IptablesDriver,
    private readonly lock: AsyncMutex = kernelTablesLock,
  ) {}

  get family(): IptablesFamily {
    return this.driver.family;
  }

  async read(table: IptablesTable, owned: (chain: string) => boolean, adoptJump?: (savedRule: string) => boolean): Promise<OwnedTableState> {
    return parseOwnedState(await this.driver.save(table), table, owned, adoptJump);
  }

  async applyChains(desired: IptablesDesired, previous: IptablesDesired, opts: Pick<IptablesApplyOptions, 'owned'>): Promise<IptablesApplyResult | undefined> {
    const plan = planChainChanges(desired, previous);
    if (!plan) return undefined;
    // `previous` was applied, so it passed this check: only the chains written
    // now are checked, and not the jumps (a plan means they are previous's).
    validateDesired(desired, opts.owned, [...plan.created, ...plan.rewritten], false);
    const result: IptablesApplyResult = {
      lines: Math.max(0, plan.script.length - 2),
      created: plan.created,
      rewritten: plan.rewritten,
      deleted: plan.deleted,
      jumpsInserted: 0,
      jumpsDeleted: 0,
      keptStale: [],
    };
    if (plan.script.length === 0) return result;
    await this.lock.runExclusive(() => this.driver.restore(plan.script.join('\n') + '\n'));
    return result;
  }

  async apply(desired: IptablesDesired, opts: IptablesApplyOptions): Promise<IptablesApplyResult> {
    validateDesired(desired, opts.owned);
    return this.lock.runExclusive(async () => {
      const actual = await this.read(desired.table, opts.owned, opts.adoptJump);
      const keep = new Set<string>();
      const skipDeletes = new Set<string>();
      const keptStale: IptablesApplyResult['keptStale'] = [];
      for (let attempt = 1; ; attempt++) {
        const plan = planIptables(desired, actual, { forceRewrite: opts.forceRewrite, keep, skipDeletes });
        const result: IptablesApplyResult = {
          lines: Math.max(0, plan.script.length - 2),
          created: plan.created,
          rewritten: plan.rewritten,
          deleted: plan.deleted,
          jumpsInserted: plan.jumpsInserted,
          jumpsDeleted: plan.jumpsDeleted,
          keptStale,
        };
        if (plan.script.length === 0) return result;
        try {
          await this.driver.restore(plan.script.join('\n') + '\n');
          return result;
        } catch (err) {
          // The transaction was rolled back as a whole. Only a refused
          // deletion of something stale is retried without it.
          if (!(err instanceof IptablesRestoreError) || err.lineText === undefined || attempt >= MAX_ATTEMPTS) throw err;
          const m = /^-(X|F) (\S+)$/.exec(err.lineText);
          if (m && plan.deleted.includes(m[2])) {
            keep.add(m[2]);
            keptStale.push({ chain: m[2], reason: err.reason });
          } else if (err.lineText.startsWith('-D ')) {
            skipDeletes.add(err.lineText);
          } else {
            throw err;
          }
        }
      }
    });
  }
}
