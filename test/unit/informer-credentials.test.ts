// Field by field: what a kubeconfig user/cluster turns into (TLS material for
// the shared agent, per-request headers), token-file re-reads, and the
// client-node fallback for exec / auth-provider users. The TLS fields are
// checked against a real TLS server (CA, SNI, client certificate).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { loadApiConnection } from '../../src/informers/kubeconfig.js';
import type { ApiConnection } from '../../src/informers/credentials.js';
import { connectionAgent, createHttpTransport } from '../../src/informers/transport.js';
import { makeServingCerts, type ServingCerts } from '../../src/lab/apiserver/certs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-credentials-'));
const noSa = path.join(dir, 'no-sa');
let certs: ServingCerts;
let server: https.Server;
let port: number;
/** What the TLS server saw on the last request. */
let last: { sni?: string | false | null; peerCN?: string; auth?: string; impersonate?: string } = {};

before(async () => {
  certs = await makeServingCerts();
  server = https.createServer({ cert: certs.certPem, key: certs.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const sock = req.socket as TLSSocket;
    const peer = sock.getPeerCertificate();
    last = {
      sni: sock.servername,
      peerCN: peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : undefined,
      auth: req.headers.authorization,
      impersonate: req.headers['impersonate-user'] as string | undefined,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const file = path.join(dir, name);
  const doc = {
    clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}`, ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  };
  fs.writeFileSync(file, JSON.stringify(doc)); // JSON is YAML
  return file;
}

async function headers(conn: ApiConnection): Promise<Record<string, string>> {
  const opts: { headers?: Record<string, string> } = {};
  await conn.applyTo(opts);
  return opts.headers ?? {};
}

/** One GET through the real transport; resolves with the status or rejects with the TLS error. */
async function get(conn: ApiConnection): Promise<number> {
  const t = createHttpTransport(conn, { headersTimeoutMs: 5000 });
  try {
    const res = await t.get('/api/v1/nodes', new URLSearchParams(), new AbortController().signal);
    for await (const _ of res.body) void _;
    return res.statusCode;
  } finally {
    t.close();
  }
}

test('certificate-authority-data verifies the server; without a CA the request fails; insecure-skip-tls-verify skips', async () => {
  const ok = await loadApiConnection({ kubeconfig: kubeconfig('ca-data', { 'certificate-authority-data': b64(certs.caPem) }, { token: 't' }), serviceAccountDir: noSa, env: {} });
  assert.equal(ok.caData?.toString(), certs.caPem);
  assert.equal(await get(ok), 200);
  assert.equal(last.auth, 'Bearer t');
  const noCa = await loadApiConnection({ kubeconfig: kubeconfig('no-ca', {}, {}), serviceAccountDir: noSa, env: {} });
  await assert.rejects(get(noCa), /certificate|self.signed/i);
  const insecure = await loadApiConnection({ kubeconfig: kubeconfig('insecure', { 'insecure-skip-tls-verify': true }, {}), serviceAccountDir: noSa, env: {} });
  assert.equal(insecure.insecureSkipTLSVerify, true);
  assert.equal(await get(insecure), 200);
  assert.equal(last.auth, undefined, 'anonymous');
});

test('certificate-authority (a file) and -data wins over it (client-go), the file must still exist', async () => {
  fs.writeFileSync(path.join(dir, 'ca.pem'), certs.caPem);
  const file = await loadApiConnection({ kubeconfig: kubeconfig('ca-file', { 'certificate-authority': 'ca.pem' }, {}), serviceAccountDir: noSa, env: {} });
  assert.equal(file.caFile, path.join(dir, 'ca.pem'));
  assert.equal(await get(file), 200);
  const both = await loadApiConnection({
    kubeconfig: kubeconfig('ca-both', { 'certificate-authority': 'ca.pem', 'certificate-authority-data': b64('inline') }, {}),
    serviceAccountDir: noSa,
    env: {},
  });
  assert.equal(both.caData?.toString(), 'inline');
});

test('tls-server-name is the SNI and the name verified', async () => {
  const good = await loadApiConnection({
    kubeconfig: kubeconfig('sni', { 'certificate-authority-data': b64(certs.caPem), 'tls-server-name': 'kubernetes.default.svc' }, {}),
    serviceAccountDir: noSa,
    env: {},
  });
  assert.equal(good.tlsServerName, 'kubernetes.default.svc');
  assert.equal(await get(good), 200);
  assert.equal(last.sni, 'kubernetes.default.svc');
  const bad = await loadApiConnection({
    kubeconfig: kubeconfig('sni-bad', { 'certificate-authority-data': b64(certs.caPem), 'tls-server-name': 'not-in-the-cert.example' }, {}),
    serviceAccountDir: noSa,
    env: {},
  });
  await assert.rejects(get(bad), /not-in-the-cert\.example|altnames/i);
});

test('client-certificate(-data) and client-key(-data) are presented; one without the other is an error', async () => {
  const data = await loadApiConnection({
    kubeconfig: kubeconfig('cert-data', { 'certificate-authority-data': b64(certs.caPem) }, { 'client-certificate-data': b64(certs.certPem), 'client-key-data': b64(certs.keyPem) }),
    serviceAccountDir: noSa,
    env: {},
  });
  assert.equal(await get(data), 200);
  assert.equal(last.peerCN, 'kube-apiserver');
  assert.match(data.describe(), /client certificate/);
  fs.mkdirSync(path.join(dir, 'pki'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'pki/client.crt'), certs.certPem);
  fs.writeFileSync(path.join(dir, 'pki/client.key'), certs.keyPem);
  const files = await loadApiConnection({
    kubeconfig: kubeconfig('cert-files', { 'certificate-authority-data': b64(certs.caPem) }, { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key' }),
    serviceAccountDir: noSa,
    env: {},
  });
  assert.equal(files.certFile, path.join(dir, 'pki/client.crt'));
  assert.equal(files.keyFile, path.join(dir, 'pki/client.key'));
  assert.equal(await get(files), 200);
  assert.equal(last.peerCN, 'kube-apiserver');
  const certOnly = kubeconfig('cert-only', {}, { 'client-certificate': 'pki/client.crt' });
  await assert.rejects(
    loadApiConnection({ kubeconfig: certOnly, serviceAccountDir: noSa, env: {} }),
    (e: Error & { code?: string; context?: { field?: string } }) => e.code === 'KR_ERR_CONFIG' && e.message.includes(certOnly) && e.context?.field === 'users[0].user.client-key',
  );
  const missingKey = kubeconfig('key-missing', {}, { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/nope.key' });
  await assert.rejects(
    loadApiConnection({ kubeconfig: missingKey, serviceAccountDir: noSa, env: {} }),
    (e: Error & { code?: string; context?: { field?: string } }) => e.code === 'KR_ERR_CONFIG' && e.message.includes(path.join(dir, 'pki/nope.key')) && e.context?.field === 'users[0].user.client-key',
  );
});

test('the shared agent carries CA, certificate, key, verification and SNI; an http server gets a plain agent', async () => {
  const conn = await loadApiConnection({
    kubeconfig: kubeconfig('agent', { 'certificate-authority-data': b64('CA'), 'insecure-skip-tls-verify': true, 'tls-server-name': 'sni' }, { 'client-certificate-data': b64('C'), 'client-key-data': b64('K') }),
    serviceAccountDir: noSa,
    env: {},
  });
  const agent = connectionAgent(conn) as https.Agent & { options: https.AgentOptions };
  assert.ok(agent instanceof https.Agent);
  assert.equal(String(agent.options.ca), 'CA');
  assert.equal(String(agent.options.cert), 'C');
  assert.equal(String(agent.options.key), 'K');
  assert.equal(agent.options.rejectUnauthorized, false);
  assert.equal(agent.options.servername, 'sni');
  assert.equal(agent.options.keepAlive, true);
  agent.destroy();
  const plain = connectionAgent(await loadApiConnection({ master: 'http://127.0.0.1:1', serviceAccountDir: noSa, env: {} }));
  assert.ok(!(plain instanceof https.Agent));
  plain.destroy();
});

test('username/password is Basic; a token wins over it; `as` is Impersonate-User', async () => {
  const basic = await loadApiConnection({ kubeconfig: kubeconfig('basic', {}, { username: 'admin', password: 'pw', as: 'system:node:n1' }), serviceAccountDir: noSa, env: {} });
  assert.deepEqual(basic.basic, { username: 'admin', password: 'pw' });
  const h = await headers(basic);
  assert.equal(h.Authorization, `Basic ${b64('admin:pw')}`);
  assert.equal(h['Impersonate-User'], 'system:node:n1');
  const both = await loadApiConnection({ kubeconfig: kubeconfig('basic-token', {}, { username: 'admin', password: 'pw', token: 'tok' }), serviceAccountDir: noSa, env: {} });
  assert.equal((await headers(both)).Authorization, 'Bearer tok');
});

test('tokenFile (and client-node’s token-file) is re-read once older than 60 s; a failed re-read keeps the last token', async () => {
  const tokenPath = path.join(dir, 'rotating-token');
  fs.writeFileSync(tokenPath, 'one\n');
  let now = 1_000_000;
  const conn = await loadApiConnection({ kubeconfig: kubeconfig('token-file', {}, { tokenFile: 'rotating-token', token: 'static' }), serviceAccountDir: noSa, env: {}, now: () => now });
  assert.equal((await headers(conn)).Authorization, 'Bearer one', 'tokenFile wins over token (client-go)');
  fs.writeFileSync(tokenPath, 'two');
  now += 30_000;
  assert.equal((await headers(conn)).Authorization, 'Bearer one', 'not re-read within 60 s');
  now += 31_000;
  assert.equal((await headers(conn)).Authorization, 'Bearer two', 're-read after 60 s');
  fs.rmSync(tokenPath);
  now += 61_000;
  assert.equal((await headers(conn)).Authorization, 'Bearer two', 'last good token kept');
  fs.writeFileSync(tokenPath, 'three');
  const dashed = await loadApiConnection({ kubeconfig: kubeconfig('token-file-dashed', {}, { 'token-file': 'rotating-token' }), serviceAccountDir: noSa, env: {} });
  assert.equal((await headers(dashed)).Authorization, 'Bearer three');
  const missing = kubeconfig('token-file-missing', {}, { tokenFile: 'nope' });
  await assert.rejects(loadApiConnection({ kubeconfig: missing, serviceAccountDir: noSa, env: {} }), (e: Error & { code?: string }) => e.code === 'KR_ERR_CONFIG' && e.message.includes(path.join(dir, 'nope')));
});

test('the in-cluster service-account token is re-read too (projected tokens rotate)', async () => {
  const sa = path.join(dir, 'sa');
  fs.mkdirSync(sa, { recursive: true });
  fs.writeFileSync(path.join(sa, 'token'), 'pod-1');
  fs.writeFileSync(path.join(sa, 'ca.crt'), certs.caPem);
  let now = 0;
  const conn = await loadApiConnection({ master: `https://127.0.0.1:${port}`, serviceAccountDir: sa, env: {}, now: () => now });
  assert.equal(await get(conn), 200);
  assert.equal(last.auth, 'Bearer pod-1');
  fs.writeFileSync(path.join(sa, 'token'), 'pod-2');
  now += 60_001;
  assert.equal(await get(conn), 200);
  assert.equal(last.auth, 'Bearer pod-2');
});

test('an exec user goes through @kubernetes/client-node (lazily imported) and its token is sent', async () => {
  const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'from-exec' } });
  const file = kubeconfig(
    'exec',
    { 'certificate-authority-data': b64(certs.caPem) },
    { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`], interactiveMode: 'Never' } },
  );
  const conn = await loadApiConnection({ kubeconfig: file, serviceAccountDir: noSa, env: {} });
  assert.equal(conn.via, 'client-node');
  assert.equal(conn.caData?.toString(), certs.caPem, 'cluster settings still parsed natively');
  assert.match(conn.describe(), /exec credentials via @kubernetes\/client-node/);
  assert.equal(await get(conn), 200);
  assert.equal(last.auth, 'Bearer from-exec');
});

test('an auth-provider user goes through @kubernetes/client-node', async () => {
  fs.writeFileSync(path.join(dir, 'provider-token'), 'from-provider');
  const file = kubeconfig('auth-provider', {}, { 'auth-provider': { name: 'tokenFile', config: { tokenFile: path.join(dir, 'provider-token') } } });
  const conn = await loadApiConnection({ kubeconfig: file, serviceAccountDir: noSa, env: {} });
  assert.equal(conn.via, 'client-node');
  assert.equal((await headers(conn)).Authorization, 'Bearer from-provider');
});
