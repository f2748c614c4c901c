// How the reflectors talk to the API server: one GET returning a status code
// and a streaming body. The real implementation uses node:https with ONE
// keep-alive agent for every list and watch (client-node 1.4 makes a new agent
// per watch and leaks sockets, #2893); credentials (bearer token, client
// certificate, CA) come from the KubeConfig via applyToHTTPSOptions, which is
// called per request so rotating token files (FileAuth) and exec plugins keep
// working. Tests inject a fake Transport.

import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeRouterError, errorMessage } from '../errors.js';

export interface TransportResponse {
  statusCode: number;
  body: Readable;
}

export interface Transport {
  /** GET `path?query`; rejects on connection errors; aborting `signal` destroys the body. */
  get(path: string, query: URLSearchParams, signal: AbortSignal): Promise<TransportResponse>;
  /** Closes idle and active sockets. */
  close(): void;
}

export interface HttpTransportOptions {
  /** Time to wait for response headers (ms). */
  headersTimeoutMs?: number;
  userAgent?: string;
}

export function createHttpTransport(kc: KubeConfig, opts: HttpTransportOptions = {}): Transport {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeRouterError('KR_ERR_CONFIG', 'kubeconfig has no current cluster', { field: 'kubeconfig' });
  const base = new URL(cluster.server);
  const basePath = base.pathname.replace(/\/+$/, '');
  const isHttps = base.protocol === 'https:';
  const headersTimeoutMs = opts.headersTimeoutMs ?? 30_000;
  const userAgent = opts.userAgent ?? 'kube-router-ts';
  let agent: http.Agent | undefined;

  async function requestOptions(): Promise<https.RequestOptions> {
    const o: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(o);
    if (agent === undefined) {
      const agentOpts: https.AgentOptions = {
        keepAlive: true,
        keepAliveMsecs: 30_000,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        pfx: o.pfx,
        passphrase: o.passphrase,
        servername: o.servername,
      };
      if (o.rejectUnauthorized !== undefined) agentOpts.rejectUnauthorized = o.rejectUnauthorized;
      agent = isHttps ? new https.Agent(agentOpts) : new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });
    }
    // applyToHTTPSOptions built a throw-away agent (no sockets yet); use the shared one.
    o.agent = agent;
    return o;
  }

  return {
    async get(path, query, signal) {
      const o = await requestOptions();
      const qs = query.toString();
      const fullPath = `${basePath}${path}${qs ? `?${qs}` : ''}`;
      const headers: http.OutgoingHttpHeaders = { ...(o.headers as http.OutgoingHttpHeaders), accept: 'application/json', 'user-agent': userAgent };
      const reqOpts: https.RequestOptions = {
        ...o,
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || (isHttps ? 443 : 80),
        method: 'GET',
        path: fullPath,
        headers,
        signal,
      };
      return new Promise<TransportResponse>((resolve, reject) => {
        const req = (isHttps ? https : http).request(reqOpts, (res) => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, body: res });
        });
        const timer = setTimeout(() => {
          req.destroy(new KubeRouterError('KR_ERR_API', `no response headers within ${headersTimeoutMs} ms`, { call: `GET ${path}` }));
        }, headersTimeoutMs);
        req.on('error', (err) => {
          clearTimeout(timer);
          reject(
            err instanceof KubeRouterError
              ? err
              : new KubeRouterError('KR_ERR_API', `GET ${path}: ${errorMessage(err)}`, { call: `GET ${path}`, errno: (err as NodeJS.ErrnoException).errno }, { cause: err }),
          );
        });
        req.end();
      });
    },
    close() {
      agent?.destroy();
      agent = undefined;
    },
  };
}
