// The Prometheus endpoint on --metrics-addr:--metrics-port at --metrics-path
// (off when the port is 0, kube-router's default). Serves the agent registry
// with its own content type.

import http from 'node:http';
import type { Registry } from 'prom-client';
import { clientUrl, closeHttp, listenHttp } from '../health/listen.js';

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** e.g. '/metrics' */
  path: string;
  registry: Registry;
}

export interface MetricsServer {
  readonly port: number;
  /** Full URL of the metrics path. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts listening; rejects with a KR_ERR_CONFIG error naming the flags when it cannot bind. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const metricsPath = opts.path.startsWith('/') ? opts.path : `/${opts.path}`;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== metricsPath) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    opts.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': opts.registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`collecting metrics failed: ${String(err)}\n`);
      },
    );
  });
  server.keepAliveTimeout = 5000;
  const addr = await listenHttp(server, opts.host, opts.port, '--metrics-addr/--metrics-port');
  return {
    port: addr.port,
    url: `${clientUrl(opts.host, addr.port)}${metricsPath}`,
    close: () => closeHttp(server),
  };
}
