// Test doubles for the informer unit tests: a scripted Transport, a log
// capture and raw object builders. Not a test file itself.

import { PassThrough, Readable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Transport, TransportResponse } from '../../src/informers/transport.js';

export interface Req {
  path: string;
  query: Record<string, string>;
}

type Reply = TransportResponse | Error | ((req: Req) => TransportResponse | Error);

/** A Transport answering from a queue of scripted replies (one per request). */
export class ScriptedTransport implements Transport {
  readonly requests: Req[] = [];
  private readonly replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  reply(r: Reply): this {
    this.replies.push(r);
    return this;
  }

  async get(path: string, query: URLSearchParams, signal: AbortSignal): Promise<TransportResponse> {
    const req: Req = { path, query: Object.fromEntries(query) };
    this.requests.push(req);
    for (const w of this.waiters.splice(0)) w();
    if (signal.aborted) throw new Error('aborted');
    let r = this.replies.shift();
    if (r === undefined) {
      // Nothing scripted: hang like a silent watch until aborted.
      const body = new PassThrough();
      signal.addEventListener('abort', () => body.destroy(new Error('aborted')), { once: true });
      return { statusCode: 200, body };
    }
    if (typeof r === 'function') r = r(req);
    if (r instanceof Error) throw r;
    return r;
  }

  /** Resolves once `n` requests have been made. */
  async waitForRequests(n: number, timeoutMs = 2000): Promise<void> {
    const t0 = Date.now();
    while (this.requests.length < n) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${n} requests (got ${this.requests.length})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  close(): void {
    this.closed = true;
  }
}

export function jsonResponse(status: number, body: unknown): TransportResponse {
  return { statusCode: status, body: Readable.from([Buffer.from(JSON.stringify(body))]) };
}

export function listPage(items: unknown[], resourceVersion: string, cont = ''): TransportResponse {
  return jsonResponse(200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion, continue: cont || undefined }, items });
}

/** A watch response whose body the test writes to. */
export function watchStream(): { res: TransportResponse; stream: PassThrough; send: (type: string, object: unknown) => void } {
  const stream = new PassThrough();
  return {
    res: { statusCode: 200, body: stream },
    stream,
    send: (type, object) => stream.write(`${JSON.stringify({ type, object })}\n`),
  };
}

export function bookmark(rv: string): unknown {
  return { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: rv } };
}

export function rawService(ns: string, name: string, rv: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${ns}-${name}`,
      resourceVersion: rv,
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}', 'kube-router.io/service.scheduler': 'rr' },
    },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: name } },
    status: { loadBalancer: {} },
    ...extra,
  };
}

export interface LogCapture {
  logger: Logger;
  lines: Record<string, unknown>[];
}

export function captureLogs(level = 'debug'): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

export async function metricValue(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = reg.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  let sum = 0;
  for (const v of data.values) {
    if (Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val)) sum += v.value;
  }
  return sum;
}

/** Polls `cond` until true. */
export async function until(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
