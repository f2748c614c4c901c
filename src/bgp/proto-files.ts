// Where proto/ lives at run time: found from this module's location by walking
// up to the package root, so it works from src/ (tsx), dist/src/ and the bundle.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeRouterError } from '../errors.js';
import { findPackageRoot } from '../package-root.js';

export const PROTO_FILES = ['gobgp.proto', 'attribute.proto'] as const;

let cached: string | undefined;

/** Absolute path of the package's proto/ directory. */
export function protoDir(): string {
  if (cached !== undefined) return cached;
  const root = findPackageRoot(import.meta.url, join('proto', 'gobgp.proto'));
  if (root !== undefined) {
    cached = join(root, 'proto');
    return cached;
  }
  throw new KubeRouterError('KR_ERR_INTERNAL', 'proto/gobgp.proto not found above ' + fileURLToPath(import.meta.url), {
    field: 'proto/',
  });
}
