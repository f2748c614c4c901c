// @kubernetes/client-node 1.4 (an independent client of the real protocol)
// against the lab API server: typed API calls through the generated
// kubeconfig, and an informer surviving dropped watches and 410 Gone.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, KubeConfig, NetworkingV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { startLabApiServer, type RunningLabApiServer, type StoredObject } from '../../src/lab/apiserver/index.js';

function pod(name: string): StoredObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'cn' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('client-node 1.4 against the lab API server', () => {
  let srv: RunningLabApiServer;
  let kc: KubeConfig;

  before(async () => {
    srv = await startLabApiServer({ port: 0 });
    srv.store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cn' } });
    kc = new KubeConfig();
    kc.loadFromString(srv.kubeconfig());
  });

  after(async () => {
    await srv.close();
  });

  it('creates, reads and lists through the generated API clients', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedService({
      namespace: 'cn',
      body: { metadata: { name: 'web', labels: { app: 'web' } }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
    });
    assert.equal(created.spec?.type, 'ClusterIP');
    assert.ok(created.metadata?.creationTimestamp instanceof Date);
    const list = await core.listServiceForAllNamespaces({ labelSelector: 'app=web' });
    assert.deepEqual(list.items.map((s) => s.metadata?.name), ['web']);
    await assert.rejects(core.readNamespacedService({ namespace: 'cn', name: 'nope' }), (err: unknown) => (err as { code?: number }).code === 404);
    const net = kc.makeApiClient(NetworkingV1Api);
    const np = await net.createNamespacedNetworkPolicy({ namespace: 'cn', body: { metadata: { name: 'np' }, spec: { podSelector: {} } } });
    assert.deepEqual(np.spec?.policyTypes, ['Ingress']);
  });

  it('keeps an informer in step across dropped watches and 410 Gone', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(kc, '/api/v1/namespaces/cn/pods', () => core.listNamespacedPod({ namespace: 'cn' }));
    const names = new Set<string>();
    const errors: unknown[] = [];
    informer.on('add', (p) => names.add(p.metadata?.name ?? ''));
    informer.on('delete', (p) => names.delete(p.metadata?.name ?? ''));
    informer.on('error', (e) => errors.push(e));
    srv.store.create('Pod', pod('before'));
    await informer.start();
    try {
      await until(() => names.has('before'), 'initial list');
      srv.store.create('Pod', pod('live'));
      await until(() => names.has('live'), 'live ADDED');
      // Dropped watch: client-node reconnects from its resourceVersion.
      srv.dropWatches();
      srv.store.create('Pod', pod('after-drop'));
      await until(() => names.has('after-drop'), 'event after a dropped watch');
      // Compacted history: the reconnect gets 410 and client-node relists.
      srv.store.delete('Pod', 'cn', 'live');
      srv.compact();
      srv.dropWatches();
      srv.store.create('Pod', pod('after-410'));
      await until(() => names.has('after-410') && !names.has('live'), 'relist after 410');
      assert.deepEqual([...names].sort(), ['after-410', 'after-drop', 'before']);
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });
});
