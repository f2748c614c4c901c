// Files shipped beside the code (proto/, cni/, package.json), found by walking
// up from the calling module to the package root. The module sits at a
// different depth in src/ (tsx), dist/src/ (tsc) and dist/kube-router.mjs
// (the bundle the agent runs, scripts/bundle.mjs), so no fixed relative path
// works for all three.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The nearest directory at or above `moduleUrl`'s directory that holds a
 * package.json and `relPath`, or undefined when none does.
 */
export function findPackageRoot(moduleUrl: string, relPath: string): string | undefined {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, relPath))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
