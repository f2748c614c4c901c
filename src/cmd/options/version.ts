// Version of kube-router-ts, read from its package.json at runtime (found by
// walking up: the module sits at a different depth in src/, dist/src/ and the bundle).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../package-root.js';
import { KUBE_ROUTER_COMPAT_VERSION } from './flags.js';

const PACKAGE_NAME = 'kube-router-ts';

export function packageVersion(): string {
  const root = findPackageRoot(import.meta.url, 'package.json');
  if (root === undefined) return 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // unreadable package.json: the version is unknown
  }
  return 'unknown';
}

/** What `kube-router --version` prints. */
export function versionText(): string {
  return (
    `${PACKAGE_NAME} v${packageVersion()}\n` +
    `compatible with kube-router ${KUBE_ROUTER_COMPAT_VERSION} (flags, annotations, kernel state)\n`
  );
}
