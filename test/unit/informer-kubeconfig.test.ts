// loadApiConnection: --kubeconfig / --master / $KUBECONFIG / ~/.kube/config /
// in-cluster selection, kubectl's merge order, relative paths, http servers
// and KR_ERR_CONFIG errors naming the file and field. Field-level parsing and
// credentials are in informer-credentials.test.ts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadApiConnection } from '../../src/informers/kubeconfig.js';
import type { ApiConnection } from '../../src/informers/credentials.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-kubeconfig-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
users:
- name: agent
  user:
    token: s3cret
contexts:
- name: lab
  context: {cluster: lab, user: agent}
current-context: lab
`;

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

async function auth(conn: ApiConnection): Promise<string | undefined> {
  const opts: { headers?: Record<string, string> } = {};
  await conn.applyTo(opts);
  return opts.headers?.Authorization;
}

type ConfigErr = Error & { code?: string; context?: { field?: string } };
const isConfigError = (needle: string, field?: string) => (e: ConfigErr) =>
  e.code === 'KR_ERR_CONFIG' && e.message.includes(needle) && (field === undefined || e.context?.field === field);

const noSa = path.join(dir, 'no-service-account');
write('ca.crt', 'not really a cert');

test('--kubeconfig: server, token and a CA path relative to the file', async () => {
  const file = write('config', KUBECONFIG);
  const conn = await loadApiConnection({ kubeconfig: file, master: '', serviceAccountDir: noSa, env: {} });
  assert.equal(conn.server, 'https://127.0.0.1:6443');
  assert.equal(conn.caFile, path.join(dir, 'ca.crt'));
  assert.equal(conn.caData?.toString(), 'not really a cert');
  assert.equal(conn.via, 'native');
  assert.equal(await auth(conn), 'Bearer s3cret');
  assert.match(conn.describe(), /https:\/\/127\.0\.0\.1:6443 \(kubeconfig .*config \(context lab\); token/);
  assert.doesNotMatch(conn.describe(), /s3cret/);
});

test('relative paths resolve against the directory of the file that holds them (not the cwd)', async () => {
  write('rel/sub/ca.pem', 'CA');
  write('rel/sub/tok', 'from-file\n');
  const file = write(
    'rel/config',
    KUBECONFIG.replace('certificate-authority: ca.crt', 'certificate-authority: sub/ca.pem').replace('token: s3cret', 'tokenFile: ./sub/tok'),
  );
  const conn = await loadApiConnection({ kubeconfig: file, serviceAccountDir: noSa, env: {} });
  assert.equal(conn.caFile, path.join(dir, 'rel/sub/ca.pem'));
  assert.equal(conn.tokenFile, path.join(dir, 'rel/sub/tok'));
  assert.equal(await auth(conn), 'Bearer from-file');
});

test('--kubeconfig with --master: master overrides the server, credentials kept', async () => {
  const file = write('config', KUBECONFIG);
  const conn = await loadApiConnection({ kubeconfig: file, master: 'https://10.0.0.1:443', serviceAccountDir: noSa, env: {} });
  assert.equal(conn.server, 'https://10.0.0.1:443');
  assert.equal(conn.token, 's3cret');
  assert.equal(conn.caData?.toString(), 'not really a cert');
  const http = await loadApiConnection({ kubeconfig: file, master: 'http://127.0.0.1:8080/', serviceAccountDir: noSa, env: {} });
  assert.equal(http.server, 'http://127.0.0.1:8080');
});

test('--master alone: in-cluster token and CA with the host replaced', async () => {
  const sa = path.join(dir, 'sa');
  write('sa/token', 'pod-token');
  write('sa/ca.crt', 'ca');
  write('sa/namespace', 'kube-system');
  const conn = await loadApiConnection({ master: 'https://api.example:6443', serviceAccountDir: sa, env: {} });
  assert.equal(conn.server, 'https://api.example:6443');
  assert.equal(conn.caFile, path.join(sa, 'ca.crt'));
  assert.equal(conn.caData?.toString(), 'ca');
  assert.equal(conn.tokenFile, path.join(sa, 'token'));
  assert.equal(await auth(conn), 'Bearer pod-token');
});

test('--master alone outside a pod: the bare URL (http allowed)', async () => {
  const conn = await loadApiConnection({ master: 'http://127.0.0.1:8080', serviceAccountDir: noSa, env: {} });
  assert.equal(conn.server, 'http://127.0.0.1:8080');
  assert.equal(await auth(conn), undefined);
  assert.equal(conn.caData, undefined);
  await assert.rejects(loadApiConnection({ master: 'ftp://x', serviceAccountDir: noSa, env: {} }), isConfigError('--master', '--master'));
  await assert.rejects(loadApiConnection({ master: 'not a url', serviceAccountDir: noSa, env: {} }), isConfigError('--master', '--master'));
});

test('neither: KUBECONFIG from the environment, before ~/.kube/config', async () => {
  const file = write('env-config', KUBECONFIG.replace('6443', '7443'));
  write('home/.kube/config', KUBECONFIG.replace('6443', '8443').replace('certificate-authority: ca.crt', 'insecure-skip-tls-verify: true'));
  const conn = await loadApiConnection({ serviceAccountDir: noSa, env: { KUBECONFIG: file, HOME: path.join(dir, 'home') } });
  assert.equal(conn.server, 'https://127.0.0.1:7443');
});

test('neither: ~/.kube/config, before in-cluster', async () => {
  const sa = path.join(dir, 'sa');
  write('home/.kube/config', KUBECONFIG.replace('6443', '8443').replace('certificate-authority: ca.crt', 'insecure-skip-tls-verify: true'));
  const conn = await loadApiConnection({ serviceAccountDir: sa, env: { HOME: path.join(dir, 'home'), KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' } });
  assert.equal(conn.server, 'https://127.0.0.1:8443');
  assert.equal(conn.insecureSkipTLSVerify, true);
});

test('neither and in a pod: in-cluster from KUBERNETES_SERVICE_HOST/PORT (IPv6 bracketed, http on 80/8080/8001)', async () => {
  const sa = path.join(dir, 'sa');
  const home = path.join(dir, 'empty-home');
  const load = (host: string, port: string) => loadApiConnection({ serviceAccountDir: sa, env: { HOME: home, KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port } });
  const v4 = await load('10.96.0.1', '443');
  assert.equal(v4.server, 'https://10.96.0.1:443');
  assert.equal(v4.caData?.toString(), 'ca');
  assert.equal(await auth(v4), 'Bearer pod-token');
  assert.equal((await load('fd00:10:96::1', '443')).server, 'https://[fd00:10:96::1]:443');
  for (const port of ['80', '8080', '8001']) assert.equal((await load('10.96.0.1', port)).server, `http://10.96.0.1:${port}`);
  await assert.rejects(
    loadApiConnection({ serviceAccountDir: sa, env: { HOME: home, KUBERNETES_SERVICE_PORT: '443' } }),
    isConfigError('KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_HOST'),
  );
});

