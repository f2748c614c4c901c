// A small JSON client for the API server writes the agent makes (Lease,
// Service status): one request with a JSON body, the answer parsed. Same
// connection handling as the reflectors (src/informers/transport.ts): one
// keep-alive agent built from the ApiConnection's TLS material, per-request
// credentials from ApiConnection.applyTo (rotating tokens, exec plugins).
// No @kubernetes/client-node here. A non-2xx answer is a KubeRouterError
// ('KR_ERR_API') carrying the HTTP status and the Status reason, so callers
// can tell a 409 Conflict from a 404.

import http from 'node:http';
import https from 'node:https';
import { KubeRouterError, errorMessage } from '../errors.js';
import type { ApiConnection } from '../informers/credentials.js';
import { connectionAgent } from '../informers/transport.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const CONTENT_JSON = 'application/json';
export const CONTENT_MERGE_PATCH = 'application/merge-patch+json';
export const CONTENT_JSON_PATCH = 'application/json-patch+json';

export interface ApiRequest {
  method: HttpMethod;
  /** Path from the server root, e.g. `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/x`. */
  path: string;
  body?: unknown;
  contentType?: string;
  /** `Kind ns/name` for error context. */
  object?: string;
}

export interface KubeApi {
  /** Sends the request; resolves with the parsed JSON body of a 2xx answer, rejects with an ApiError otherwise. */
  request<T>(req: ApiRequest): Promise<T>;
  close(): void;
}

/** An API call answered with a non-2xx status (or not answered: status 0). */
export class ApiError extends KubeRouterError {
  readonly status: number;
  readonly reason: string;

  constructor(message: string, status: number, reason: string, call: string, object?: string, cause?: unknown) {
    super('KR_ERR_API', message, { call, object, status, reason }, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
  }
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

export interface HttpKubeApiOptions {
  /** Whole-request timeout (ms), default 10 s. */
  timeoutMs?: number;
  userAgent?: string;
}

export function createKubeApi(conn: ApiConnection, opts: HttpKubeApiOptions = {}): KubeApi {
  const base = new URL(conn.server);
  const basePath = base.pathname.replace(/\/+$/, '');
  const isHttps = base.protocol === 'https:';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const userAgent = opts.userAgent ?? 'kube-router-ts';
  let agent: http.Agent | undefined;

  return {
    async request<T>(req: ApiRequest): Promise<T> {
      const call = `${req.method} ${req.path}`;
      const o: https.RequestOptions = { headers: {} };
      await conn.applyTo(o);
      agent ??= connectionAgent(conn);
      const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
      const headers: http.OutgoingHttpHeaders = { ...(o.headers as http.OutgoingHttpHeaders), accept: CONTENT_JSON, 'user-agent': userAgent };
      if (payload !== undefined) {
        headers['content-type'] = req.contentType ?? CONTENT_JSON;
        headers['content-length'] = payload.length;
      }
      const reqOpts: https.RequestOptions = {
        ...o,
        agent,
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || (isHttps ? 443 : 80),
        method: req.method,
        path: `${basePath}${req.path}`,
        headers,
      };
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const r = (isHttps ? https : http).request(reqOpts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        });
        const timer = setTimeout(() => r.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        r.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        r.end(payload);
      }).catch((err: unknown) => {
        throw new ApiError(`${call}: ${errorMessage(err)}`, 0, 'ConnectionFailed', call, req.object, err);
      });
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      if (status < 200 || status > 299) {
        const st = body !== null && typeof body === 'object' ? (body as { reason?: unknown; message?: unknown }) : {};
        const reason = typeof st.reason === 'string' ? st.reason : `HTTP ${status}`;
        const msg = typeof st.message === 'string' ? st.message : text.slice(0, 200);
        throw new ApiError(`${call}: ${status} ${reason}: ${msg}`, status, reason, call, req.object);
      }
      return body as T;
    },
    close() {
      agent?.destroy();
      agent = undefined;
    },
  };
}
