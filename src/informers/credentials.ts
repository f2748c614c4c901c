// The API server connection the informer transport uses: where to connect,
// the TLS material for the shared keep-alive agent, and per-request
// credentials (applyTo). This is our own small type so that the agent does not
// load @kubernetes/client-node on its normal path (see kubeconfig.ts).
//
// Token files (a kubeconfig's tokenFile, the in-cluster service-account token)
// are re-read when the last read is older than 60 s: projected service-account
// tokens rotate (client-go's cached file token source and client-node's
// FileAuth do the same). A failed re-read keeps the last good token.

import fs from 'node:fs';
import type https from 'node:https';
import { errorMessage } from '../errors.js';
import { configError } from './credentials-file.js';

export interface BasicAuth {
  username: string;
  password: string;
}

/** What a connection is made of (all optional but `server`). */
export interface ConnectionSettings {
  /** API server base URL, e.g. `https://10.0.0.1:6443` (http allowed). */
  server: string;
  caData?: Buffer;
  /** Where caData came from (for describe()). */
  caFile?: string;
  certData?: Buffer;
  certFile?: string;
  keyData?: Buffer;
  keyFile?: string;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  token?: string;
  /** Re-read when older than TOKEN_FILE_MAX_AGE_MS; takes precedence over `token` (client-go). */
  tokenFile?: string;
  basic?: BasicAuth;
  /** `as`: Impersonate-User header (client-node sends it too). */
  impersonate?: string;
  /** Where the settings came from, e.g. `kubeconfig /etc/kr/kc (context lab)`. */
  source: string;
}

export interface ApiConnection extends Readonly<Omit<ConnectionSettings, 'source'>> {
  /** 'native', or 'client-node' for exec / auth-provider users. */
  readonly via: 'native' | 'client-node';
  /** Adds per-request credentials (Authorization, Impersonate-User; plugins may add cert/key). */
  applyTo(opts: https.RequestOptions): Promise<void>;
  /** One line for logs: server, source, auth kind. Never a secret. */
  describe(): string;
}

export const TOKEN_FILE_MAX_AGE_MS = 60_000;

/** Reads a token file, trimmed as client-go does; `field` names it in errors. */
export function readTokenFile(file: string, field: string): string {
  try {
    return fs.readFileSync(file, 'utf-8').trim();
  } catch (err) {
    throw configError(`cannot read token file ${file} (${field}): ${errorMessage(err)}`, file, field, err);
  }
}

function authKind(s: Omit<ConnectionSettings, 'source'>): string {
  const kinds: string[] = [];
  if (s.tokenFile !== undefined) kinds.push(`token file ${s.tokenFile}`);
  else if (s.token !== undefined) kinds.push('token');
  if (s.basic !== undefined) kinds.push('basic');
  if (s.certData !== undefined) kinds.push('client certificate');
  return kinds.length > 0 ? kinds.join(' + ') : 'anonymous';
}

class NativeConnection implements ApiConnection {
  readonly via = 'native' as const;
  readonly server: string;
  readonly caData?: Buffer;
  readonly caFile?: string;
  readonly certData?: Buffer;
  readonly certFile?: string;
  readonly keyData?: Buffer;
  readonly keyFile?: string;
  readonly insecureSkipTLSVerify?: boolean;
  readonly tlsServerName?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly basic?: BasicAuth;
  readonly impersonate?: string;
  private readonly source: string;
  private fileToken?: string;
  private lastRead = 0;

  constructor(
    s: ConnectionSettings,
    private readonly now: () => number,
  ) {
    this.server = s.server;
    this.caData = s.caData;
    this.caFile = s.caFile;
    this.certData = s.certData;
    this.certFile = s.certFile;
    this.keyData = s.keyData;
    this.keyFile = s.keyFile;
    this.insecureSkipTLSVerify = s.insecureSkipTLSVerify;
    this.tlsServerName = s.tlsServerName;
    this.token = s.token;
    this.tokenFile = s.tokenFile;
    this.basic = s.basic;
    this.impersonate = s.impersonate;
    this.source = s.source;
    if (s.tokenFile !== undefined) {
      // Read now so a missing file is a startup error, not a stream of 401s.
      this.fileToken = readTokenFile(s.tokenFile, 'tokenFile');
      this.lastRead = now();
    }
  }

  private bearer(): string | undefined {
    if (this.tokenFile === undefined) return this.token;
    if (this.now() - this.lastRead > TOKEN_FILE_MAX_AGE_MS) {
      try {
        this.fileToken = fs.readFileSync(this.tokenFile, 'utf-8').trim();
      } catch {
        // keep the last good token; the API server will say 401 if it expired
      }
      this.lastRead = this.now();
    }
    return this.fileToken;
  }

  async applyTo(opts: https.RequestOptions): Promise<void> {
    const headers = (opts.headers ??= {}) as Record<string, string | string[] | number | undefined>;
    const token = this.bearer();
    if (token !== undefined && token !== '') headers.Authorization = `Bearer ${token}`;
    else if (this.basic !== undefined) {
      headers.Authorization = `Basic ${Buffer.from(`${this.basic.username}:${this.basic.password}`).toString('base64')}`;
    }
    if (this.impersonate !== undefined) headers['Impersonate-User'] = this.impersonate;
  }

  describe(): string {
    const ca = this.caData === undefined ? ', system CAs' : this.caFile !== undefined ? `, CA ${this.caFile}` : ', CA inline';
    const tls = this.server.startsWith('https:') ? (this.insecureSkipTLSVerify ? ', TLS unverified' : ca) : '';
    return `${this.server} (${this.source}; ${authKind(this)}${tls})`;
  }
}

export function nativeConnection(s: ConnectionSettings, now: () => number = Date.now): ApiConnection {
  return new NativeConnection(s, now);
}
