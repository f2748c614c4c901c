// The real kubectl (/usr/bin/kubectl) against the lab API server: create,
// get, label, annotate, replace, apply, get -w and delete of a Service and a
// NetworkPolicy from YAML, checking the store after each step; and the
// `kube-router-lab apiserver` command (kubeconfig out, exit 0 on SIGTERM).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLabApiServer, type RunningLabApiServer } from '../../src/lab/apiserver/index.js';

/** $KUBECTL, else /usr/bin/kubectl, else the first kubectl on PATH. */
function findKubectl(): string | undefined {
  const candidates = [process.env.KUBECTL, '/usr/bin/kubectl', ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'kubectl'))];
  return candidates.find((c): c is string => c !== undefined && c !== '' && fs.existsSync(c));
}

const KUBECTL = findKubectl() ?? '/usr/bin/kubectl';
const SKIP = fs.existsSync(KUBECTL) ? false : 'kubectl not found (/usr/bin/kubectl, $KUBECTL or PATH): install kubectl to run the real-kubectl tests';

const SERVICE_AND_POLICY = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: kc
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-allow
  namespace: kc
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - from:
    - podSelector:
        matchLabels: {role: client}
    ports:
    - port: 8080
`;

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(KUBECTL, args, { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe('real kubectl against the lab API server', { skip: SKIP }, () => {
  let srv: RunningLabApiServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let kc: (...args: string[]) => Promise<string>;

  before(async () => {
    srv = await startLabApiServer({ port: 0 });
    srv.store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kc' } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-apiserver-kubectl-'));
    fs.writeFileSync(path.join(dir, 'kubeconfig'), srv.kubeconfig(), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'objs.yaml'), SERVICE_AND_POLICY);
    env = { ...process.env, HOME: dir, KUBECONFIG: path.join(dir, 'kubeconfig') };
    kc = async (...args) => (await run(['--cache-dir', path.join(dir, 'cache'), ...args], env)).stdout;
  });

  after(async () => {
    await srv?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates, lists, labels, annotates, replaces, applies and deletes from YAML', async () => {
    const created = await kc('create', '-f', path.join(dir, 'objs.yaml'));
    assert.match(created, /service\/web created/);
    assert.match(created, /networkpolicy.networking.k8s.io\/web-allow created/);
    const svc = srv.store.get('Service', 'kc', 'web');
    assert.ok(svc);
    assert.equal((svc.spec as { ports: { protocol: string }[] }).ports[0].protocol, 'TCP');
    assert.ok(srv.store.get('NetworkPolicy', 'kc', 'web-allow'));

    const table = await kc('get', 'svc,netpol', '-n', 'kc');
    assert.match(table, /service\/web\s+ClusterIP/);
    assert.match(table, /web-allow\s+app=web/);
    const list = JSON.parse(await kc('get', 'services', '-n', 'kc', '-o', 'json')) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(list.items.map((i) => i.metadata.name), ['web']);

    await kc('label', '-n', 'kc', 'svc', 'web', 'tier=frontend');
    assert.equal(srv.store.get('Service', 'kc', 'web')?.metadata.labels?.tier, 'frontend');
    await kc('annotate', '-n', 'kc', 'netpol', 'web-allow', 'note=hello');
    assert.equal(srv.store.get('NetworkPolicy', 'kc', 'web-allow')?.metadata.annotations?.note, 'hello');
    await kc('label', '-n', 'kc', 'svc', 'web', 'tier-');
    assert.equal(srv.store.get('Service', 'kc', 'web')?.metadata.labels?.tier, undefined);

    // The controller-manager would allocate a ClusterIP; replace must keep it.
    srv.store.patch('Service', 'kc', 'web', { spec: { clusterIP: '10.96.0.10' } });
    fs.writeFileSync(path.join(dir, 'objs2.yaml'), SERVICE_AND_POLICY.replace('port: 80\n', 'port: 81\n'));
    await kc('replace', '-f', path.join(dir, 'objs2.yaml'));
    const replaced = srv.store.get('Service', 'kc', 'web');
    assert.equal((replaced?.spec as { ports: { port: number }[] }).ports[0].port, 81);
    assert.equal((replaced?.spec as { clusterIP: string }).clusterIP, '10.96.0.10');
    assert.equal(srv.store.get('NetworkPolicy', 'kc', 'web-allow')?.metadata.annotations?.note, undefined);

    // Client-side apply: a strategic merge patch (with $setElementOrder and
    // $patch: delete directives once last-applied-configuration exists).
    fs.writeFileSync(path.join(dir, 'objs3.yaml'), SERVICE_AND_POLICY.replace('port: 80\n', 'port: 81\n').replace('labels: {app: web}', 'labels: {app: web, applied: "yes"}'));
    const applied = await kc('apply', '-f', path.join(dir, 'objs3.yaml'));
    assert.match(applied, /service\/web configured/);
    assert.equal(srv.store.get('Service', 'kc', 'web')?.metadata.labels?.applied, 'yes');
    assert.ok(srv.store.get('Service', 'kc', 'web')?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']);
    await kc('apply', '-f', path.join(dir, 'objs.yaml'));
    const reapplied = srv.store.get('Service', 'kc', 'web');
    assert.deepEqual((reapplied?.spec as { ports: { port: number }[] }).ports.map((p) => p.port), [80]);
    assert.equal(reapplied?.metadata.labels?.applied, undefined);

    const deleted = await kc('delete', '-f', path.join(dir, 'objs.yaml'));
    assert.match(deleted, /service "web" deleted/);
    assert.equal(srv.store.get('Service', 'kc', 'web'), undefined);
    assert.equal(srv.store.get('NetworkPolicy', 'kc', 'web-allow'), undefined);
  });

  it('accepts the protobuf bodies of kubectl create namespace / service', async () => {
    assert.match(await kc('create', 'namespace', 'pb'), /namespace\/pb created/);
    assert.equal(srv.store.get('Namespace', undefined, 'pb')?.metadata.labels?.['kubernetes.io/metadata.name'], 'pb');
    await kc('create', 'service', 'nodeport', 'np', '-n', 'pb', '--tcp=81:8081', '--node-port=30081');
    const np = srv.store.get('Service', 'pb', 'np');
    assert.deepEqual((np?.spec as { ports: unknown[] }).ports, [{ name: '81-8081', port: 81, protocol: 'TCP', targetPort: 8081, nodePort: 30081 }]);
    assert.equal((np?.spec as Record<string, unknown>).type, 'NodePort');
    assert.deepEqual((np?.spec as Record<string, unknown>).selector, { app: 'np' });
  });

  it('drains a node (typed clients: cordon patch, protobuf Eviction bodies)', async () => {
    srv.store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'drain-me' }, spec: {} });
    for (const name of ['d1', 'd2']) {
      srv.store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kc' }, spec: { nodeName: 'drain-me', containers: [{ name: 'c', image: 'busybox' }] } });
    }
    // A stand-in kubelet: pods marked for deletion go at once.
    const stop = srv.store.watch('Pod', srv.store.resourceVersion(), { namespace: 'kc' }, (ev) => {
      if (ev.type === 'MODIFIED' && ev.object.metadata.deletionTimestamp !== undefined) {
        setImmediate(() => srv.store.delete('Pod', 'kc', ev.object.metadata.name, { gracePeriodSeconds: 0 }));
      }
    });
    try {
      const out = await kc('drain', 'drain-me', '--force', '--timeout=20s');
      assert.match(out, /node\/drain-me drained/);
      assert.equal(srv.store.list('Pod', { namespace: 'kc', fieldSelector: 'spec.nodeName=drain-me' }).items.length, 0);
      assert.equal((srv.store.get('Node', undefined, 'drain-me')?.spec as Record<string, unknown>).unschedulable, true);
    } finally {
      stop();
    }
  });

  it('reports server errors the way kubectl prints kube-apiserver Status objects', async () => {
    await assert.rejects(kc('get', 'svc', 'nope', '-n', 'kc'), /services "nope" not found/);
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: kc}\nspec:\n  ports: [{port: 70000}]\n');
    await assert.rejects(kc('create', '-f', path.join(dir, 'bad.yaml')), /The Service "bad" is invalid:[\s\S]*spec\.ports\[0\]\.port: Invalid value: 70000/);
  });

  it('streams changes with kubectl get -w', async () => {
    const child = spawn(KUBECTL, ['--cache-dir', path.join(dir, 'cache'), 'get', 'services', '-n', 'kc', '-w', '-o', 'name'], { env });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      // Wait until kubectl's watch is open, then write.
      const deadline = Date.now() + 10_000;
      while (srv.activeWatches() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(srv.activeWatches() > 0, 'kubectl opened no watch');
      srv.store.create('Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'watched', namespace: 'kc' }, spec: { ports: [{ port: 1 }] } });
      while (!out.includes('service/watched') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(out, /service\/watched/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('kube-router-lab apiserver command', { skip: SKIP }, () => {
  it('writes a kubeconfig kubectl can use and exits 0 on SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-apiserver-cli-'));
    const bin = fileURLToPath(new URL('../../src/cmd/kube-router-lab.js', import.meta.url));
    const seed = path.join(dir, 'seed.yaml');
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      seed,
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: demo}\nspec:\n  nodeName: node1\n  containers: [{name: c, image: busybox}]\nstatus: {phase: Running, podIP: 10.244.1.5}\n',
    );
    const child = spawn(process.execPath, [bin, 'apiserver', '--port', '0', '--kubeconfig-out', kubeconfig, '--seed', seed, '--bookmark-interval', '500ms', '-v', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stdout.on('data', (b: Buffer) => (logs += b.toString()));
    child.stderr.on('data', (b: Buffer) => (logs += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!logs.includes('listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(fs.existsSync(kubeconfig), `no kubeconfig written; output:\n${logs}`);
      assert.equal(fs.statSync(kubeconfig).mode & 0o777, 0o600);
      const env = { ...process.env, HOME: dir };
      const { stdout } = await run(['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), 'get', 'pods', '-n', 'demo', '-o', 'jsonpath={.items[0].status.podIP}'], env);
      assert.equal(stdout, '10.244.1.5');
      // The request's log line travels through a pipe: give it a moment.
      const logDeadline = Date.now() + 5000;
      while (!/"url":"\/api\/v1\/namespaces\/demo\/pods/.test(logs) && Date.now() < logDeadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(logs, /"url":"\/api\/v1\/namespaces\/demo\/pods/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
