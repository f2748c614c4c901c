// The version of kube-router-ts, read once from package.json (two levels
// above this module in src/ and three in dist/src/).

import fs from 'node:fs';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const text = fs.readFileSync(new URL(rel, import.meta.url), 'utf8');
      const pkg: unknown = JSON.parse(text);
      if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === 'kube-router-ts' && 'version' in pkg && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // not there: try the next candidate
    }
  }
  return cached;
}
