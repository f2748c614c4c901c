// The proxy's filter-table rules (KUBE-ROUTER-SERVICES and its INPUT jump),
// written straight through the iptables driver (`iptables-save -t filter`,
// `iptables-restore --noflush`) and NOT through the iptables reconciler:
// that one treats every `kr:` rule of a built-in chain as the caller's, and
// the firewall controller applies the filter table through it, so a second
// caller there would delete its jumps (and it ours). The firewall ignores
// this chain and this jump (not its names, no `kr:` hash); the proxy owns the
// nat table through the reconciler (routing writes its nat rule directly).
//
// The chain's content is identified by a hash in the first rule's comment:
// an unchanged chain with its one jump costs one `iptables-save` and no write.

import { createHash } from 'node:crypto';
import { kernelTablesLock, type AsyncMutex } from '../../kernel/lock.js';
import type { IptablesDriver } from '../../kernel/iptables/types.js';
import { CHAIN_SERVICES } from './reconcile-tables.js';

const HASH_PREFIX = 'kube-router-svc:';

export interface FilterResult {
  /** Lines written (0 = no iptables-restore run). */
  lines: number;
}

function chainHash(rules: readonly string[]): string {
  return createHash('sha256').update(rules.join('\n')).digest('hex').slice(0, 16);
}

function jumpLines(save: string): string[] {
  return save.split('\n').filter((l) => l.startsWith('-A INPUT ') && / -j KUBE-ROUTER-SERVICES(\s|$)/.test(l));
}

export class ServicesFilter {
  constructor(
    private readonly driver: IptablesDriver,
    private readonly lock: AsyncMutex = kernelTablesLock,
  ) {}

  /** Makes KUBE-ROUTER-SERVICES exactly `rules` and INPUT hold exactly one `jump` (inserted first when missing). */
  async ensure(rules: readonly string[], jump: string): Promise<FilterResult> {
    return this.lock.runExclusive(async () => {
      const save = await this.driver.save('filter');
      const hash = chainHash([...rules, jump]);
      const want = rules.map((r, i) => (i === 0 ? `-m comment --comment "${HASH_PREFIX}${hash}" ${r}` : r));
      const lines = save.split('\n');
      const exists = lines.some((l) => l.startsWith(`:${CHAIN_SERVICES} `));
      const have = lines.filter((l) => l.startsWith(`-A ${CHAIN_SERVICES} `));
      const upToDate = have.length === want.length && have.length > 0 && have[0].includes(`${HASH_PREFIX}${hash}`);
      const jumps = jumpLines(save);
      const script: string[] = [];
      if (!exists) script.push(`:${CHAIN_SERVICES} - [0:0]`);
      if (!upToDate) {
        if (exists) script.push(`-F ${CHAIN_SERVICES}`);
        for (const r of want) script.push(`-A ${CHAIN_SERVICES} ${r}`);
      }
      const jumpOk = jumps.length === 1 && jumps[0].includes('kube-router-svip dst') && jumps[0].includes(`${HASH_PREFIX}${hash}`);
      if (!jumpOk) {
        for (const j of jumps) script.push(`-D${j.slice(2)}`);
        script.push(`-I INPUT 1 -m comment --comment "${HASH_PREFIX}${hash}" ${jump}`);
      }
      if (script.length === 0) return { lines: 0 };
      await this.driver.restore(['*filter', ...script, 'COMMIT', ''].join('\n'));
      return { lines: script.length };
    });
  }

  /** Removes the jumps and the chain. */
  async cleanup(): Promise<FilterResult> {
    return this.lock.runExclusive(async () => {
      const save = await this.driver.save('filter');
      const script = jumpLines(save).map((j) => `-D${j.slice(2)}`);
      if (save.split('\n').some((l) => l.startsWith(`:${CHAIN_SERVICES} `))) script.push(`-F ${CHAIN_SERVICES}`, `-X ${CHAIN_SERVICES}`);
      if (script.length === 0) return { lines: 0 };
      await this.driver.restore(['*filter', ...script, 'COMMIT', ''].join('\n'));
      return { lines: script.length };
    });
  }
}
