// Version of kube-router-ts, read from its package.json at runtime (the file
// sits at a different depth under src/ and dist/src/, so walk up to find it).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KUBE_ROUTER_COMPAT_VERSION } from './flags.js';

const PACKAGE_NAME = 'kube-router-ts';

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** What `kube-router --version` prints. */
export function versionText(): string {
  return (
    `${PACKAGE_NAME} v${packageVersion()}\n` +
    `compatible with kube-router ${KUBE_ROUTER_COMPAT_VERSION} (flags, annotations, kernel state)\n`
  );
}
