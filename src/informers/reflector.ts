// A reflector: list-then-watch of one kind, forever, into a ReflectorSink.
//
//   list:  GET path?limit=500[&continue=T] page by page; each item is slimmed
//          and handed to the sink as it arrives (only one page of raw JSON is
//          alive at a time); then listDone(seen keys, list resourceVersion),
//          which turns cached-but-not-listed objects into deletes.
//   watch: GET path?watch=1&resourceVersion=RV&allowWatchBookmarks=true&
//          timeoutSeconds=<300..600, jittered as client-go>; the body is split
//          into lines and parsed one by one; RV follows every event and BOOKMARK.
//          A client-side inactivity timer ends a silent (half-open) stream.
//   errors: any failure (connection refused while the API server restarts,
//          a non-200, an ERROR event, a broken stream) → watch again from RV
//          after an exponential backoff with jitter, reset after a healthy watch;
//          410 Gone (HTTP or ERROR event code 410) → relist and diff.
//
// A bad line or a malformed object is logged and counted, never fatal.

import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { KubeRouterError, errorMessage } from '../errors.js';
import { Backoff, sleep as defaultSleep, type BackoffOptions } from './backoff.js';
import type { ReflectorSink, WatchEventType } from './kind-informer.js';
import { LineSplitter } from './lines.js';
import type { InformerMetrics } from './metrics.js';
import { describeRaw, slim } from './slim.js';
import type { Transport } from './transport.js';
import { RESOURCES, objectKey, type KindMap, type ResourceKind } from './types.js';

export interface ReflectorOptions<K extends ResourceKind> {
  kind: K;
  transport: Transport;
  sink: ReflectorSink<KindMap[K]>;
  logger: Logger;
  metrics: InformerMetrics;
  /** Items per list page (default 500). */
  pageSize?: number;
  /** Watch timeoutSeconds is drawn from [min, 2*min) (default 300 s, as client-go). */
  minWatchTimeoutSeconds?: number;
  /** A watch or list body silent for this long is abandoned (default 150 s). */
  inactivityTimeoutMs?: number;
  /** A watch that lasted this long counts as healthy: the backoff resets (default 1 s). */
  healthyWatchMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

type WatchEnd = 'gone' | 'closed';

interface Status {
  code?: number;
  reason?: string;
  message?: string;
}

class GoneError extends Error {}

export class Reflector<K extends ResourceKind> {
  readonly kind: K;
  private readonly resource: string;
  private readonly path: string;
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private loop: Promise<void> | undefined;
  private rv = '';
  private lists = 0;
  private watches = 0;

  constructor(private readonly o: ReflectorOptions<K>) {
    this.kind = o.kind;
    this.resource = RESOURCES[o.kind].plural;
    this.path = RESOURCES[o.kind].path;
    this.backoff = new Backoff({ random: o.random, ...o.backoff });
  }

  /** The resourceVersion the next watch starts from. */
  get lastResourceVersion(): string {
    return this.rv;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Ends the list/watch loop and any open request; resolves when it has stopped. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async pause(ms: number): Promise<void> {
    await (this.o.sleep ?? defaultSleep)(ms, this.abort.signal);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private async run(): Promise<void> {
    let needList = true;
    let consecutiveGone = 0;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.list();
          needList = false;
          if (this.stopped) break;
        } catch (err) {
          if (this.stopped) break;
          this.o.metrics.watchErrors.labels(this.resource).inc();
          const delay = this.backoff.next();
          const attempt = this.backoff.attempts;
          this.o.logger[attempt <= 3 || attempt % 10 === 0 ? 'warn' : 'debug']({ kind: this.kind, err: errorMessage(err), retryInMs: delay, attempt }, 'informer: list failed');
          await this.pause(delay);
          continue;
        }
      }
      const started = this.now();
      try {
        const end = await this.watch();
        const healthy = this.now() - started >= (this.o.healthyWatchMs ?? 1000);
        if (end === 'gone') {
          this.o.metrics.gone.labels(this.resource).inc();
          this.o.logger.info({ kind: this.kind, resourceVersion: this.rv }, 'informer: watch position expired (410 Gone), relisting');
          needList = true;
          // Relist at once; only a run of 410s right after relists backs off.
          if (++consecutiveGone > 1) await this.pause(this.backoff.next());
        } else if (healthy) {
          consecutiveGone = 0;
          this.backoff.reset();
        } else {
          await this.pause(this.backoff.next());
        }
      } catch (err) {
        if (this.stopped) break;
        if (this.now() - started >= (this.o.healthyWatchMs ?? 1000)) {
          consecutiveGone = 0;
          this.backoff.reset();
        }
        this.o.metrics.watchErrors.labels(this.resource).inc();
        const delay = this.backoff.next();
        // An API server outage fails every kind every few seconds: warn on the
        // first attempts and every 10th, the rest at debug.
        const attempt = this.backoff.attempts;
        this.o.logger[attempt <= 3 || attempt % 10 === 0 ? 'warn' : 'debug'](
          { kind: this.kind, err: errorMessage(err), resourceVersion: this.rv, retryInMs: delay, attempt },
          'informer: watch failed',
        );
        await this.pause(delay);
      }
    }
  }

