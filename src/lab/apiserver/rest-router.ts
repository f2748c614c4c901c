// The HTTP handler: authentication, discovery, and the verbs on resources
// (list, watch, get, create, update, patch, delete, deletecollection).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { ApiRequestLog, StoredObject } from './types.js';
import type { KindInfo } from './kinds.js';
import { groupVersions } from './kinds.js';
import type { DeleteOptions, LabStore } from './store.js';
import { route } from './routes.js';
import { rootPaths } from './routes.js';
import { openAPIDoc } from './openapi.js';
import { bindPod, evictPod } from './pod-actions.js';
import {
  AGGREGATED_CONTENT_TYPE,
  SERVER_VERSION,
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiVersions,
  resourceList,
  wantsAggregated,
} from './discovery.js';
import { acceptsJSON, mediaType, parseObjectBody, queryBool, queryInt, readBody, sendError, sendJSON, wantsMetadataOnly, wantsTable } from './http-util.js';
import { PATCH_TYPES, applyPatch } from './patch.js';
import { StatusError, badRequest, methodNotAllowed, notFound, notFoundPath, successStatus, unauthorized, unsupportedMediaType } from './status.js';
import { itemJSON, objectJSON, serveWatch, type ActiveWatch } from './watch-stream.js';
import { partialMetadata, toTable, type IncludeObject } from './table.js';
import { isObject } from './obj.js';

export type RequestLog = ApiRequestLog;

export interface HandlerContext {
  store: LabStore;
  token: string;
  bookmarkIntervalMs: number;
  watches: Set<ActiveWatch>;
  /** host:port for /api's serverAddressByClientCIDRs. */
  serverAddress: () => string;
  onRequest?: (log: RequestLog) => void;
}

function authorized(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization;
  if (h === undefined || !h.startsWith('Bearer ')) return false;
  const got = Buffer.from(h.slice(7).trim());
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

function listJSON(info: KindInfo, meta: Record<string, unknown>, items: StoredObject[]): string {
  // kube-apiserver's list items carry no kind/apiVersion.
  const parts = items.map(itemJSON);
  return `{"kind":"${info.listKind}","apiVersion":"${info.apiVersion}","metadata":${JSON.stringify(meta)},"items":[${parts.join(',')}]}`;
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  if (v === 'None' || v === 'Object') return v;
  return 'Metadata';
}

function dryRun(q: URLSearchParams, body?: unknown): boolean {
  if (q.getAll('dryRun').includes('All')) return true;
  if (isObject(body) && Array.isArray(body.dryRun) && body.dryRun.includes('All')) return true;
  return false;
}

export function createHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'https://lab');
    let isWatch = false;
    res.on('finish', () => {
      if (!isWatch) ctx.onRequest?.({ method: req.method ?? '', url: req.url ?? '', code: res.statusCode, ms: Date.now() - started, userAgent: req.headers['user-agent'] });
    });
    handle(ctx, req, res, url, () => {
      isWatch = true;
      ctx.onRequest?.({ method: req.method ?? '', url: req.url ?? '', code: 200, ms: 0, userAgent: req.headers['user-agent'], watch: true });
    }).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  };
}

