// Where proto/ lives at run time: found from this module's location by walking
// up to the package root, so it works from src/ (tsx) and from dist/src/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeRouterError } from '../errors.js';

export const PROTO_FILES = ['gobgp.proto', 'attribute.proto'] as const;

let cached: string | undefined;

/** Absolute path of the package's proto/ directory. */
export function protoDir(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto', 'gobgp.proto'))) {
      cached = join(dir, 'proto');
      return cached;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new KubeRouterError('KR_ERR_INTERNAL', 'proto/gobgp.proto not found above ' + fileURLToPath(import.meta.url), {
    field: 'proto/',
  });
}
