// Polls an agent's /healthz (its --health-port, default 20244, on the node's
// underlay address) until it answers 200: the agent's start time in the lab.

import { request } from 'node:http';

/** The --health-port among the agent flags (pflag forms `--health-port=N` and `--health-port N`); 0 disables. */
export function healthPort(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--health-port=')) return Number.parseInt(a.slice('--health-port='.length), 10) || 0;
    if (a === '--health-port') return Number.parseInt(args[i + 1] ?? '', 10) || 0;
  }
  return 20244;
}

function probe(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Resolves true once healthy, false if `alive()` turns false or the timeout passes. */
export async function waitHealthy(ip: string, port: number, alive: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    if (await probe(ip, port)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
