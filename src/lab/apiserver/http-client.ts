// A small HTTPS client for the lab API server (tests and lab tooling):
// JSON requests with the bearer token and CA, and watch streams read line
// by line.

import https from 'node:https';
import type { IncomingMessage } from 'node:http';

export interface ApiClientTarget {
  url: string;
  token: string;
  caPem: string;
}

export interface ApiResponse<T = unknown> {
  code: number;
  headers: IncomingMessage['headers'];
  body: T;
  text: string;
}

export interface WatchLine {
  type: string;
  object: Record<string, unknown> & { metadata?: Record<string, unknown> };
}

export class LabApiClient {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(private readonly target: ApiClientTarget, opts: { token?: string | null } = {}) {
    this.agent = new https.Agent({ ca: target.caPem, keepAlive: true });
    this.base = new URL(target.url);
    if (opts.token !== undefined) this.tokenOverride = opts.token;
  }

  private tokenOverride: string | null | undefined;

  private headers(extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    const token = this.tokenOverride === undefined ? this.target.token : this.tokenOverride;
    if (token !== null) h.authorization = `Bearer ${token}`;
    return h;
  }

  request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, contentType = 'application/json', extraHeaders: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = this.headers({ ...extraHeaders });
    if (payload !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = https.request({ agent: this.agent, hostname: this.base.hostname.replace(/^\[|\]$/g, ''), port: this.base.port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ code: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Opens a watch; events are queued until taken with next(). */
  watch(path: string): Promise<WatchStream> {
    return new Promise((resolve, reject) => {
      const req = https.request({ agent: this.agent, hostname: this.base.hostname.replace(/^\[|\]$/g, ''), port: this.base.port, method: 'GET', path, headers: this.headers({}) }, (res) => {
        resolve(new WatchStream(res, () => req.destroy()));
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export class WatchStream {
  readonly code: number;
  private readonly queue: WatchLine[] = [];
  private waiters: (() => void)[] = [];
  private buf = '';
  ended = false;

  constructor(res: IncomingMessage, private readonly abort: () => void) {
    this.code = res.statusCode ?? 0;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line !== '') this.queue.push(JSON.parse(line) as WatchLine);
      }
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Next event matching `pred` (others before it are dropped); rejects after timeoutMs or at end of stream. */
  async next(timeoutMs = 3000, pred: (l: WatchLine) => boolean = () => true): Promise<WatchLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const l = this.queue.shift() as WatchLine;
        if (pred(l)) return l;
      }
      if (this.ended) throw new Error('watch stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a watch event');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Events already received. */
  pending(): WatchLine[] {
    return [...this.queue];
  }

  /** Resolves when the server ends the stream (rejects after timeoutMs). */
  async waitEnd(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('watch stream did not end');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort();
  }
}
