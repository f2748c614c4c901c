// Binding and closing the agent's HTTP servers (health, metrics). A failure
// to bind names the flags and the address, so the operator knows which
// setting to change (kube-router checks the health port before anything else).

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeRouterError, errorMessage } from '../errors.js';

/** host:port as a human writes it ('' host = every interface). */
export function formatAddress(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${h}:${port}`;
}

/** Base URL for a client of a server bound to host (loopback when bound to every interface). */
export function clientUrl(host: string, port: number): string {
  const h = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${formatAddress(h, port)}`;
}

/**
 * Listens on host:port ('' = every interface). Rejects with a
 * KubeRouterError('KR_ERR_CONFIG') naming `flags` (e.g. "--health-addr/--health-port").
 */
export function listenHttp(server: Server, host: string, port: number, flags: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(
        new KubeRouterError(
          'KR_ERR_CONFIG',
          `cannot listen on ${formatAddress(host, port)} (${flags}): ${err.code ?? errorMessage(err)}`,
          { field: flags, value: formatAddress(host, port), call: 'listen', errno: typeof err.errno === 'number' ? err.errno : undefined },
          { cause: err },
        ),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo); // a TCP server's address() is an AddressInfo
    };
    server.once('error', onError);
    server.once('listening', onListening);
    if (host === '') server.listen(port);
    else server.listen(port, host);
  });
}

/** Stops accepting, drops idle and open keep-alive connections, resolves when closed. */
export function closeHttp(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
