// The cluster state a tool reads: one full LIST of each kind through the
// agent's own informer code (kubeconfig semantics of --kubeconfig/--master,
// the shared cache, slimming, waitForSync with --cache-sync-timeout), or a
// manifests file (-f) slimmed the same way into an in-memory cache. Either
// way the controllers' compile functions then read the same Store API.

import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { KubeRouterError, errorMessage } from '../../errors.js';
import type { SharedCache } from '../../informers/cache.js';
import { FakeSharedCache } from '../../informers/fake-cache.js';
import { loadApiConnection } from '../../informers/kubeconfig.js';
import { createSharedCache } from '../../informers/shared-cache.js';
import { slim } from '../../informers/slim.js';
import { ALL_KINDS, RESOURCES, type KindMap, type ResourceKind } from '../../informers/types.js';
import type { AgentOptions } from '../options/types.js';

/** The kinds every tool reads (the union of the three controllers' kinds). */
export const TOOL_KINDS: readonly ResourceKind[] = ALL_KINDS;

/** Lists every kind from the API server once, then stops the watches. */
export async function snapshotFromApi(options: AgentOptions, logger: Logger): Promise<SharedCache> {
  const conn = await loadApiConnection({ kubeconfig: options.kubeconfig, master: options.master });
  const cache = createSharedCache({ kubeConfig: conn, kinds: TOOL_KINDS, logger, metrics: new Registry() });
  await cache.start();
  try {
    await cache.waitForSync(options.cacheSyncTimeout);
  } finally {
    await cache.stop();
  }
  return cache;
}

function isKind(k: unknown): k is ResourceKind {
  return typeof k === 'string' && (ALL_KINDS as readonly string[]).includes(k);
}

/**
 * The objects of a manifests text (multi-document YAML or JSON; `kind: List`
 * items expanded). Kinds the agent does not read are skipped; a namespaced
 * object without a namespace goes to `default`, as kubectl would put it.
 */
export function cacheFromManifests(text: string, source: string): { cache: FakeSharedCache; skipped: string[] } {
  const cache = new FakeSharedCache({ kinds: TOOL_KINDS });
  void cache.start();
  const skipped: string[] = [];
  const add = (raw: unknown, where: string): void => {
    if (raw === null || typeof raw !== 'object') return;
    const obj = raw as { kind?: unknown; items?: unknown; metadata?: { namespace?: string; name?: string } };
    if (obj.kind === 'List' && Array.isArray(obj.items)) {
      obj.items.forEach((x, i) => add(x, `${where} item ${i + 1}`));
      return;
    }
    if (!isKind(obj.kind)) {
      skipped.push(`${String(obj.kind)} ${obj.metadata?.name ?? '?'}`);
      return;
    }
    const kind = obj.kind;
    if (RESOURCES[kind].namespaced && obj.metadata && !obj.metadata.namespace) obj.metadata.namespace = 'default';
    let lean: KindMap[ResourceKind];
    try {
      lean = slim(kind, raw);
    } catch (err) {
      throw new KubeRouterError('KR_ERR_OBJECT', `${source}: ${where}: ${errorMessage(err)}`, { object: `${kind} ${obj.metadata?.name ?? '?'}`, value: source });
    }
    cache.apply(kind, lean as never);
  };
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw new KubeRouterError('KR_ERR_CONFIG', `${source}: document ${i + 1} does not parse: ${doc.errors[0].message}`, { value: source });
    }
    add(doc.toJS(), `document ${i + 1}`);
  });
  return { cache, skipped };
}

/** -f FILE when given, else the API server. */
export async function loadSnapshot(options: AgentOptions, filename: string | undefined, logger: Logger): Promise<SharedCache> {
  if (filename === undefined) return snapshotFromApi(options, logger);
  let text: string;
  try {
    text = await readFile(filename, 'utf8');
  } catch (err) {
    throw new KubeRouterError('KR_ERR_CONFIG', `cannot read ${filename}: ${errorMessage(err)}`, { field: '-f', value: filename });
  }
  const { cache, skipped } = cacheFromManifests(text, filename);
  if (skipped.length > 0) logger.debug({ skipped }, 'objects of kinds the agent does not read were skipped');
  return cache;
}
