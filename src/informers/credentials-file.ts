// Reads kubeconfig files (YAML, parsed with the `yaml` package) into named
// clusters, users and contexts, and merges several the way kubectl does for
// $KUBECONFIG: the first file to define a name wins, and current-context comes
// from the first file that sets it. Relative file references are resolved
// against the directory of the file that holds them (kubectl's ResolvePaths).
// Every problem is a KR_ERR_CONFIG naming the file and the field.

import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeRouterError, errorMessage } from '../errors.js';

/** A YAML mapping as read from the file (field types checked on use). */
export type RawMap = Record<string, unknown>;

export interface Entry {
  name: string;
  /** The file that defined it (relative paths already resolved against it). */
  file: string;
  /** `clusters[0]` etc. in that file, for error messages. */
  where: string;
  body: RawMap;
}

export interface ContextEntry {
  name: string;
  file: string;
  where: string;
  cluster: string;
  user: string;
}

export interface KubeconfigData {
  /** Files read, in order (for messages). */
  files: string[];
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, ContextEntry>;
  currentContext?: string;
  /** The file that set current-context. */
  currentContextFile?: string;
}

/** File-reference fields resolved against the kubeconfig's directory. */
const CLUSTER_PATHS = ['certificate-authority'];
const USER_PATHS = ['client-certificate', 'client-key', 'tokenFile', 'token-file'];

export function configError(message: string, file: string, field: string, cause?: unknown): KubeRouterError {
  return new KubeRouterError('KR_ERR_CONFIG', message, { field, value: file, file }, { cause });
}

function isMap(v: unknown): v is RawMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(doc: RawMap, key: string, file: string): unknown[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw configError(`malformed kubeconfig ${file}: ${key} must be a list`, file, key);
  return v;
}

function resolvePaths(body: RawMap, keys: readonly string[], dir: string): RawMap {
  const out: RawMap = { ...body };
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'string' && v !== '') out[k] = path.resolve(dir, v);
  }
  return out;
}

function entries(doc: RawMap, key: 'clusters' | 'users', inner: 'cluster' | 'user', file: string): Entry[] {
  const paths = key === 'clusters' ? CLUSTER_PATHS : USER_PATHS;
  return list(doc, key, file).map((e, i) => {
    const where = `${key}[${i}]`;
    if (!isMap(e) || typeof e.name !== 'string' || e.name === '') {
      throw configError(`malformed kubeconfig ${file}: ${where}.name is missing`, file, `${where}.name`);
    }
    const body = e[inner] ?? {};
    if (!isMap(body)) throw configError(`malformed kubeconfig ${file}: ${where}.${inner} must be a mapping`, file, `${where}.${inner}`);
    return { name: e.name, file, where: `${where}.${inner}`, body: resolvePaths(body, paths, path.dirname(file)) };
  });
}

function contexts(doc: RawMap, file: string): ContextEntry[] {
  return list(doc, 'contexts', file).map((e, i) => {
    const where = `contexts[${i}]`;
    if (!isMap(e) || typeof e.name !== 'string' || e.name === '') {
      throw configError(`malformed kubeconfig ${file}: ${where}.name is missing`, file, `${where}.name`);
    }
    const c = e.context ?? {};
    if (!isMap(c)) throw configError(`malformed kubeconfig ${file}: ${where}.context must be a mapping`, file, `${where}.context`);
    const str = (k: string): string => (typeof c[k] === 'string' ? (c[k] as string) : '');
    return { name: e.name, file, where: `${where}.context`, cluster: str('cluster'), user: str('user') };
  });
}

/** One kubeconfig file; `what` says where its name came from (--kubeconfig, KUBECONFIG, default). */
export function readKubeconfigFile(file: string, what: string): KubeconfigData {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf-8');
  } catch (err) {
    throw configError(`cannot read kubeconfig ${file} (${what}): ${errorMessage(err)}`, file, 'kubeconfig', err);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw configError(`malformed kubeconfig ${file}: ${errorMessage(err)}`, file, 'kubeconfig', err);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isMap(doc)) throw configError(`malformed kubeconfig ${file}: not a YAML mapping`, file, 'kubeconfig');
  const out: KubeconfigData = { files: [file], clusters: new Map(), users: new Map(), contexts: new Map() };
  // Within one file a repeated name is kept first too (kubectl errors; client-node threw).
  for (const c of entries(doc, 'clusters', 'cluster', file)) if (!out.clusters.has(c.name)) out.clusters.set(c.name, c);
  for (const u of entries(doc, 'users', 'user', file)) if (!out.users.has(u.name)) out.users.set(u.name, u);
  for (const c of contexts(doc, file)) if (!out.contexts.has(c.name)) out.contexts.set(c.name, c);
  const cur = doc['current-context'];
  if (cur !== undefined && cur !== null && typeof cur !== 'string') {
    throw configError(`malformed kubeconfig ${file}: current-context must be a string`, file, 'current-context');
  }
  if (typeof cur === 'string' && cur !== '') {
    out.currentContext = cur;
    out.currentContextFile = file;
  }
  return out;
}

/** kubectl's $KUBECONFIG merge: first definition of each name wins; first current-context wins. */
export function mergeKubeconfigs(parts: readonly KubeconfigData[]): KubeconfigData {
  const out: KubeconfigData = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const p of parts) {
    out.files.push(...p.files);
    for (const [k, v] of p.clusters) if (!out.clusters.has(k)) out.clusters.set(k, v);
    for (const [k, v] of p.users) if (!out.users.has(k)) out.users.set(k, v);
    for (const [k, v] of p.contexts) if (!out.contexts.has(k)) out.contexts.set(k, v);
    if (out.currentContext === undefined && p.currentContext !== undefined) {
      out.currentContext = p.currentContext;
      out.currentContextFile = p.currentContextFile;
    }
  }
  return out;
}

export interface Selected {
  context: string;
  cluster: Entry;
  /** Undefined when the context names no user (anonymous). */
  user?: Entry;
}

/** The current context's cluster and user; a missing one is an error naming the file. */
export function selectCurrent(kc: KubeconfigData): Selected {
  const source = kc.files.join(path.delimiter);
  if (kc.currentContext === undefined) {
    throw configError(`kubeconfig ${source}: no current-context`, kc.files[0] ?? source, 'current-context');
  }
  const ctx = kc.contexts.get(kc.currentContext);
  const ctxFile = kc.currentContextFile ?? source;
  if (!ctx) {
    throw configError(`kubeconfig ${ctxFile}: current-context "${kc.currentContext}" is not among the contexts`, ctxFile, 'current-context');
  }
  const cluster = kc.clusters.get(ctx.cluster);
  if (!cluster) {
    throw configError(`kubeconfig ${ctx.file}: ${ctx.where}.cluster "${ctx.cluster}" is not among the clusters of ${source}`, ctx.file, `${ctx.where}.cluster`);
  }
  let user: Entry | undefined;
  if (ctx.user !== '') {
    user = kc.users.get(ctx.user);
    if (!user) {
      throw configError(`kubeconfig ${ctx.file}: ${ctx.where}.user "${ctx.user}" is not among the users of ${source}`, ctx.file, `${ctx.where}.user`);
    }
  }
  return { context: ctx.name, cluster, user };
}
