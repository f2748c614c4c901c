// The node:http(s) transport against a local plain-HTTP server: bearer token
// from the kubeconfig, query strings, keep-alive socket reuse, and a watch
// stream delivered through the whole cache.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadApiConnection } from '../../src/informers/kubeconfig.js';
import { createSharedCache } from '../../src/informers/shared-cache.js';
import { createHttpTransport } from '../../src/informers/transport.js';

let server: http.Server;
let port: number;
const sockets = new Set<unknown>();
const seen: { url: string; auth: string | undefined }[] = [];
let watchRes: http.ServerResponse | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-transport-'));

before(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    sockets.add(req.socket);
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== 'Bearer tok') {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 401, reason: 'Unauthorized' }));
      return;
    }
    if (u.searchParams.get('watch') === '1') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'n2', resourceVersion: '8' }, spec: {} } })}\n`);
      watchRes = res;
      return;
    }
    const cont = u.searchParams.get('continue');
    const body = cont
      ? { metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'n1', resourceVersion: '6' }, spec: { podCIDR: '10.244.1.0/24' } }] }
      : { metadata: { resourceVersion: '7', continue: 'p2' }, items: [{ metadata: { name: 'n0', resourceVersion: '5' }, spec: {} }] };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  watchRes?.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(token: string): string {
  const file = path.join(dir, `kc-${token}`);
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: ${token}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  );
  return file;
}

test('GETs carry the bearer token and reuse one keep-alive socket', async () => {
  const t = createHttpTransport(await loadApiConnection({ kubeconfig: kubeconfig('tok') }));
  sockets.clear();
  for (let i = 0; i < 3; i++) {
    const res = await t.get('/api/v1/nodes', new URLSearchParams({ limit: '1' }), new AbortController().signal);
    assert.equal(res.statusCode, 200);
    for await (const _ of res.body) void _;
  }
  assert.equal(sockets.size, 1, 'one socket for sequential requests');
  assert.equal(seen.at(-1)?.url, '/api/v1/nodes?limit=1');
  t.close();
});

test('the cache lists page by page and watches over the real transport', async () => {
  const cache = createSharedCache({
    kubeConfig: await loadApiConnection({ kubeconfig: kubeconfig('tok') }),
    kinds: ['Node'],
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
  });
  const names: string[] = [];
  cache.on('Node', (e) => names.push(`${e.type} ${e.obj.metadata.name}`));
  await cache.start();
  await cache.waitForSync(2000);
  const t0 = Date.now();
  while (names.length < 3 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(names, ['add n0', 'add n1', 'add n2']);
  assert.equal(cache.store('Node').get('n1')?.spec.podCIDR, '10.244.1.0/24');
  const watchUrl = seen.find((s) => s.url.includes('watch=1'))?.url ?? '';
  assert.match(watchUrl, /resourceVersion=7/);
  assert.match(watchUrl, /allowWatchBookmarks=true/);
  assert.match(watchUrl, /timeoutSeconds=\d+/);
  const s0 = Date.now();
  await cache.stop();
  assert.ok(Date.now() - s0 < 500, 'stop() ends the open watch promptly');
});

test('a wrong token is an HTTP 401 the reflector keeps retrying (no crash)', async () => {
  const reg = new Registry();
  const cache = createSharedCache({
    kubeConfig: await loadApiConnection({ kubeconfig: kubeconfig('wrong') }),
    kinds: ['Node'],
    logger: pino({ level: 'silent' }),
    metrics: reg,
    reflector: { backoff: { initialMs: 10, maxMs: 20 } },
  });
  await cache.start();
  await assert.rejects(cache.waitForSync(150), /Node not listed/);
  const errs = (await reg.getSingleMetric('kube_router_informer_watch_errors_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  assert.ok(errs >= 2, `list failures counted (${errs})`);
  await cache.stop();
});
