// The Ipset implementation over any IpsetDriver (Linux or the fake kernel):
// read back with ONE `ipset save`, diff, apply with ONE `ipset restore`,
// serialised through the process-wide lock.

import { KubeRouterError } from '../../errors.js';
import { kernelTablesLock, type AsyncMutex } from '../lock.js';
import { normalizeEntries } from './entry.js';
import { IpsetRestoreError } from './errors.js';
import { parseIpsetSave, selectorPredicate } from './parse.js';
import { DEFAULT_SWAP_THRESHOLD, planIpsets, TMP_PREFIX, type IpsetOp } from './plan.js';
import { buildIpsetDestroy, buildIpsetRestore } from './script.js';
import {
  IPSET_MAX_NAME_LEN,
  IPSET_TYPES,
  type Ipset,
  type IpsetApplyOptions,
  type IpsetApplyResult,
  type IpsetDestroyOptions,
  type IpsetDestroyResult,
  type IpsetDriver,
  type IpsetSelector,
  type IpsetSet,
} from './types.js';

export function validateSetName(name: string): void {
  if (name.length === 0 || name.length > IPSET_MAX_NAME_LEN || /\s/.test(name) || name.startsWith(TMP_PREFIX)) {
    throw new KubeRouterError('KR_ERR_KERNEL', `ipset: invalid set name "${name}" (1-${IPSET_MAX_NAME_LEN} chars, no spaces, not ${TMP_PREFIX}*)`, {
      call: 'ipset',
      object: name,
    });
  }
}

function prepare(desired: readonly IpsetSet[]): IpsetSet[] {
  const seen = new Set<string>();
  return desired.map((s) => {
    validateSetName(s.name);
    if (!IPSET_TYPES.includes(s.type)) {
      throw new KubeRouterError('KR_ERR_KERNEL', `ipset ${s.name}: unsupported type ${s.type}`, { call: 'ipset', object: s.name });
    }
    if (seen.has(s.name)) throw new KubeRouterError('KR_ERR_KERNEL', `ipset ${s.name}: desired twice`, { call: 'ipset', object: s.name });
    seen.add(s.name);
    return { ...s, options: { ...s.options }, entries: normalizeEntries(s.name, s.type, s.family, s.entries) };
  });
}

function knownSets(known: ReadonlyMap<string, IpsetSet>, names: ReadonlySet<string>): Map<string, IpsetSet> {
  const out = new Map<string, IpsetSet>();
  for (const n of names) {
    const s = known.get(n);
    if (s) out.set(n, s);
  }
  return out;
}

function summarize(ops: IpsetOp[], kind: IpsetOp['kind']): string[] {
  return ops.filter((o) => o.kind === kind).map((o) => o.set.name);
}

export class IpsetReconciler implements Ipset {
  constructor(
    private readonly driver: IpsetDriver,
    private readonly lock: AsyncMutex = kernelTablesLock,
  ) {}

  async list(select: IpsetSelector): Promise<Map<string, IpsetSet>> {
    const keep = selectorPredicate(select);
    if (this.driver.read) return this.driver.read(keep);
    return parseIpsetSave(await this.driver.save(), keep);
  }

  async applyCreatesAndUpdates(desired: readonly IpsetSet[], opts: IpsetApplyOptions = {}): Promise<IpsetApplyResult> {
    const want = prepare(desired);
    return this.lock.runExclusive(async () => {
      const names = new Set(want.map((s) => s.name));
      const actual = opts.known ? knownSets(opts.known, names) : await this.list({ names, prefixes: [TMP_PREFIX] });
      const plan = planIpsets(want, actual, opts.swapThreshold ?? DEFAULT_SWAP_THRESHOLD);
      const lines = buildIpsetRestore(plan);
      if (lines.length > 0) await this.driver.restore(lines.join('\n') + '\n');
      return {
        lines: lines.length,
        created: summarize(plan.ops, 'create'),
        updated: summarize(plan.ops, 'delta'),
        swapped: summarize(plan.ops, 'swap'),
        recreated: summarize(plan.ops, 'recreate'),
        unchanged: plan.unchanged,
        applied: want,
      };
    });
  }

  async destroyStale(desiredNames: Iterable<string>, opts: IpsetDestroyOptions): Promise<IpsetDestroyResult> {
    const keep = new Set(desiredNames);
    return this.lock.runExclusive(async () => {
      const stale = (n: string): boolean => opts.owned(n) && !keep.has(n) && !n.startsWith(TMP_PREFIX);
      const actual = opts.known ? [...opts.known].filter((s) => stale(s.name)) : [...(await this.list({ match: stale })).values()];
      let lines = buildIpsetDestroy(actual);
      const result: IpsetDestroyResult = { lines: 0, destroyed: [], kept: [] };
      // ipset restore stops at the first failing line (the ones before stay
      // applied): skip the failing destroy, report it, run the rest.
      while (lines.length > 0) {
        result.lines += lines.length;
        try {
          await this.driver.restore(lines.join('\n') + '\n');
          result.destroyed.push(...lines.map((l) => l.slice('destroy '.length)));
          break;
        } catch (err) {
          if (!(err instanceof IpsetRestoreError) || err.line === undefined || err.line > lines.length) throw err;
          const failed = err.line - 1;
          result.destroyed.push(...lines.slice(0, failed).map((l) => l.slice('destroy '.length)));
          result.kept.push({ name: lines[failed].slice('destroy '.length), reason: err.reason });
          lines = lines.slice(failed + 1);
        }
      }
      return result;
    });
  }
}
