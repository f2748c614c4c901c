// The guest supervisor's control API: HTTP/JSON on the control port (forwarded
// to 127.0.0.1 on the host), every request authenticated by the bearer token
// of the run. A handler returns either a value (sent as one JSON document) or
// an async iterable (streamed as JSON lines, application/x-ndjson, one object
// per line, flushed as produced; an error mid-stream becomes a last line
// {"error": "...", "code": "..."}). Other components add routes with route().

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { KubeRouterError } from '../../errors.js';

export interface ControlRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  /** Aborted when the client goes away (streams should stop). */
  signal: AbortSignal;
}

export type ControlHandler = (req: ControlRequest) => Promise<unknown> | AsyncIterable<unknown>;

/** A 4xx answer with a message. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}

function errorBody(e: unknown): { error: string; code?: string } {
  if (e instanceof KubeRouterError) return { error: e.message, code: e.code };
  return { error: e instanceof Error ? e.message : String(e) };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ControlError(400, 'request body is not JSON');
  }
}

export class ControlServer {
  private readonly routes = new Map<string, ControlHandler>();
  private readonly server: Server;

  constructor(private readonly token: string) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.sendJson(res, 500, errorBody(e));
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  /** Registers METHOD PATH (exact path match, e.g. 'POST', '/v1/exec'). */
  route(method: string, path: string, handler: ControlHandler): void {
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
  }

  listen(port: number, host = '0.0.0.0'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** The port listened on (after listen()). */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    const got = Buffer.from(req.headers.authorization ?? '');
    const want = Buffer.from(`Bearer ${this.token}`);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorized(req)) {
      this.sendJson(res, 401, { error: 'unauthorized' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://guest');
    const handler = this.routes.get(`${req.method ?? 'GET'} ${url.pathname}`);
    if (handler === undefined) {
      this.sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      return;
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let result: unknown;
    try {
      const body = await readBody(req);
      result = await handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body, signal: abort.signal });
    } catch (e) {
      this.sendJson(res, e instanceof ControlError ? e.status : 500, errorBody(e));
      return;
    }
    if (isAsyncIterable(result)) {
      await this.stream(res, result, abort.signal);
      return;
    }
    this.sendJson(res, 200, result ?? { ok: true });
  }

  private async stream(res: ServerResponse, it: AsyncIterable<unknown>, signal: AbortSignal): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    res.flushHeaders();
    try {
      for await (const item of it) {
        if (signal.aborted) break;
        res.write(`${JSON.stringify(item)}\n`);
      }
    } catch (e) {
      if (!signal.aborted) res.write(`${JSON.stringify(errorBody(e))}\n`);
    }
    res.end();
  }
}
