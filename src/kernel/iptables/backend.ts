// Which iptables backend the node uses, detected once from `iptables
// --version` ("(nf_tables)" / "(legacy)"), and the matching binaries, used
// consistently for save and restore in both families (mixing them is
// kube-router's #1069/#1370).

import { KubeRouterError } from '../../errors.js';
import { execLocal, kernelError, type Exec } from '../exec.js';
import type { IptablesBackend, IptablesFamily } from './types.js';

export interface IptablesBinaries {
  backend: IptablesBackend;
  save: string;
  restore: string;
}

export function binariesFor(backend: IptablesBackend, family: IptablesFamily): IptablesBinaries {
  const base = family === 'ipv4' ? 'iptables' : 'ip6tables';
  return { backend, save: `${base}-${backend}-save`, restore: `${base}-${backend}-restore` };
}

export function parseBackend(versionOutput: string): IptablesBackend | undefined {
  if (/\(nf_tables\)/.test(versionOutput)) return 'nft';
  if (/\(legacy\)/.test(versionOutput) || /^iptables v1\.[0-6]\./m.test(versionOutput)) return 'legacy';
  return undefined;
}

const cache = new Map<Exec, Promise<IptablesBackend>>();

/** Detects the backend once per Exec (the process's view; a netns wrapper counts as its own). */
export function detectBackend(exec: Exec = execLocal): Promise<IptablesBackend> {
  let p = cache.get(exec);
  if (!p) {
    p = (async () => {
      const argv = ['iptables', '--version'];
      const res = await exec(argv, { timeoutMs: 10_000 });
      if (res.code !== 0) throw kernelError(argv, res);
      const b = parseBackend(res.stdout + res.stderr);
      if (!b) {
        throw new KubeRouterError('KR_ERR_KERNEL', `cannot tell the iptables backend from "${res.stdout.trim()}"`, { call: argv.join(' ') });
      }
      return b;
    })();
    cache.set(exec, p);
    p.catch(() => cache.delete(exec));
  }
  return p;
}