  // ---- list ----

  private async list(): Promise<void> {
    const t0 = this.now();
    const seen = new Set<string>();
    let cont = '';
    let listRv = '';
    let pages = 0;
    do {
      const q = new URLSearchParams({ limit: String(this.o.pageSize ?? 500) });
      if (cont !== '') q.set('continue', cont);
      const res = await this.o.transport.get(this.path, q, this.abort.signal);
      if (res.statusCode !== 200) {
        const st = await readStatus(res.body);
        // 410 here = the continue token expired: start the list over.
        throw this.apiError('list', res.statusCode, st);
      }
      const text = await this.readAll(res.body);
      let page: unknown;
      try {
        page = JSON.parse(text);
      } catch (err) {
        throw new KubeRouterError('KR_ERR_API', `GET ${this.path}: list response is not JSON`, { call: `GET ${this.path}` }, { cause: err });
      }
      const meta = isRecord(page) && isRecord(page.metadata) ? page.metadata : {};
      const items = isRecord(page) && Array.isArray(page.items) ? page.items : [];
      if (pages === 0) listRv = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '';
      cont = typeof meta.continue === 'string' ? meta.continue : '';
      pages++;
      for (const raw of items) {
        const obj = this.decode(raw);
        if (obj === undefined) continue;
        seen.add(objectKey(obj));
        this.o.sink.listItem(obj);
      }
    } while (cont !== '' && !this.stopped);
    if (this.stopped) return;
    this.o.sink.listDone(seen, listRv);
    this.rv = listRv;
    this.lists++;
    this.o.metrics.lists.labels(this.resource).inc();
    if (this.lists > 1) this.o.metrics.relists.labels(this.resource).inc();
    this.o.logger.debug({ kind: this.kind, items: seen.size, pages, resourceVersion: listRv, ms: this.now() - t0 }, 'informer: listed');
  }

  private decode(raw: unknown): KindMap[K] | undefined {
    try {
      return slim(this.kind, raw);
    } catch (err) {
      this.o.metrics.malformedObjects.labels(this.resource).inc();
      this.o.logger.warn({ kind: this.kind, object: describeRaw(this.kind, raw), err: errorMessage(err) }, 'informer: skipping malformed object');
      return undefined;
    }
  }

  // ---- watch ----

