// The controller-manager's admission hooks installed in the lab API server:
// a Service created over REST or with the real kubectl comes back from the
// create call with its ClusterIP and NodePort; a requested ClusterIP that is
// taken is a 422; deleting a Service frees its values for reuse at once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLabApiServer, type RunningLabApiServer } from '../../src/lab/apiserver/index.js';
import { LabApiClient } from '../../src/lab/apiserver/http-client.js';
import { startControllerManager, type ControllerManager } from '../../src/lab/cluster/controller-manager/index.js';

interface SvcJson {
  metadata: { name: string };
  spec: { clusterIP?: string; clusterIPs?: string[]; ports: { port: number; nodePort?: number }[] };
}

function findKubectl(): string | undefined {
  const candidates = [process.env.KUBECTL, '/usr/bin/kubectl', ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'kubectl'))];
  return candidates.find((c): c is string => c !== undefined && c !== '' && fs.existsSync(c));
}
const KUBECTL = findKubectl();

function svcYaml(name: string, extra = ''): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: adm}
spec:
  type: NodePort
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: 8080}]
${extra}`;
}

function kubectl(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL ?? 'kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

describe('lab API server with the controller-manager admission hooks', () => {
  let srv: RunningLabApiServer;
  let cm: ControllerManager;
  let client: LabApiClient;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    srv = await startLabApiServer({ port: 0 });
    cm = await startControllerManager({
      store: srv.store,
      nodes: [{ name: 'node1', internalIP: '192.168.56.11' }],
      apiServerEndpoint: { ip: '192.168.56.1', port: 6443 },
    });
    srv.store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'adm' } });
    client = new LabApiClient(srv);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-apiserver-admission-'));
    fs.writeFileSync(path.join(dir, 'kubeconfig'), srv.kubeconfig(), { mode: 0o600 });
    env = { ...process.env, HOME: dir, KUBECONFIG: path.join(dir, 'kubeconfig') };
  });

  after(async () => {
    await cm?.stop();
    client?.close();
    await srv?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs the hooks in the store', () => {
    assert.equal(cm.admissionInstalled, true);
  });

  it('a Service created over REST comes back with its ClusterIP and NodePort', async () => {
    const body = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'rest' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } };
    const res = await client.request<SvcJson>('POST', '/api/v1/namespaces/adm/services', body);
    assert.equal(res.code, 201, res.text);
    assert.match(res.body.spec.clusterIP ?? '', /^10\.(9[6-9]|10[0-9]|11[01])\./);
    assert.deepEqual(res.body.spec.clusterIPs, [res.body.spec.clusterIP]);
    const np = res.body.spec.ports[0].nodePort ?? 0;
    assert.ok(np >= 30000 && np <= 32767, String(np));

    const taken = await client.request<{ code: number; reason: string; message: string }>('POST', '/api/v1/namespaces/adm/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'rest2' },
      spec: { clusterIP: res.body.spec.clusterIP, ports: [{ port: 80 }] },
    });
    assert.equal(taken.code, 422, taken.text);
    assert.equal(taken.body.reason, 'Invalid');
    assert.match(taken.body.message, /already allocated/);

    const del = await client.request('DELETE', '/api/v1/namespaces/adm/services/rest');
    assert.equal(del.code, 200, del.text);
    const reuse = await client.request<SvcJson>('POST', '/api/v1/namespaces/adm/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'rest3' },
      spec: { clusterIP: res.body.spec.clusterIP, type: 'NodePort', ports: [{ port: 80, nodePort: np }] },
    });
    assert.equal(reuse.code, 201, reuse.text);
    assert.equal(reuse.body.spec.clusterIP, res.body.spec.clusterIP);
    assert.equal(reuse.body.spec.ports[0].nodePort, np);
  });

  it('a JSON merge patch of the Service keeps its allocations', async () => {
    const before = srv.store.get('Service', 'adm', 'rest3') as unknown as SvcJson;
    const res = await client.request<SvcJson>('PATCH', '/api/v1/namespaces/adm/services/rest3', { metadata: { labels: { a: 'b' } } }, 'application/merge-patch+json');
    assert.equal(res.code, 200, res.text);
    assert.equal(res.body.spec.clusterIP, before.spec.clusterIP);
    assert.equal(res.body.spec.ports[0].nodePort, before.spec.ports[0].nodePort);
  });

  it('with real kubectl: create gets the values, a taken ClusterIP is a 422, delete frees it', { skip: KUBECTL === undefined ? 'kubectl not found' : false }, async () => {
    const kc = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => kubectl(['--cache-dir', path.join(dir, 'cache'), ...args], env);
    fs.writeFileSync(path.join(dir, 'web.yaml'), svcYaml('web'));
    const created = await kc('create', '-f', path.join(dir, 'web.yaml'), '-o', 'json');
    assert.equal(created.code, 0, created.stderr);
    const web = JSON.parse(created.stdout) as SvcJson;
    assert.ok(web.spec.clusterIP, 'the create answer carries the ClusterIP');
    assert.ok(web.spec.ports[0].nodePort, 'and the NodePort');

    fs.writeFileSync(path.join(dir, 'steal.yaml'), svcYaml('steal', `  clusterIP: ${web.spec.clusterIP}\n`));
    const stolen = await kc('create', '-f', path.join(dir, 'steal.yaml'), '-v=6');
    assert.notEqual(stolen.code, 0);
    assert.match(stolen.stderr, /POST https:\/\/\S+\/api\/v1\/namespaces\/adm\/services\S* 422 /);
    assert.match(stolen.stderr, /The Service "steal" is invalid: spec.clusterIPs(\[0\])?: Invalid value: .*already allocated/);
    assert.equal(srv.store.get('Service', 'adm', 'steal'), undefined);

    const deleted = await kc('delete', 'service', 'web', '-n', 'adm');
    assert.equal(deleted.code, 0, deleted.stderr);
    const again = await kc('create', '-f', path.join(dir, 'steal.yaml'), '-o', 'json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as SvcJson).spec.clusterIP, web.spec.clusterIP);
  });
});
