// First-use installation of the Debian packages the lab needs (only the
// missing ones, checked with dpkg-query).

import { LabError, run } from './proc.js';

export const LAB_PACKAGES = [
  'qemu-system-x86',
  'linux-image-amd64',
  'busybox-static',
  'kmod',
  'xz-utils',
  'iproute2',
  'util-linux',
  'ipvsadm',
  'ipset',
  'iptables',
  'gobgpd',
  'containernetworking-plugins',
] as const;

export async function missingPackages(pkgs: readonly string[]): Promise<string[]> {
  const res = await run(['dpkg-query', '-W', '-f=${Package} ${Status}\\n', ...pkgs], { phase: 'packages', allowFail: true });
  const installed = new Set(
    res.stdout
      .split('\n')
      .filter((l) => l.endsWith(' install ok installed'))
      .map((l) => l.split(' ')[0].split(':')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

/** Installs what is missing; `say` gets one progress line per phase. */
export async function ensurePackages(say: (line: string) => void, pkgs: readonly string[] = LAB_PACKAGES): Promise<void> {
  const missing = await missingPackages(pkgs);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new LabError('packages', `missing Debian packages ${missing.join(' ')}; run as root or install them`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  say(`lab: installing packages ${missing.join(' ')}`);
  await run(['apt-get', 'update', '-q'], { phase: 'packages', env, timeoutMs: 600_000 });
  await run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing], { phase: 'packages', env, timeoutMs: 1_800_000 });
}