  private async watch(): Promise<WatchEnd> {
    const min = this.o.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + (this.o.random ?? Math.random)()));
    const q = new URLSearchParams({
      watch: '1',
      resourceVersion: this.rv,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    });
    if (this.watches++ > 0) this.o.metrics.watchRestarts.labels(this.resource).inc();
    this.o.logger.debug({ kind: this.kind, resourceVersion: this.rv, timeoutSeconds }, 'informer: watching');
    const res = await this.o.transport.get(this.path, q, this.abort.signal);
    if (res.statusCode === 410) {
      res.body.resume();
      return 'gone';
    }
    if (res.statusCode !== 200) throw this.apiError('watch', res.statusCode, await readStatus(res.body));
    const splitter = new LineSplitter();
    try {
      await this.consume(res.body, (chunk) => {
        for (const line of splitter.push(chunk)) this.handleLine(line);
      });
      const last = splitter.flush();
      if (last !== undefined) this.handleLine(last);
    } catch (err) {
      if (err instanceof GoneError) return 'gone';
      throw err;
    }
    return 'closed';
  }

  private handleLine(line: string): void {
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      this.badLine(line, 'not JSON');
      return;
    }
    if (!isRecord(ev) || typeof ev.type !== 'string' || !isRecord(ev.object)) {
      this.badLine(line, 'not a watch event');
      return;
    }
    const type = ev.type;
    const object = ev.object;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const obj = this.decode(object);
        if (obj !== undefined) this.o.sink.watchEvent(type as WatchEventType, obj);
        else if (type === 'DELETED') this.deleteUndecodable(object);
        const rv = isRecord(object.metadata) ? object.metadata.resourceVersion : undefined;
        if (typeof rv === 'string' && rv !== '') this.rv = rv;
        return;
      }
      case 'BOOKMARK': {
        const rv = isRecord(object.metadata) ? object.metadata.resourceVersion : undefined;
        if (typeof rv === 'string' && rv !== '') {
          this.rv = rv;
          this.o.sink.bookmark(rv);
        }
        return;
      }
      case 'ERROR': {
        const st = object as Status;
        if (st.code === 410) throw new GoneError();
        throw this.apiError('watch ERROR event', st.code ?? 0, st);
      }
      default:
        this.badLine(line, `unknown event type ${type}`);
    }
  }

  /** A DELETED event whose object is malformed still removes the cached copy (no lost deletes). */
  private deleteUndecodable(object: Record<string, unknown>): void {
    const md = isRecord(object.metadata) ? object.metadata : {};
    if (typeof md.name !== 'string' || md.name === '') return;
    const ns = typeof md.namespace === 'string' ? md.namespace : '';
    this.o.sink.removeKey(ns !== '' ? `${ns}/${md.name}` : md.name);
  }

  private badLine(line: string, why: string): void {
    this.o.metrics.badLines.labels(this.resource).inc();
    this.o.logger.warn({ kind: this.kind, why, line: line.length > 200 ? `${line.slice(0, 200)}…` : line }, 'informer: bad watch line');
  }

  /** Feeds body chunks to `onChunk`, ending the stream if it stays silent too long or the reflector stops. */
  private async consume(body: Readable, onChunk: (chunk: Buffer) => void): Promise<void> {
    const limit = this.o.inactivityTimeoutMs ?? 150_000;
    const timer = setTimeout(() => {
      body.destroy(new KubeRouterError('KR_ERR_API', `no data for ${limit} ms`, { call: `GET ${this.path}` }));
    }, limit);
    const onAbort = (): void => {
      body.destroy();
    };
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of body) {
        timer.refresh();
        onChunk(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
        if (this.stopped) break;
      }
    } catch (err) {
      body.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onAbort);
    }
  }

  private async readAll(body: Readable): Promise<string> {
    const chunks: Buffer[] = [];
    await this.consume(body, (c) => chunks.push(c));
    return Buffer.concat(chunks).toString('utf8');
  }

  private apiError(what: string, statusCode: number, st: Status | undefined): KubeRouterError {
    const msg = st?.message ?? '';
    return new KubeRouterError(
      'KR_ERR_API',
      `${what} ${this.path}: HTTP ${statusCode}${st?.reason ? ` ${st.reason}` : ''}${msg ? `: ${msg}` : ''}`,
      { call: `GET ${this.path}`, object: this.kind, statusCode, reason: st?.reason },
    );
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads (at most 64 KiB of) an error body as a Status, if it is one. */
async function readStatus(body: Readable): Promise<Status | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body) {
      const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
      if (n < 65536) chunks.push(b);
      n += b.length;
    }
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return isRecord(v) ? (v as Status) : undefined;
  } catch {
    return undefined;
  }
}
