// The CNI configuration (kube-router's pkg/utils/cni.go and updateCNIConfig):
// the bridge plugin of a .conflist or a legacy .conf gets this node's pod
// CIDR(s) in host-local `ipam.ranges` (each as its own range set
// `[{"subnet": ...}]`, no-op if present; a legacy `ipam.subnet` is folded into
// `ranges` first) and, with --auto-mtu, `mtu`. Every other field is kept.
// renderCniConf is pure; writeCniConf writes atomically (temp file in the
// same directory, then rename) and only when the content changes.

import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parseCidr } from '../../bgp/ip.js';
import { errorMessage, KubeRouterError } from '../../errors.js';
import { findPackageRoot } from '../../package-root.js';

export const CNI_CONF_ENV = 'KUBE_ROUTER_CNI_CONF_FILE';
export const DEFAULT_CNI_CONF_FILE = '/etc/cni/net.d/10-kuberouter.conflist';
/** IP-in-IP header. */
export const IPIP_OVERHEAD = 20;

export interface CniConfOptions {
  podCidrs: readonly string[];
  /** Bridge MTU; undefined leaves `mtu` as it is (--auto-mtu off). */
  mtu?: number;
}

export type CniRenderResult = { changed: false } | { changed: true; text: string };

/** Where the conf lives: $KUBE_ROUTER_CNI_CONF_FILE, else the default. */
export function cniConfPath(env: NodeJS.ProcessEnv = process.env): string {
  const p = env[CNI_CONF_ENV];
  return p !== undefined && p !== '' ? p : DEFAULT_CNI_CONF_FILE;
}

/** kube-router's auto-MTU: the node interface MTU, minus 20 with the IP-in-IP overlay. */
export function cniMtu(opts: { autoMtu: boolean; enableOverlay: boolean; interfaceMtu: number }): number | undefined {
  if (!opts.autoMtu) return undefined;
  return opts.enableOverlay ? opts.interfaceMtu - IPIP_OVERHEAD : opts.interfaceMtu;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function confError(message: string, value?: string): KubeRouterError {
  return new KubeRouterError('KR_ERR_CONFIG', `CNI conf: ${message}`, value === undefined ? {} : { value });
}

function canonical(cidr: string): string | undefined {
  const c = parseCidr(cidr.trim());
  return c ? `${c.address}/${c.length}` : undefined;
}

/** The bridge plugin: in `plugins` of a conflist, or the conf itself. */
function bridgePlugin(conf: Json): Json {
  if (Array.isArray(conf.plugins)) {
    const p = conf.plugins.find((x: unknown) => isObject(x) && x.type === 'bridge');
    if (!isObject(p)) throw confError('no plugin of type "bridge" in the conflist');
    return p;
  }
  if (conf.type !== 'bridge') throw confError(`the conf is of type ${JSON.stringify(conf.type)}, not "bridge"`);
  return conf;
}

function rangeSubnets(ranges: unknown[]): Set<string> {
  const out = new Set<string>();
  for (const set of ranges) {
    if (!Array.isArray(set)) continue;
    for (const r of set) if (isObject(r) && typeof r.subnet === 'string') out.add(canonical(r.subnet) ?? r.subnet);
  }
  return out;
}

function insertRange(ipam: Json, cidr: string): void {
  if (!Array.isArray(ipam.ranges)) ipam.ranges = [];
  const ranges = ipam.ranges as unknown[];
  const c = canonical(cidr) ?? cidr;
  if (!rangeSubnets(ranges).has(c)) ranges.push([{ subnet: c }]);
}

/**
 * The new conf text, or `{changed: false}` when the existing one already says
 * all this (compared as JSON, so formatting alone never causes a rewrite).
 * `existing` undefined: start from `template`. Throws KR_ERR_CONFIG on
 * unparsable JSON or a conf without a bridge plugin.
 */
export function renderCniConf(existing: string | undefined, template: string, opts: CniConfOptions): CniRenderResult {
  const source = existing ?? template;
  let conf: unknown;
  try {
    conf = JSON.parse(source);
  } catch (err) {
    throw confError(`${existing === undefined ? 'template' : 'existing file'} is not valid JSON: ${errorMessage(err)}`);
  }
  if (!isObject(conf)) throw confError('not a JSON object');
  const before: unknown = JSON.parse(source);
  const bridge = bridgePlugin(conf);
  if (bridge.ipam === undefined) bridge.ipam = { type: 'host-local' };
  if (!isObject(bridge.ipam)) throw confError('the bridge plugin "ipam" is not an object');
  const ipam = bridge.ipam;
  if (typeof ipam.subnet === 'string') {
    if (ipam.subnet !== '') insertRange(ipam, ipam.subnet);
    delete ipam.subnet;
  }
  for (const cidr of opts.podCidrs) {
    if (canonical(cidr) === undefined) throw confError(`pod CIDR ${JSON.stringify(cidr)} is not a CIDR`, cidr);
    insertRange(ipam, cidr);
  }
  if (opts.mtu !== undefined) bridge.mtu = opts.mtu;
  if (existing !== undefined && isDeepStrictEqual(before, conf)) return { changed: false };
  return { changed: true, text: `${JSON.stringify(conf, null, 2)}\n` };
}

/** The template shipped in cni/ for a conf path (.conflist or legacy .conf). */
export async function readCniTemplate(confPath: string): Promise<string> {
  const name = confPath.endsWith('.conflist') ? '10-kuberouter.conflist' : '10-kuberouter.conf';
  // src/controllers/routing (tsx), dist/src/controllers/routing (tsc) or dist/ (the bundle).
  const root = findPackageRoot(import.meta.url, join('cni', name));
  if (root === undefined) throw confError(`template ${name} not found (no cni/${name} in a package directory above ${fileURLToPath(import.meta.url)})`);
  return readFile(join(root, 'cni', name), 'utf8');
}

/**
 * Reads `path` (absent = start from `template`), renders, and writes only when
 * the content changes: to a temp file in the same directory, then rename over
 * the target (readers never see a partial file). Returns whether it wrote.
 */
export async function writeCniConf(path: string, template: string, opts: CniConfOptions): Promise<{ written: boolean }> {
  let existing: string | undefined;
  try {
    existing = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw confError(`cannot read ${path}: ${errorMessage(err)}`, path);
  }
  const result = renderCniConf(existing, template, opts);
  if (!result.changed) return { written: false };
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, result.text, { mode: 0o644 });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw confError(`cannot write ${path}: ${errorMessage(err)}`, path);
  }
  return { written: true };
}