test('KUBECONFIG merge: first file wins per name, current-context from the first file that sets it', async () => {
  const first = write(
    'merge/a',
    `clusters:
- {name: shared, cluster: {server: "https://first:6443", insecure-skip-tls-verify: true}}
users:
- {name: shared, user: {token: first-token}}
`,
  );
  const second = write(
    'merge/b',
    `clusters:
- {name: shared, cluster: {server: "https://second:6443"}}
- {name: other, cluster: {server: "https://other:6443"}}
users:
- {name: shared, user: {token: second-token}}
contexts:
- {name: ctx, context: {cluster: shared, user: shared}}
- {name: ctx-other, context: {cluster: other, user: shared}}
current-context: ctx
`,
  );
  const third = write('merge/c', 'current-context: ctx-other\n');
  const conn = await loadApiConnection({ serviceAccountDir: noSa, env: { KUBECONFIG: [first, second, third].join(path.delimiter), HOME: dir } });
  assert.equal(conn.server, 'https://first:6443');
  assert.equal(await auth(conn), 'Bearer first-token');
  assert.match(conn.describe(), /context ctx\)/);
  // Order matters: with the third file first, its current-context wins.
  const conn2 = await loadApiConnection({ serviceAccountDir: noSa, env: { KUBECONFIG: [third, second, first].join(path.delimiter), HOME: dir } });
  assert.equal(conn2.server, 'https://other:6443');
  assert.equal(await auth(conn2), 'Bearer second-token');
  // Empty entries in the list are skipped.
  const conn3 = await loadApiConnection({ serviceAccountDir: noSa, env: { KUBECONFIG: `${path.delimiter}${second}${path.delimiter}`, HOME: dir } });
  assert.equal(conn3.server, 'https://second:6443');
});

