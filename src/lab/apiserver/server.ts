// startLabApiServer: the store behind an HTTPS listener, with the
// lifecycle the lab needs (stop/start on the same port, dropWatches,
// compact, close).

import https from 'node:https';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { LabApiServer, LabApiServerOptions, ServingCerts } from './types.js';
import { LabStore } from './store.js';
import { checkServingCerts, servingCertsFor } from './certs.js';
import { createHandler } from './rest-router.js';
import type { ActiveWatch } from './watch-stream.js';
import { renderKubeconfig } from './kubeconfig.js';
import { KubeRouterError } from '../../errors.js';

export interface RunningLabApiServer extends LabApiServer {
  readonly store: LabStore;
  readonly host: string;
  /** Open HTTP watch streams. */
  activeWatches(): number;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return net.isIPv6(host) ? `[${host}]` : host;
}

class LabApiServerImpl implements RunningLabApiServer {
  readonly store: LabStore;
  readonly token: string;
  readonly host: string;
  private readonly certs: ServingCerts;
  private readonly watches = new Set<ActiveWatch>();
  private readonly sockets = new Set<net.Socket>();
  private readonly handler: ReturnType<typeof createHandler>;
  private server: https.Server | undefined;
  private boundPort: number;
  private closed = false;

  constructor(opts: LabApiServerOptions, certs: ServingCerts) {
    this.host = opts.host ?? '127.0.0.1';
    this.boundPort = opts.port ?? 0;
    this.store = new LabStore({ historyLimit: opts.historyLimit });
    this.store.seed(opts.seed ?? []);
    this.token = randomBytes(24).toString('hex');
    this.certs = certs;
    this.handler = createHandler({
      store: this.store,
      token: this.token,
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000,
      watches: this.watches,
      serverAddress: () => `${urlHost(this.host).replace(/^\[|\]$/g, '')}:${this.boundPort}`,
      onRequest: opts.onRequest,
    });
  }

  get caPem(): string {
    return this.certs.caPem;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `https://${urlHost(this.host)}:${this.boundPort}`;
  }

  kubeconfig(server?: string): string {
    return renderKubeconfig(server ?? this.url, this.certs.caPem, this.token);
  }

  activeWatches(): number {
    return this.watches.size;
  }

  dropWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  compact(): void {
    this.store.compact();
  }

  async start(): Promise<void> {
    if (this.closed) throw new KubeRouterError('KR_ERR_LAB', 'lab API server is closed');
    if (this.server !== undefined) return;
    const server = https.createServer({ key: this.certs.keyPem, cert: this.certs.certPem, keepAlive: true }, this.handler);
    server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new KubeRouterError('KR_ERR_LAB', `lab API server cannot listen on ${this.host}:${this.boundPort}: ${err.message}`, {}, { cause: err }));
      server.once('error', onError);
      server.listen(this.boundPort, this.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const addr = server.address();
    if (addr !== null && typeof addr === 'object') this.boundPort = addr.port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.dropWatches();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
  }
}

export async function startLabApiServer(opts: LabApiServerOptions = {}): Promise<RunningLabApiServer> {
  const host = opts.host ?? '127.0.0.1';
  const extra = [...(opts.certHosts ?? [])];
  if (host !== '0.0.0.0' && host !== '::') extra.push(host);
  if (opts.certs !== undefined) checkServingCerts(opts.certs, extra);
  const srv = new LabApiServerImpl(opts, opts.certs ?? (await servingCertsFor(extra)));
  await srv.start();
  return srv;
}
