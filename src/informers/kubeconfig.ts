// Loads the API server connection with kube-router's semantics
// (pkg/cmd/kube-router.go):
//   --kubeconfig FILE            that file; --master, if also given, overrides its server
//   --master URL (no kubeconfig) in-cluster credentials (service-account token
//                                and CA) with the host replaced, or the bare URL
//                                when not running in a pod
//   neither                      $KUBECONFIG (kubectl's merge), ~/.kube/config, in-cluster
// A missing or malformed file is a KubeRouterError('KR_ERR_CONFIG') naming the
// file and the field.
//
// The kubeconfig is parsed here (credentials-file.ts) rather than by
// @kubernetes/client-node, whose import alone costs 1.6-2.4 s and ~75 MB RSS
// (22-28 s of CPU in the lab VM). Only users with an exec plugin or an
// auth-provider load it, lazily (credentials-plugin.ts).

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mergeKubeconfigs, readKubeconfigFile, selectCurrent, configError, type Entry, type KubeconfigData } from './credentials-file.js';
import { needsPlugin, pluginConnection } from './credentials-plugin.js';
import { nativeConnection, type ApiConnection, type ConnectionSettings } from './credentials.js';

export type { ApiConnection } from './credentials.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadApiConnectionOptions {
  /** --kubeconfig; '' when not given. */
  kubeconfig?: string;
  /** --master; '' when not given. */
  master?: string;
  /** Where the in-cluster token/CA live (tests point this elsewhere). */
  serviceAccountDir?: string;
  /** Environment to read KUBECONFIG/HOME/KUBERNETES_SERVICE_* from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Clock for token-file re-reads (tests). */
  now?: () => number;
}

/** @deprecated the old name; it now resolves to an ApiConnection. */
export type LoadKubeConfigOptions = LoadApiConnectionOptions;

export async function loadApiConnection(opts: LoadApiConnectionOptions): Promise<ApiConnection> {
  const kubeconfig = opts.kubeconfig ?? '';
  const master = opts.master ?? '';
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const hasToken = (): boolean => fs.existsSync(path.join(saDir, 'token'));

  let data: KubeconfigData;
  if (kubeconfig !== '') {
    data = readKubeconfigFile(kubeconfig, '--kubeconfig');
  } else if (master !== '') {
    if (hasToken()) return nativeConnection(inCluster(saDir, env, checkServer(master, '--master', '--master')), now);
    return nativeConnection({ server: checkServer(master, '--master', '--master'), source: '--master' }, now);
  } else {
    const envFiles = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
    const home = env.HOME ?? os.homedir();
    const defaultFile = path.join(home, '.kube', 'config');
    if (envFiles.length > 0) {
      data = mergeKubeconfigs(envFiles.map((f) => readKubeconfigFile(f, 'KUBECONFIG')));
    } else if (fs.existsSync(defaultFile)) {
      data = readKubeconfigFile(defaultFile, 'default');
    } else if (hasToken()) {
      return nativeConnection(inCluster(saDir, env, undefined), now);
    } else {
      throw configError(
        `no API server configured: give --kubeconfig or --master, set KUBECONFIG, create ${defaultFile} or run in a pod (${saDir}/token)`,
        defaultFile,
        'kubeconfig',
      );
    }
  }

  const sel = selectCurrent(data);
  const settings: ConnectionSettings = { ...clusterSettings(sel.cluster), source: `kubeconfig ${data.files.join(path.delimiter)} (context ${sel.context})` };
  if (master !== '') settings.server = checkServer(master, '--master', '--master');
  if (sel.user) Object.assign(settings, userSettings(sel.user));
  if (needsPlugin(sel.user)) {
    const { token: _t, tokenFile: _f, basic: _b, ...rest } = settings;
    return pluginConnection(rest, sel.user as Entry);
  }
  return nativeConnection(settings, now);
}

/** A valid http(s) URL without a trailing slash. */
function checkServer(server: string, file: string, field: string): string {
  const where = file === field ? field : `kubeconfig ${file}: ${field}`;
  let url: URL;
  try {
    url = new URL(server);
  } catch (err) {
    throw configError(`${where}: invalid server URL "${server}"`, file, field, err);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(`${where}: unsupported server scheme "${url.protocol}" in "${server}"`, file, field);
  }
  return server.replace(/\/+$/, '');
}

