// How the reflectors talk to the API server: one GET returning a status code
// and a streaming body. The real implementation uses node:https with ONE
// keep-alive agent for every list and watch (client-node 1.4 makes a new agent
// per watch and leaks sockets, #2893). The agent is built once from the
// ApiConnection's TLS material (CA, client certificate, verification, SNI);
// per-request credentials (bearer token, basic, plugin output) come from
// ApiConnection.applyTo, called per request so rotating token files and exec
// plugins keep working. Tests inject a fake Transport.

import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { KubeRouterError, errorMessage } from '../errors.js';
import type { ApiConnection } from './credentials.js';

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

/** The shared keep-alive agent for a connection (http or https). */
export function connectionAgent(conn: ApiConnection): http.Agent {
  const keepAlive = { keepAlive: true, keepAliveMsecs: 30_000 };
  if (!conn.server.startsWith('https:')) return new http.Agent(keepAlive);
  // No undefined keys: node's Agent spreads its options OVER each request's, so an
  // undefined `cert` here would hide a certificate an exec plugin put on the request.
  const o: https.AgentOptions = { ...keepAlive };
  if (conn.caData !== undefined) o.ca = conn.caData;
  if (conn.certData !== undefined) o.cert = conn.certData;
  if (conn.keyData !== undefined) o.key = conn.keyData;
  if (conn.insecureSkipTLSVerify) o.rejectUnauthorized = false;
  if (conn.tlsServerName !== undefined) o.servername = conn.tlsServerName;
  return new https.Agent(o);
}

export function createHttpTransport(conn: ApiConnection, opts: HttpTransportOptions = {}): Transport {
  const base = new URL(conn.server);
  const basePath = base.pathname.replace(/\/+$/, '');
  const isHttps = base.protocol === 'https:';
  const headersTimeoutMs = opts.headersTimeoutMs ?? 30_000;
  const userAgent = opts.userAgent ?? 'kube-router-ts';
  let agent: http.Agent | undefined;

  async function requestOptions(): Promise<https.RequestOptions> {
    const o: https.RequestOptions = { headers: {} };
    await conn.applyTo(o);
    agent ??= connectionAgent(conn);
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
