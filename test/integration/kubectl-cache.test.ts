// Acceptance (issue 2): the real kubectl creates, lists, labels and deletes a
// Service and a NetworkPolicy on the lab API server, and the agent's shared
// cache sees each change as the matching event with the expected content.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { ResourceEvent, SharedCache } from '../../src/informers/cache.js';
import { loadApiConnection } from '../../src/informers/kubeconfig.js';
import { createSharedCache } from '../../src/informers/shared-cache.js';
import type { KubeObject, NetworkPolicy, Service } from '../../src/informers/types.js';
import { startLabApiServer, type RunningLabApiServer } from '../../src/lab/apiserver/index.js';

function findKubectl(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  const candidates = [process.env.KUBECTL, '/usr/bin/kubectl', ...dirs.map((d) => path.join(d, 'kubectl'))];
  return candidates.find((c): c is string => c !== undefined && fs.existsSync(c));
}
const KUBECTL = findKubectl();
const SKIP = KUBECTL === undefined ? 'kubectl not found ($KUBECTL, /usr/bin/kubectl or PATH): scripts/setup installs it' : false;

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata: {name: kc-cache}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: kc-cache, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: kc-cache}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;

describe('kubectl changes reach the agent cache', { skip: SKIP }, () => {
  let server: RunningLabApiServer;
  let cache: SharedCache;
  let dir: string;
  let kubeconfig: string;
  const seen: string[] = [];

  const kubectl = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(
        KUBECTL as string,
        ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args],
        { timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });

  async function until<T>(what: string, get: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`the cache never showed: ${what}\nevents seen: ${seen.join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const record = (kind: string) => (ev: ResourceEvent<KubeObject>) =>
    seen.push(`${ev.type} ${kind} ${ev.obj.metadata.namespace}/${ev.obj.metadata.name}`);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-kubectl-cache-'));
    server = await startLabApiServer({ port: 0, bookmarkIntervalMs: 200 });
    kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, server.kubeconfig(), { mode: 0o600 });
    cache = createSharedCache({
      kubeConfig: await loadApiConnection({ kubeconfig, master: '' }),
      kinds: ['Service', 'NetworkPolicy'],
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
    });
    cache.on('Service', record('Service'));
    cache.on('NetworkPolicy', record('NetworkPolicy'));
    await cache.start();
    await cache.waitForSync(10_000);
  });

  after(async () => {
    await cache?.stop();
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('create -f: the cache holds the Service and the NetworkPolicy with their spec', async () => {
    const file = path.join(dir, 'objects.yaml');
    fs.writeFileSync(file, MANIFEST);
    await kubectl('create', '-f', file);
    const svc = await until('Service kc-cache/web', () => cache.store('Service').get('kc-cache/web'));
    assert.deepEqual(svc.spec.ports?.map((p) => [p.name, p.port, p.targetPort, p.protocol]), [['http', 80, 8080, 'TCP']]);
    assert.deepEqual(svc.spec.selector, { app: 'web' });
    const np = await until('NetworkPolicy kc-cache/deny-all', () => cache.store('NetworkPolicy').get('kc-cache/deny-all'));
    assert.deepEqual(np.spec.policyTypes, ['Ingress']);
    assert.ok(seen.includes('add Service kc-cache/web') && seen.includes('add NetworkPolicy kc-cache/deny-all'));
  });

  it('get: kubectl lists what the cache holds', async () => {
    const names = (await kubectl('get', 'services,networkpolicies', '-n', 'kc-cache', '-o', 'name')).trim().split('\n').sort();
    assert.deepEqual(names, ['networkpolicy.networking.k8s.io/deny-all', 'service/web']);
    assert.deepEqual(cache.store('Service').listNamespace('kc-cache').map((s: Service) => s.metadata.name), ['web']);
    assert.deepEqual(cache.store('NetworkPolicy').listNamespace('kc-cache').map((p: NetworkPolicy) => p.metadata.name), ['deny-all']);
  });

  it('label: the update arrives with the old object', async () => {
    const updates: ResourceEvent<Service>[] = [];
    const off = cache.on('Service', (ev) => {
      if (ev.type === 'update' && ev.obj.metadata.name === 'web') updates.push(ev);
    });
    await kubectl('label', 'service', 'web', '-n', 'kc-cache', 'tier=frontend');
    await kubectl('label', 'networkpolicy', 'deny-all', '-n', 'kc-cache', 'tier=frontend');
    const ev = await until('the labelled Service', () => updates.find((u) => u.obj.metadata.labels?.tier === 'frontend'));
    off();
    assert.equal(ev.old?.metadata.labels?.tier, undefined);
    await until('the labelled NetworkPolicy', () =>
      cache.store('NetworkPolicy').get('kc-cache/deny-all')?.metadata.labels?.tier === 'frontend' ? true : undefined,
    );
  });

  it('delete: the cache drops both and reports each delete once', async () => {
    await kubectl('delete', 'service', 'web', '-n', 'kc-cache');
    await kubectl('delete', 'networkpolicy', 'deny-all', '-n', 'kc-cache');
    await until('Service gone', () => (cache.store('Service').get('kc-cache/web') === undefined ? true : undefined));
    await until('NetworkPolicy gone', () => (cache.store('NetworkPolicy').get('kc-cache/deny-all') === undefined ? true : undefined));
    assert.equal(seen.filter((s) => s === 'delete Service kc-cache/web').length, 1);
    assert.equal(seen.filter((s) => s === 'delete NetworkPolicy kc-cache/deny-all').length, 1);
  });
});
