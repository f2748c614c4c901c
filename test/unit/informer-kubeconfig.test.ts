import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadKubeConfig } from '../../src/informers/kubeconfig.js';

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

const noSa = path.join(dir, 'no-service-account');

test('--kubeconfig: server, token and a CA path relative to the file', async () => {
  write('ca.crt', 'not really a cert');
  const file = write('config', KUBECONFIG);
  const kc = loadKubeConfig({ kubeconfig: file, master: '', serviceAccountDir: noSa, env: {} });
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  assert.equal(kc.getCurrentCluster()?.caFile, path.join(dir, 'ca.crt'));
  const opts: { headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(opts);
  assert.equal(opts.headers?.Authorization, 'Bearer s3cret');
});

test('--kubeconfig with --master: master overrides the server, credentials kept', () => {
  const file = write('config', KUBECONFIG);
  const kc = loadKubeConfig({ kubeconfig: file, master: 'https://10.0.0.1:443', serviceAccountDir: noSa, env: {} });
  assert.equal(kc.getCurrentCluster()?.server, 'https://10.0.0.1:443');
  assert.equal(kc.getCurrentUser()?.token, 's3cret');
});

test('--master alone: in-cluster token and CA with the host replaced', async () => {
  const sa = path.join(dir, 'sa');
  write('sa/token', 'pod-token');
  write('sa/ca.crt', 'ca');
  write('sa/namespace', 'kube-system');
  const kc = loadKubeConfig({ master: 'https://api.example:6443', serviceAccountDir: sa, env: {} });
  assert.equal(kc.getCurrentCluster()?.server, 'https://api.example:6443');
  assert.equal(kc.getCurrentCluster()?.caFile, path.join(sa, 'ca.crt'));
  const opts: { headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(opts);
  assert.equal(opts.headers?.Authorization, 'Bearer pod-token');
});

test('--master alone outside a pod: the bare URL (http allowed)', () => {
  const kc = loadKubeConfig({ master: 'http://127.0.0.1:8080', serviceAccountDir: noSa, env: {} });
  assert.equal(kc.getCurrentCluster()?.server, 'http://127.0.0.1:8080');
});

test('neither: KUBECONFIG from the environment', () => {
  const file = write('env-config', KUBECONFIG.replace('6443', '7443'));
  const kc = loadKubeConfig({ serviceAccountDir: noSa, env: { KUBECONFIG: file, HOME: dir } });
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:7443');
});

test('missing and malformed files are KR_ERR_CONFIG naming the path', () => {
  const missing = path.join(dir, 'nope.yaml');
  assert.throws(
    () => loadKubeConfig({ kubeconfig: missing, serviceAccountDir: noSa, env: {} }),
    (e: Error & { code?: string }) => e.code === 'KR_ERR_CONFIG' && e.message.includes(missing),
  );
  const bad = write('bad.yaml', 'clusters: [ {{{ not yaml');
  assert.throws(
    () => loadKubeConfig({ kubeconfig: bad, serviceAccountDir: noSa, env: {} }),
    (e: Error & { code?: string }) => e.code === 'KR_ERR_CONFIG' && e.message.includes(bad),
  );
  const noCa = write('noca/config', KUBECONFIG);
  assert.throws(
    () => loadKubeConfig({ kubeconfig: noCa, serviceAccountDir: noSa, env: {} }),
    (e: Error & { code?: string }) => e.code === 'KR_ERR_CONFIG' && e.message.includes(path.join(dir, 'noca', 'ca.crt')),
  );
  assert.throws(
    () => loadKubeConfig({ serviceAccountDir: noSa, env: { KUBECONFIG: missing } }),
    (e: Error & { code?: string }) => e.code === 'KR_ERR_CONFIG' && e.message.includes(missing),
  );
  assert.throws(
    () => loadKubeConfig({ serviceAccountDir: noSa, env: { HOME: path.join(dir, 'empty-home') } }),
    (e: Error & { code?: string }) => e.code === 'KR_ERR_CONFIG',
  );
});

test('an http:// server in a kubeconfig file is accepted (no TLS to verify)', async () => {
  const file = write('http-config', KUBECONFIG.replace('https://127.0.0.1:6443', 'http://127.0.0.1:8080').replace('    certificate-authority: ca.crt\n', ''));
  const kc = loadKubeConfig({ kubeconfig: file, serviceAccountDir: noSa, env: {} });
  assert.equal(kc.getCurrentCluster()?.server, 'http://127.0.0.1:8080');
  const opts: { headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(opts); // would throw "HTTP protocol is not allowed" without skipTLSVerify
  assert.equal(opts.headers?.Authorization, 'Bearer s3cret');
});
