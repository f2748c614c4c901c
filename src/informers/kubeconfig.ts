// Loads the API server connection settings with kube-router's semantics
// (pkg/cmd/kube-router.go):
//   --kubeconfig FILE            that file; --master, if also given, overrides its server
//   --master URL (no kubeconfig) in-cluster credentials (service-account token
//                                and CA) with the host replaced, or the bare URL
//                                when not running in a pod
//   neither                      $KUBECONFIG, ~/.kube/config, in-cluster (loadFromDefault)
// A missing or malformed file is a KubeRouterError('KR_ERR_CONFIG') naming the path.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '@kubernetes/client-node';
import { KubeRouterError, errorMessage } from '../errors.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  /** --kubeconfig; '' when not given. */
  kubeconfig?: string;
  /** --master; '' when not given. */
  master?: string;
  /** Where the in-cluster token/CA live (tests point this elsewhere). */
  serviceAccountDir?: string;
  /** Environment to read KUBECONFIG/HOME from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(opts: LoadKubeConfigOptions): KubeConfig {
  const kubeconfig = opts.kubeconfig ?? '';
  const master = opts.master ?? '';
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const env = opts.env ?? process.env;
  let kc: KubeConfig;
  let source: string;
  if (kubeconfig !== '') {
    kc = fromFile(kubeconfig, '--kubeconfig');
    source = kubeconfig;
    if (master !== '') kc = withServer(kc, master, source);
  } else if (master !== '') {
    kc = fromMaster(master, saDir);
    source = '--master';
  } else {
    const envFiles = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
    if (envFiles.length > 0) {
      kc = fromFile(envFiles[0], 'KUBECONFIG');
      for (const extra of envFiles.slice(1)) {
        const more = fromFile(extra, 'KUBECONFIG');
        try {
          kc.mergeConfig(more, true);
        } catch (err) {
          throw configError(`cannot merge kubeconfig ${extra}: ${errorMessage(err)}`, extra, err);
        }
      }
      source = envFiles.join(path.delimiter);
    } else {
      const home = env.HOME ?? os.homedir();
      const defaultFile = path.join(home, '.kube', 'config');
      if (fs.existsSync(defaultFile)) {
        kc = fromFile(defaultFile, 'default');
        source = defaultFile;
      } else if (fs.existsSync(path.join(saDir, 'token'))) {
        kc = inCluster(saDir, undefined);
        source = saDir;
      } else {
        throw configError(
          `no API server configured: give --kubeconfig or --master, set KUBECONFIG, create ${defaultFile} or run in a pod (${saDir}/token)`,
          defaultFile,
        );
      }
    }
  }
  validate(kc, source);
  const cluster = kc.getCurrentCluster();
  // A plain-http server has no TLS to verify; client-node refuses it unless skipTLSVerify is set.
  if (cluster && cluster.server.startsWith('http:') && !cluster.skipTLSVerify) kc = withServer(kc, cluster.server, source);
  return kc;
}

function configError(message: string, file: string, cause?: unknown): KubeRouterError {
  return new KubeRouterError('KR_ERR_CONFIG', message, { field: 'kubeconfig', value: file }, { cause });
}

function fromFile(file: string, what: string): KubeConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf-8');
  } catch (err) {
    throw configError(`cannot read kubeconfig ${file} (${what}): ${errorMessage(err)}`, file, err);
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
    // Relative caFile/certFile/keyFile are relative to the kubeconfig's directory.
    for (const c of kc.getClusters()) if (c.caFile) c.caFile = path.resolve(path.dirname(file), c.caFile);
    for (const u of kc.getUsers()) {
      if (u.certFile) u.certFile = path.resolve(path.dirname(file), u.certFile);
      if (u.keyFile) u.keyFile = path.resolve(path.dirname(file), u.keyFile);
    }
  } catch (err) {
    throw configError(`malformed kubeconfig ${file}: ${errorMessage(err)}`, file, err);
  }
  return kc;
}

/** Same config with the current context's cluster pointing at `server`. */
function withServer(kc: KubeConfig, server: string, source: string): KubeConfig {
  const current = kc.getCurrentCluster();
  if (!current) throw configError(`kubeconfig ${source} has no current context/cluster`, source);
  const replaced: Cluster = { ...current, server, skipTLSVerify: current.skipTLSVerify || server.startsWith('http:') };
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === current.name ? replaced : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return out;
}

function inCluster(saDir: string, server: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  const prefix = saDir.endsWith(SERVICE_ACCOUNT_DIR) ? saDir.slice(0, -SERVICE_ACCOUNT_DIR.length) : undefined;
  if (prefix !== undefined) {
    kc.loadFromCluster(prefix);
  } else {
    // A service-account directory elsewhere (tests): same shape as loadFromCluster.
    kc.loadFromClusterAndUser(
      { name: 'inCluster', server: 'https://kubernetes.default.svc', caFile: path.join(saDir, 'ca.crt'), skipTLSVerify: false },
      { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: path.join(saDir, 'token') } } },
    );
  }
  if (server !== undefined) return withServer(kc, server, saDir);
  return kc;
}

function fromMaster(master: string, saDir: string): KubeConfig {
  if (fs.existsSync(path.join(saDir, 'token'))) return inCluster(saDir, master);
  const kc = new KubeConfig();
  // http:// masters need skipTLSVerify for client-node to accept them (there is no TLS).
  kc.loadFromClusterAndUser({ name: 'master', server: master, skipTLSVerify: master.startsWith('http:') }, { name: 'master' });
  return kc;
}

function validate(kc: KubeConfig, source: string): void {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw configError(`kubeconfig ${source}: no current context or its cluster is missing`, source);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch (err) {
    throw configError(`kubeconfig ${source}: invalid server URL "${cluster.server}"`, source, err);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(`kubeconfig ${source}: unsupported server scheme "${url.protocol}"`, source);
  }
  const files: string[] = [];
  if (cluster.caFile) files.push(cluster.caFile);
  const user = kc.getCurrentUser();
  if (user?.certFile) files.push(user.certFile);
  if (user?.keyFile) files.push(user.keyFile);
  for (const f of files) {
    if (!fs.existsSync(f)) throw configError(`kubeconfig ${source}: file ${f} does not exist`, f);
  }
}
