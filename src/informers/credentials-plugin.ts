// Users with an `exec` credential plugin or an `auth-provider` (cloud plugins:
// azure, gcp, oidc ...) are handed to @kubernetes/client-node, which
// implements them. It is imported lazily, ONLY here: importing client-node
// costs 1.6-2.4 s and ~75 MB RSS natively and 22-28 s of CPU per process in
// the lab VM (software emulation), against an agent RSS budget of 256 MiB, so
// the normal path (token, token file, client certificate, basic) never loads
// it. Cluster settings (server, CA, TLS) still come from our own parser; only
// the per-request credentials come from client-node's applyToHTTPSOptions.

import type https from 'node:https';
import { stringify as toYaml } from 'yaml';
import { errorMessage } from '../errors.js';
import { configError, type Entry } from './credentials-file.js';
import type { ApiConnection, ConnectionSettings } from './credentials.js';

/** True when the user needs a client-node plugin (exec or auth-provider). */
export function needsPlugin(user: Entry | undefined): boolean {
  if (!user) return false;
  return (user.body.exec !== undefined && user.body.exec !== null) || (user.body['auth-provider'] !== undefined && user.body['auth-provider'] !== null);
}

/**
 * A connection whose credentials come from client-node. `settings` carries the
 * cluster side (server, CA, TLS) parsed natively; `user` is the raw kubeconfig
 * user (relative paths already resolved), given to client-node as written.
 */
export async function pluginConnection(settings: ConnectionSettings, user: Entry): Promise<ApiConnection> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    // Only the credentials are used from client-node; its agent and TLS options are ignored. An
    // http:// server needs insecure-skip-tls-verify or client-node refuses to apply options.
    clusters: [{ name: 'kr', cluster: { server: settings.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: user.name, user: user.body }],
    contexts: [{ name: 'kr', context: { cluster: 'kr', user: user.name } }],
    'current-context': 'kr',
  };
  try {
    kc.loadFromString(toYaml(doc));
  } catch (err) {
    throw configError(`kubeconfig ${user.file}: ${user.where}: ${errorMessage(err)}`, user.file, user.where, err);
  }
  const plugin = user.body.exec !== undefined && user.body.exec !== null ? 'exec' : 'auth-provider';
  return {
    ...settings,
    via: 'client-node',
    async applyTo(opts: https.RequestOptions): Promise<void> {
      const scratch: https.RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(scratch);
      const headers = (opts.headers ??= {}) as Record<string, unknown>;
      Object.assign(headers, scratch.headers);
      // username/password reach client-node's `auth`, not a header.
      if (scratch.auth && headers.Authorization === undefined) headers.Authorization = `Basic ${Buffer.from(scratch.auth).toString('base64')}`;
      // An exec plugin may return a client certificate; the shared agent keys its sockets by it.
      if (scratch.cert !== undefined && settings.certData === undefined) opts.cert = scratch.cert;
      if (scratch.key !== undefined && settings.keyData === undefined) opts.key = scratch.key;
    },
    describe(): string {
      return `${settings.server} (${settings.source}; ${plugin} credentials via @kubernetes/client-node)`;
    },
  };
}
