// The host's client of the guest supervisor's control API (over the
// forwarded control port on 127.0.0.1). JSON requests, and JSON-lines streams.

import { request } from 'node:http';
import { LabError } from './proc.js';

export interface GuestStatus {
  phase: string;
  ready: boolean;
  error?: string;
  timings: Record<string, number>;
  components: Record<string, string>;
  nodes: { name: string; ip: string; subnet: string }[];
  agents: { node: string; running: boolean; pid?: number; log: string; healthyAfterMs?: number }[];
}

export interface GuestExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export type GuestExecEvent =
  | { type: 'stdout'; data: string }
  | { type: 'stderr'; data: string }
  | { type: 'exit'; code: number | null; signal: string | null; ms: number };

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export class GuestClient {
  constructor(
    readonly port: number,
    private readonly token: string,
    readonly host = '127.0.0.1',
  ) {}

  private open(method: string, path: string, body: unknown, timeoutMs: number, onResponse: (status: number, res: NodeJS.ReadableStream) => void, reject: (e: Error) => void): void {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: this.host,
        port: this.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: timeoutMs,
      },
      (res) => onResponse(res.statusCode ?? 0, res),
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new LabError('control', `${method} ${path}: ${e.message}`, { call: `${method} ${path}` }, { cause: e })));
    req.end(payload);
  }

  /** One JSON request; a non-2xx answer throws with the guest's error message. */
  call<T>(method: string, path: string, body?: unknown, timeoutMs = 130_000): Promise<T> {
    return new Promise((resolve, reject) => {
      this.open(method, path, body, timeoutMs, (status, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e: Error) => reject(e));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = { error: text };
          }
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(new LabError('control', `${method} ${path} answered ${status}: ${(parsed as { error?: string } | undefined)?.error ?? text}`, { call: `${method} ${path}`, status }));
        });
      }, reject);
    });
  }

  /** A JSON-lines stream: onLine for each object; resolves when the guest ends it. */
  stream(method: string, path: string, body: unknown, onLine: (obj: unknown) => void, timeoutMs = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.open(method, path, body, timeoutMs, (status, res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() === '') continue;
            const obj: unknown = JSON.parse(line);
            if (status < 200 || status >= 300) {
              reject(new LabError('control', `${method} ${path} answered ${status}: ${(obj as { error?: string }).error ?? line}`, { status }));
              return;
            }
            onLine(obj);
          }
        });
        res.on('error', (e: Error) => reject(e));
        res.on('end', () => resolve());
      }, reject);
    });
  }

  status(timeoutMs = 5000): Promise<GuestStatus> {
    return this.call<GuestStatus>('GET', '/v1/status', undefined, timeoutMs);
  }

  exec(target: string, argv: string[], opts: ExecOptions = {}): Promise<GuestExecResult> {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    return this.call<GuestExecResult>('POST', '/v1/exec', { target, argv, ...opts, timeoutMs }, timeoutMs + 10_000);
  }

  /** Streams output to the callbacks as it comes; resolves with the exit status (128+n for a signal). */
  async execStream(target: string, argv: string[], onEvent: (ev: GuestExecEvent) => void, opts: ExecOptions = {}): Promise<number> {
    let code = 1;
    await this.stream('POST', '/v1/exec/stream', { target, argv, ...opts }, (obj) => {
      const ev = obj as GuestExecEvent | { error: string };
      if ('error' in ev) throw new LabError('exec', ev.error);
      if (ev.type === 'exit') code = ev.code ?? 128 + 9;
      onEvent(ev);
    });
    return code;
  }

  async kubeconfig(server: string): Promise<string> {
    return (await this.call<{ kubeconfig: string }>('GET', `/v1/kubeconfig?server=${encodeURIComponent(server)}`)).kubeconfig;
  }

  async shutdown(): Promise<void> {
    await this.call('POST', '/v1/shutdown', {}, 5000);
  }
}
