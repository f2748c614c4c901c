// Waits until a log file grows past its size at call time (an agent's first output).

import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Resolves with performance.now() when the file has grown beyond `after` bytes (default: its size now, minus the start banner), or -1 after timeoutMs. */
export async function waitFirstOutput(path: string, timeoutMs: number, after?: number): Promise<number> {
  const base = after ?? size(path);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (size(path) > base) return performance.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  return -1;
}
