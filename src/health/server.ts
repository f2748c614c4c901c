// The health HTTP server on --health-addr:--health-port (kube-router: 20244).
//   GET /healthz  200 while alive (see evaluate.ts), else 503; JSON body always.
//   GET /readyz   200 once the cache has synced and every running controller
//                 has synced once, else 503; same JSON body.
// HEAD works on both; anything else is 404 (405 for other methods).

import http from 'node:http';
import { evaluateHealth, type HealthEntry, type HealthReport } from './evaluate.js';
import { clientUrl, closeHttp, listenHttp } from './listen.js';

export interface HealthSource {
  cacheSynced(): boolean;
  resourceVersion(): string;
  controllers(): HealthEntry[];
}

export interface HealthServerOptions {
  host: string;
  port: number;
  source: HealthSource;
  /** Wall clock for staleness (default Date.now). */
  now?: () => number;
}

export interface HealthServer {
  readonly port: number;
  /** http://host:port (loopback when bound to every interface). */
  readonly url: string;
  /** The current report, as /healthz would serve it. */
  report(): HealthReport;
  close(): Promise<void>;
}

export function healthReport(source: HealthSource, now: number): HealthReport {
  return evaluateHealth({
    now,
    cacheSynced: source.cacheSynced(),
    resourceVersion: source.resourceVersion(),
    controllers: source.controllers(),
  });
}

/** Starts listening; rejects with a KR_ERR_CONFIG error naming the flags when it cannot bind. */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const now = opts.now ?? Date.now;
  const report = (): HealthReport => healthReport(opts.source, now());
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/readyz') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let body: HealthReport;
    try {
      body = report();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`health evaluation failed: ${String(err)}\n`);
      return;
    }
    const ok = path === '/healthz' ? body.healthy : body.ready;
    const text = `${JSON.stringify(body, null, 2)}\n`;
    res.writeHead(ok ? 200 : 503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  });
  server.keepAliveTimeout = 5000;
  const addr = await listenHttp(server, opts.host, opts.port, '--health-addr/--health-port');
  return {
    port: addr.port,
    url: clientUrl(opts.host, addr.port),
    report,
    close: () => closeHttp(server),
  };
}
