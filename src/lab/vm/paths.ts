// Where the lab keeps things on the host: the checkout it runs from, a cache
// (initramfs per kernel version) and one run directory per booted VM (state,
// console log, and a directory shared read-write with the guest for its logs).

import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout root: this file is <root>/dist/src/lab/vm/paths.js once built. */
export function checkoutRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
}

/** Base directory: $KUBE_ROUTER_LAB_DIR, else <checkout>/.lab. */
export function labDir(): string {
  const dir = process.env.KUBE_ROUTER_LAB_DIR ?? join(checkoutRoot(), '.lab');
  mkdirSync(dir, { recursive: true });
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
  return dir;
}

export function cacheDir(): string {
  const dir = join(labDir(), 'cache');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Run directory of one VM ("default" is the one `up`/`down`/`exec` manage). */
export function runDir(id: string): string {
  const dir = join(labDir(), 'run', id);
  mkdirSync(join(dir, 'shared', 'logs'), { recursive: true });
  return dir;
}

/** Paths inside a run directory. The guest sees `shared` at the same absolute path. */
export function runPaths(dir: string): {
  state: string;
  console: string;
  qemuLog: string;
  shared: string;
  config: string;
  logs: string;
  kubeconfig: string;
} {
  const shared = join(dir, 'shared');
  return {
    state: join(dir, 'state.json'),
    console: join(dir, 'console.log'),
    qemuLog: join(dir, 'qemu.log'),
    shared,
    config: join(shared, 'config.json'),
    logs: join(shared, 'logs'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
}
