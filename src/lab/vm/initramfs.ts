// Builds (once per kernel version and init script) the initramfs: busybox,
// the virtio/9p/overlay modules decompressed from the host's /lib/modules and
// the two-stage init. Cached under the lab cache directory.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCpio, type CpioEntry } from './cpio.js';
import { INITRAMFS_MODULES, STAGE1, stage2 } from './init-script.js';
import type { KernelInfo } from './kernel.js';
import { LabError } from './proc.js';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'mount', 'umount', 'insmod', 'mkdir', 'cp', 'cat', 'sleep', 'switch_root', 'ls', 'dmesg', 'echo'];

/** Module name -> path relative to modulesDir, from modules.dep ('-' and '_' are the same). */
function moduleIndex(modulesDir: string): Map<string, string> {
  const dep = readFileSync(join(modulesDir, 'modules.dep'), 'utf8');
  const index = new Map<string, string>();
  for (const line of dep.split('\n')) {
    const rel = line.split(':')[0];
    if (!rel) continue;
    const base = rel.split('/').pop() ?? rel;
    const name = base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
    index.set(name, rel);
  }
  return index;
}

function readModule(path: string): Buffer {
  const dec = path.endsWith('.xz') ? ['xz', '-dc'] : path.endsWith('.zst') ? ['zstd', '-dc'] : path.endsWith('.gz') ? ['gzip', '-dc'] : undefined;
  if (dec === undefined) return readFileSync(path);
  try {
    return execFileSync(dec[0], [...dec.slice(1), path], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new LabError('initramfs', `${dec.join(' ')} ${path} failed: ${(e as Error).message}`, { call: dec[0] }, { cause: e });
  }
}

export async function buildInitramfs(kernel: KernelInfo, cache: string): Promise<{ path: string; built: boolean }> {
  const stage2Text = stage2();
  const bb = statSync(BUSYBOX);
  const key = createHash('sha256')
    .update([kernel.version, STAGE1, stage2Text, INITRAMFS_MODULES.join(','), String(bb.size), String(bb.mtimeMs)].join('\0'))
    .digest('hex')
    .slice(0, 12);
  const path = join(cache, `initramfs-${kernel.version}-${key}.cpio`);
  if (existsSync(path)) return { path, built: false };

  const index = moduleIndex(kernel.modulesDir);
  const entries: CpioEntry[] = ['bin', 'sbin', 'dev', 'proc', 'sys', 'lib', 'lib/modules', 'lower', 'rw', 'newroot'].map((p) => ({
    kind: 'dir' as const,
    path: p,
  }));
  entries.push({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });
  entries.push({ kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
  entries.push({ kind: 'file', path: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 });
  for (const a of APPLETS) entries.push({ kind: 'symlink', path: `bin/${a}`, target: 'busybox' });
  for (const m of INITRAMFS_MODULES) {
    const rel = index.get(m.replace(/-/g, '_'));
    if (rel === undefined) {
      // Built into this kernel (listed in modules.builtin): nothing to load.
      const builtin = readFileSync(join(kernel.modulesDir, 'modules.builtin'), 'utf8');
      if (builtin.split('\n').some((l) => l.endsWith(`/${m}.ko`))) continue;
      throw new LabError('initramfs', `module ${m} not found in ${kernel.modulesDir}/modules.dep`);
    }
    entries.push({ kind: 'file', path: `lib/modules/${m}.ko`, data: readModule(join(kernel.modulesDir, rel)) });
  }
  const present = INITRAMFS_MODULES.filter((m) => entries.some((e) => e.path === `lib/modules/${m}.ko`));
  entries.push({ kind: 'file', path: 'modules.list', data: Buffer.from(`${present.join('\n')}\n`) });
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(STAGE1), mode: 0o755 });
  entries.push({ kind: 'file', path: 'stage2.sh', data: Buffer.from(stage2Text), mode: 0o755 });

  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, buildCpio(entries));
  renameSync(tmp, path);
  return { path, built: true };
}
