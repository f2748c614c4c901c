// healthCheckNodePort servers for `externalTrafficPolicy: Local`
// LoadBalancer services, as kube-proxy serves them
// (pkg/proxy/healthcheck/service_health.go): one HTTP server per port, any
// path, 200 when this node has a local endpoint, 503 otherwise, the body
// kube-proxy's JSON and the endpoint count in
// X-Load-Balancing-Endpoint-Weight. A cloud load balancer probing every node
// so sends traffic only to nodes that will not drop it.
//
// `set` is called per recomputed Service (cost follows the change); a port
// that cannot be bound (in use) is logged once with its Service and retried
// on the next `set` for that Service.

import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { errorMessage } from '../../errors.js';
import type { HealthCheck } from './model.js';

interface Entry {
  namespace: string;
  name: string;
  nodePort: number;
  localEndpoints: number;
  server?: Server;
  listening: boolean;
}

/** kube-proxy's body (tabs, no trailing newline). */
export function healthCheckBody(namespace: string, name: string, localEndpoints: number, healthy: boolean): string {
  return [
    '{',
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(namespace)},`,
    `\t\t"name": ${JSON.stringify(name)}`,
    '\t},',
    `\t"localEndpoints": ${localEndpoints},`,
    `\t"serviceProxyHealthy": ${healthy}`,
    '}',
  ].join('\n');
}

export interface HealthCheckServersOptions {
  logger: Logger;
  /** Whether the proxy itself is healthy (kube-proxy's serviceProxyHealthy). */
  healthy?: () => boolean;
  /** Address to bind (default all). */
  host?: string;
}

export class HealthCheckServers {
  /** By Service key. */
  private readonly byService = new Map<string, Entry>();

  constructor(private readonly opts: HealthCheckServersOptions) {}

  /** Ports currently served, sorted (tests). */
  ports(): number[] {
    return [...this.byService.values()].filter((e) => e.listening).map((e) => e.nodePort).sort((a, b) => a - b);
  }

  /** The Service `namespace/name` wants `hc` (null: no health check server). */
  async set(key: string, hc: HealthCheck | null): Promise<void> {
    const cur = this.byService.get(key);
    if (hc === null) {
      if (cur) {
        this.byService.delete(key);
        await closeServer(cur.server);
      }
      return;
    }
    if (cur && cur.nodePort === hc.nodePort) {
      cur.localEndpoints = hc.localEndpoints;
      if (cur.listening) return;
      await closeServer(cur.server);
    } else if (cur) {
      await closeServer(cur.server);
    }
    const slash = key.indexOf('/');
    const e: Entry = { namespace: key.slice(0, slash), name: key.slice(slash + 1), nodePort: hc.nodePort, localEndpoints: hc.localEndpoints, listening: false };
    this.byService.set(key, e);
    await this.listen(key, e);
  }

  private listen(key: string, e: Entry): Promise<void> {
    const server = createServer((req, res) => {
      const healthy = this.opts.healthy?.() ?? true;
      const n = e.localEndpoints;
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('X-Load-Balancing-Endpoint-Weight', String(n));
      res.statusCode = n > 0 && healthy ? 200 : 503;
      res.end(healthCheckBody(e.namespace, e.name, n, healthy));
      req.resume();
    });
    e.server = server;
    return new Promise((resolve) => {
      const onError = (err: Error): void => {
        this.opts.logger.warn({ object: `Service ${key}`, field: 'spec.healthCheckNodePort', value: e.nodePort }, `health check node port: cannot listen: ${errorMessage(err)}`);
        if (e.server === server) e.server = undefined;
        resolve();
      };
      server.once('error', onError);
      server.listen({ port: e.nodePort, host: this.opts.host }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.opts.logger.warn({ object: `Service ${key}` }, `health check node port: ${errorMessage(err)}`));
        e.listening = true;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const all = [...this.byService.values()];
    this.byService.clear();
    await Promise.all(all.map((e) => closeServer(e.server)));
  }
}

function closeServer(s: Server | undefined): Promise<void> {
  if (!s || !s.listening) return Promise.resolve();
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