function str(e: Entry, key: string): string | undefined {
  const v = e.body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw configError(`kubeconfig ${e.file}: ${e.where}.${key} must be a string`, e.file, `${e.where}.${key}`);
  return v;
}

function readFile(file: string, e: Entry, key: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw configError(`kubeconfig ${e.file}: ${e.where}.${key}: cannot read file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, file, `${e.where}.${key}`, err);
  }
}

/** `X-data` (base64) wins over `X` (a file, which must still be readable), as in client-go. */
function material(e: Entry, fileKey: string): { data?: Buffer; file?: string } {
  const file = str(e, fileKey);
  const data = str(e, `${fileKey}-data`);
  const fromFile = file !== undefined ? readFile(file, e, fileKey) : undefined;
  if (data !== undefined) return { data: Buffer.from(data, 'base64'), file };
  return { data: fromFile, file };
}

function clusterSettings(c: Entry): Omit<ConnectionSettings, 'source'> {
  const server = str(c, 'server');
  if (server === undefined) throw configError(`kubeconfig ${c.file}: ${c.where}.server is missing`, c.file, `${c.where}.server`);
  const insecure = c.body['insecure-skip-tls-verify'];
  if (insecure !== undefined && insecure !== null && typeof insecure !== 'boolean') {
    throw configError(`kubeconfig ${c.file}: ${c.where}.insecure-skip-tls-verify must be true or false`, c.file, `${c.where}.insecure-skip-tls-verify`);
  }
  const ca = material(c, 'certificate-authority');
  return {
    server: checkServer(server, c.file, `${c.where}.server`),
    caData: ca.data,
    caFile: ca.file,
    insecureSkipTLSVerify: insecure === true,
    tlsServerName: str(c, 'tls-server-name'),
  };
}

function userSettings(u: Entry): Partial<ConnectionSettings> {
  const cert = material(u, 'client-certificate');
  const key = material(u, 'client-key');
  if ((cert.data === undefined) !== (key.data === undefined)) {
    const missing = cert.data === undefined ? 'client-certificate' : 'client-key';
    throw configError(`kubeconfig ${u.file}: ${u.where}.${missing}(-data) is missing (a client certificate needs both)`, u.file, `${u.where}.${missing}`);
  }
  const out: Partial<ConnectionSettings> = { certData: cert.data, certFile: cert.file, keyData: key.data, keyFile: key.file };
  out.token = str(u, 'token');
  // kubectl spells it tokenFile; client-node read token-file.
  out.tokenFile = str(u, 'tokenFile') ?? str(u, 'token-file');
  const username = str(u, 'username');
  if (username !== undefined) out.basic = { username, password: str(u, 'password') ?? '' };
  out.impersonate = str(u, 'as');
  return out;
}

/** In-cluster settings: the service-account token (re-read) and CA; the server from the env unless overridden. */
function inCluster(saDir: string, env: NodeJS.ProcessEnv, server: string | undefined): ConnectionSettings {
  const caFile = path.join(saDir, 'ca.crt');
  let caData: Buffer;
  try {
    caData = fs.readFileSync(caFile);
  } catch (err) {
    throw configError(`in-cluster config: cannot read the service-account CA ${caFile}: ${(err as NodeJS.ErrnoException).code ?? err}`, caFile, 'ca.crt', err);
  }
  return { server: server ?? inClusterServer(env), caData, caFile, tokenFile: path.join(saDir, 'token'), source: `in-cluster ${saDir}` };
}

/** https://KUBERNETES_SERVICE_HOST:PORT (IPv6 bracketed; http on 80/8080/8001, as client-node). */
export function inClusterServer(env: NodeJS.ProcessEnv): string {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  if (host === '' || port === '') {
    const field = host === '' ? 'KUBERNETES_SERVICE_HOST' : 'KUBERNETES_SERVICE_PORT';
    throw configError(`in-cluster config: ${field} is not set (not running in a pod?)`, SERVICE_ACCOUNT_DIR, field);
  }
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const h = net.isIPv6(host) ? `[${host}]` : host;
  return checkServer(`${scheme}://${h}:${port}`, 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_HOST');
}