async function handle(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, url: URL, markWatch: () => void): Promise<void> {
  const r = route(url.pathname);
  const method = req.method ?? 'GET';
  if (r.type === 'health') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('ok');
    return;
  }
  if (!authorized(req, ctx.token)) throw unauthorized();
  if (r.type === 'notFound') throw notFoundPath();
  if (r.type === 'openapi') {
    const doc = openAPIDoc(r.rest);
    if (doc === undefined) throw notFoundPath();
    if (method !== 'GET') throw methodNotAllowed();
    return sendJSON(res, 200, doc);
  }
  if (!acceptsJSON(req.headers.accept) && !wantsAggregated(req.headers.accept)) {
    throw new StatusError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml`);
  }
  const accept = req.headers.accept;
  const discoveryGet = (body: unknown): void => {
    if (method !== 'GET') throw methodNotAllowed();
    sendJSON(res, 200, body);
  };
  switch (r.type) {
    case 'root':
      return discoveryGet({ paths: rootPaths(groupVersions()) });
    case 'version':
      return discoveryGet(SERVER_VERSION);
    case 'api':
      if (method === 'GET' && wantsAggregated(accept)) return sendJSON(res, 200, aggregatedDiscovery(true), AGGREGATED_CONTENT_TYPE);
      return discoveryGet(apiVersions(ctx.serverAddress()));
    case 'apis':
      if (method === 'GET' && wantsAggregated(accept)) return sendJSON(res, 200, aggregatedDiscovery(false), AGGREGATED_CONTENT_TYPE);
      return discoveryGet(apiGroupList());
    case 'group': {
      const doc = apiGroupDoc(r.group);
      if (doc === undefined) throw notFoundPath();
      return discoveryGet(doc);
    }
    case 'resourceList': {
      const doc = resourceList(r.group, r.version);
      if (doc === undefined) throw notFoundPath();
      return discoveryGet(doc);
    }
    case 'resource':
      return resource(ctx, req, res, url.searchParams, r, markWatch);
  }
}

type ResourceRoute = Extract<ReturnType<typeof route>, { type: 'resource' }>;

async function resource(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, r: ResourceRoute, markWatch: () => void): Promise<void> {
  const { info, namespace, name, subresource } = r;
  const method = req.method ?? 'GET';
  const store = ctx.store;
  const table = wantsTable(req.headers.accept) ? includeObject(q) : undefined;
  const metadataOnly = table === undefined && wantsMetadataOnly(req.headers.accept);
  const sel = {
    namespace,
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
  };
  if (name === undefined) {
    // collection
    if (method === 'GET') {
      if (r.legacyWatch || queryBool(q, 'watch')) {
        markWatch();
        serveWatch(req, res, {
          store,
          info,
          query: { ...sel, sendInitialEvents: queryBool(q, 'sendInitialEvents') },
          fromRV: q.get('resourceVersion') ?? '',
          bookmarks: queryBool(q, 'allowWatchBookmarks'),
          bookmarkIntervalMs: ctx.bookmarkIntervalMs,
          timeoutSeconds: queryInt(q, 'timeoutSeconds'),
          table,
          metadataOnly,
          registry: ctx.watches,
        });
        return;
      }
      const page = store.listRaw(info.kind, {
        ...sel,
        limit: queryInt(q, 'limit'),
        continue: q.get('continue') ?? undefined,
        resourceVersion: q.get('resourceVersion') ?? undefined,
        resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
      });
      const meta: Record<string, unknown> = { resourceVersion: page.resourceVersion };
      if (page.continue !== undefined) meta.continue = page.continue;
      if (page.remainingItemCount !== undefined) meta.remainingItemCount = page.remainingItemCount;
      if (table !== undefined) return sendJSON(res, 200, toTable(info.kind, page.items, meta, table));
      if (metadataOnly) return sendJSON(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: meta, items: page.items.map(partialMetadata) });
      return sendJSON(res, 200, listJSON(info, meta, page.items));
    }
    if (method === 'POST') {
      if (info.namespaced && namespace === undefined) throw methodNotAllowed();
      const body = parseObjectBody(await readBody(req), req.headers['content-type']);
      const obj = withURLNamespace(body, namespace);
      const created = store.createRaw(info.kind, obj, { dryRun: dryRun(q) });
      return sendJSON(res, 201, objectJSON(created));
    }
    if (method === 'DELETE') {
      const page = store.listRaw(info.kind, sel);
      const opts = await deleteOptions(req, q);
      for (const o of page.items) {
        try {
          store.deleteRaw(info.kind, o.metadata.namespace, o.metadata.name, opts);
        } catch (err) {
          if (!(err instanceof StatusError && err.httpCode === 404)) throw err;
        }
      }
      return sendJSON(res, 200, successStatus({ group: info.group || undefined, kind: info.plural }));
    }
    throw methodNotAllowed();
  }

  // one object
  if (subresource === 'binding' || subresource === 'eviction') {
    if (method !== 'POST') throw methodNotAllowed();
    const body = parseObjectBody(await readBody(req), req.headers['content-type']);
    const ns = namespace as string;
    const st = subresource === 'binding' ? bindPod(store, ns, name, body, dryRun(q)) : evictPod(store, ns, name, body, dryRun(q));
    return sendJSON(res, 201, st);
  }
  switch (method) {
    case 'GET': {
      const o = store.getRaw(info.kind, namespace, name);
      if (o === undefined) throw notFound(info, name);
      if (table !== undefined) return sendJSON(res, 200, toTable(info.kind, [o], { resourceVersion: o.metadata.resourceVersion }, table));
      if (metadataOnly) return sendJSON(res, 200, partialMetadata(o));
      return sendJSON(res, 200, objectJSON(o));
    }
    case 'PUT': {
      const body = parseObjectBody(await readBody(req), req.headers['content-type']);
      const obj = withURLNamespace(body, namespace);
      if (obj.metadata.name !== name) {
        throw badRequest(`the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`);
      }
      const existed = store.getRaw(info.kind, namespace, name) !== undefined;
      const updated = store.updateRaw(info.kind, obj, { subresource: subresource === 'status' ? 'status' : undefined, dryRun: dryRun(q) });
      return sendJSON(res, existed ? 200 : 201, objectJSON(updated));
    }
    case 'PATCH': {
      const ct = mediaType(req.headers['content-type']);
      const allowed: string[] = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic];
      if (!allowed.includes(ct)) throw unsupportedMediaType(ct, allowed);
      const patchDoc = parseObjectBody(await readBody(req), 'application/json');
      const updated = store.mutateRaw(info.kind, namespace, name, (cur) => applyPatch(ct, cur, patchDoc) as StoredObject, {
        subresource: subresource === 'status' ? 'status' : undefined,
        dryRun: dryRun(q),
      });
      return sendJSON(res, 200, objectJSON(updated));
    }
    case 'DELETE': {
      if (subresource !== undefined) throw methodNotAllowed();
      const opts = await deleteOptions(req, q);
      const { object, deleted } = store.deleteRaw(info.kind, namespace, name, opts);
      if (info.returnDeletedObject || !deleted) return sendJSON(res, 200, objectJSON(object));
      return sendJSON(res, 200, successStatus({ name, group: info.group || undefined, kind: info.plural, uid: object.metadata.uid }));
    }
    default:
      throw methodNotAllowed();
  }
}

function withURLNamespace(body: unknown, namespace: string | undefined): StoredObject {
  if (!isObject(body)) throw badRequest('the object provided is not a JSON object');
  const obj = body as StoredObject;
  if (!isObject(obj.metadata)) obj.metadata = { name: '' };
  if (namespace !== undefined) {
    const ns = obj.metadata.namespace;
    if (ns === undefined || ns === '') obj.metadata.namespace = namespace;
    else if (ns !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return obj;
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const opts: DeleteOptions = {};
  const buf = await readBody(req);
  let body: unknown;
  if (buf.length > 0 && buf.toString('utf8').trim() !== '') body = parseObjectBody(buf, req.headers['content-type']);
  const grace = queryInt(q, 'gracePeriodSeconds') ?? (isObject(body) && typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined);
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  if (isObject(body) && isObject(body.preconditions)) {
    const p = body.preconditions;
    opts.preconditions = {};
    if (typeof p.uid === 'string') opts.preconditions.uid = p.uid;
    if (typeof p.resourceVersion === 'string') opts.preconditions.resourceVersion = p.resourceVersion;
  }
  if (dryRun(q, body)) opts.dryRun = true;
  return opts;
}
