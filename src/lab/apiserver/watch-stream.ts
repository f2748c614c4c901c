// One HTTP watch: chunked JSON lines `{"type":..,"object":..}` as
// kube-apiserver streams them. A resourceVersion that was compacted away is
// answered the way kube-apiserver does: 200, one ERROR event carrying a 410
// Expired Status, end of stream. Bookmarks (allowWatchBookmarks=true) carry
// the current global resourceVersion every bookmarkIntervalMs.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredObject } from './types.js';
import type { KindInfo } from './kinds.js';
import type { LabStore, WatchQuery } from './store.js';
import type { RawWatchEvent } from './watch-hub.js';
import { objectFilter } from './watch-hub.js';
import { StatusError } from './status.js';
import { sendError } from './http-util.js';
import { partialMetadata, toTable, type IncludeObject } from './table.js';

export interface ActiveWatch {
  end(): void;
}

export interface WatchRequest {
  store: LabStore;
  info: KindInfo;
  query: WatchQuery;
  fromRV: string;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutSeconds?: number;
  /** Send meta.k8s.io Tables (kubectl get -w). */
  table?: IncludeObject;
  /** Send PartialObjectMetadata (client-go's metadata client). */
  metadataOnly?: boolean;
  registry: Set<ActiveWatch>;
}

/** Serialized objects, shared by every watcher (stored objects are immutable). */
const jsonCache = new WeakMap<StoredObject, string>();

export function objectJSON(o: StoredObject): string {
  let s = jsonCache.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    jsonCache.set(o, s);
  }
  return s;
}

const itemCache = new WeakMap<StoredObject, string>();

/** A list item as kube-apiserver writes it: without kind and apiVersion. */
export function itemJSON(o: StoredObject): string {
  let s = itemCache.get(o);
  if (s === undefined) {
    const { kind: _k, apiVersion: _a, ...rest } = o;
    s = JSON.stringify(rest);
    itemCache.set(o, s);
  }
  return s;
}

const MAX_BUFFERED = 64 * 1024 * 1024;

export function serveWatch(req: IncomingMessage, res: ServerResponse, w: WatchRequest): void {
  try {
    objectFilter(w.info, w.query); // 400 on bad selectors, before the stream starts
    if (w.fromRV !== '' && !/^\d+$/.test(w.fromRV)) throw new StatusError(400, 'BadRequest', `invalid resource version: "${w.fromRV}"`);
  } catch (err) {
    sendError(res, err);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  let ended = false;
  let firstTable = true;
  let stopWatch: (() => void) | undefined;
  const timers: NodeJS.Timeout[] = [];
  const active: ActiveWatch = { end: () => finish() };

  function finish(): void {
    if (ended) return;
    ended = true;
    stopWatch?.();
    for (const t of timers) clearTimeout(t);
    w.registry.delete(active);
    if (!res.writableEnded) res.end();
  }

  function write(line: string): void {
    if (ended) return;
    res.write(line);
    if (res.writableLength > MAX_BUFFERED) finish(); // a client that does not read: drop it, it will relist
  }

  function onEvent(ev: RawWatchEvent): void {
    if (w.metadataOnly === true) {
      write(`{"type":"${ev.type}","object":${JSON.stringify(partialMetadata(ev.object))}}\n`);
      return;
    }
    if (w.table !== undefined) {
      const t = toTable(w.info.kind, [ev.object], { resourceVersion: String(ev.object.metadata.resourceVersion) }, w.table, firstTable);
      firstTable = false;
      write(`{"type":"${ev.type}","object":${JSON.stringify(t)}}\n`);
      return;
    }
    write(`{"type":"${ev.type}","object":${objectJSON(ev.object)}}\n`);
  }

  function bookmark(annotations?: Record<string, string>): void {
    const md: Record<string, unknown> = { resourceVersion: w.store.resourceVersion() };
    if (annotations !== undefined) md.annotations = annotations;
    write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: w.info.kind, apiVersion: w.info.apiVersion, metadata: md } })}\n`);
  }

  req.on('close', finish);
  res.on('close', finish);
  w.registry.add(active);

  try {
    stopWatch = w.store.watchRaw(w.info.kind, w.fromRV, w.query, onEvent, () => finish());
  } catch (err) {
    if (err instanceof StatusError) {
      write(`${JSON.stringify({ type: 'ERROR', object: err.status })}\n`);
    }
    finish();
    return;
  }
  if (ended) {
    stopWatch();
    return;
  }
  if (w.bookmarks && w.query.sendInitialEvents === true) bookmark({ 'k8s.io/initial-events-end': 'true' });
  if (w.bookmarks) {
    const iv = setInterval(() => bookmark(), Math.max(10, w.bookmarkIntervalMs));
    timers.push(iv);
  }
  const timeoutS = w.timeoutSeconds ?? 1800 + Math.floor(Math.random() * 1800);
  if (timeoutS > 0) timers.push(setTimeout(finish, timeoutS * 1000));
}
