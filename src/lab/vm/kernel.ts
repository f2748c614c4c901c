// The Debian kernel to boot: /boot/vmlinuz-<v> with its modules in /lib/modules/<v>.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './proc.js';

export interface KernelInfo {
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The newest installed Debian kernel (or $KUBE_ROUTER_LAB_KERNEL). */
export function findKernel(): KernelInfo {
  const wanted = process.env.KUBE_ROUTER_LAB_KERNEL;
  const candidates = (existsSync('/boot') ? readdirSync('/boot') : [])
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(join('/lib/modules', v, 'kernel')) && (wanted === undefined || v === wanted))
    .sort(compareVersions);
  const version = candidates.at(-1);
  if (version === undefined) {
    throw new LabError('kernel', `no Debian kernel with modules found (/boot/vmlinuz-* and /lib/modules/*)${wanted ? ` matching ${wanted}` : ''}; install linux-image-amd64`);
  }
  return { version, vmlinuz: join('/boot', `vmlinuz-${version}`), modulesDir: join('/lib/modules', version) };
}