test('missing and malformed files are KR_ERR_CONFIG naming the path', async () => {
  const missing = path.join(dir, 'nope.yaml');
  await assert.rejects(loadApiConnection({ kubeconfig: missing, serviceAccountDir: noSa, env: {} }), isConfigError(missing));
  const bad = write('bad.yaml', 'clusters: [ {{{ not yaml');
  await assert.rejects(loadApiConnection({ kubeconfig: bad, serviceAccountDir: noSa, env: {} }), isConfigError(bad));
  const noCa = write('noca/config', KUBECONFIG);
  await assert.rejects(
    loadApiConnection({ kubeconfig: noCa, serviceAccountDir: noSa, env: {} }),
    isConfigError(path.join(dir, 'noca', 'ca.crt'), 'clusters[0].cluster.certificate-authority'),
  );
  await assert.rejects(loadApiConnection({ serviceAccountDir: noSa, env: { KUBECONFIG: missing } }), isConfigError(missing));
  await assert.rejects(loadApiConnection({ serviceAccountDir: noSa, env: { HOME: path.join(dir, 'empty-home') } }), isConfigError('no API server configured'));
});

test('structural errors name the file and the field', async () => {
  const cases: [string, string, string][] = [
    ['list.yaml', 'clusters: {a: 1}\n', 'clusters'],
    ['noname.yaml', 'clusters: [{cluster: {server: "https://x"}}]\n', 'clusters[0].name'],
    ['noserver.yaml', KUBECONFIG.replace('    server: https://127.0.0.1:6443\n', ''), 'clusters[0].cluster.server'],
    ['badserver.yaml', KUBECONFIG.replace('https://127.0.0.1:6443', 'ftp://127.0.0.1'), 'clusters[0].cluster.server'],
    ['nocontext.yaml', KUBECONFIG.replace('current-context: lab', ''), 'current-context'],
    ['wrongcontext.yaml', KUBECONFIG.replace('current-context: lab', 'current-context: prod'), 'current-context'],
    ['nocluster.yaml', KUBECONFIG.replace('{cluster: lab,', '{cluster: prod,'), 'contexts[0].context.cluster'],
    ['nouser.yaml', KUBECONFIG.replace('user: agent}', 'user: nobody}'), 'contexts[0].context.user'],
    ['tokentype.yaml', KUBECONFIG.replace('token: s3cret', 'token: [1, 2]'), 'users[0].user.token'],
    ['insecure.yaml', KUBECONFIG.replace('certificate-authority: ca.crt', 'insecure-skip-tls-verify: "yes"'), 'clusters[0].cluster.insecure-skip-tls-verify'],
    ['scalar.yaml', 'just a string\n', 'kubeconfig'],
  ];
  for (const [name, text, field] of cases) {
    const file = write(name, text);
    await assert.rejects(loadApiConnection({ kubeconfig: file, serviceAccountDir: noSa, env: {} }), isConfigError(file, field), name);
  }
});

test('an http:// server in a kubeconfig file is accepted (no TLS to verify)', async () => {
  const file = write('http-config', KUBECONFIG.replace('https://127.0.0.1:6443', 'http://127.0.0.1:8080').replace('    certificate-authority: ca.crt\n', ''));
  const conn = await loadApiConnection({ kubeconfig: file, serviceAccountDir: noSa, env: {} });
  assert.equal(conn.server, 'http://127.0.0.1:8080');
  assert.equal(await auth(conn), 'Bearer s3cret');
});
