// The guest supervisor's wiring without a VM: the host-made API server
// certificates (written, read back, refused when they do not fit), the node
// specs with labels from the guest config, and a controller-manager started
// as the supervisor starts it (admission hooks installed; stop() resolves).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabApiServer } from '../../src/lab/apiserver/index.js';
import { makeServingCertsSync } from '../../src/lab/apiserver/certs.js';
import { API_CERT_HOSTS, apiCertsPath, readApiCerts, writeApiCerts } from '../../src/lab/guest/api-certs.js';
import type { GuestConfig } from '../../src/lab/guest/config.js';
import type { GuestContext } from '../../src/lab/guest/context.js';
import { labNodeSpecs, startControllerManager } from '../../src/lab/guest/integrations.js';
import type { LabApiServer } from '../../src/lab/apiserver/types.js';

function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-wiring-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function fakeCtx(api: LabApiServer | undefined, dir: string, nodeLabels?: GuestConfig['nodeLabels']): GuestContext {
  const nodes = [1, 2].map((i) => ({ name: `node${i}`, ip: `192.168.56.1${i}` }));
  const config = { apiPort: 6443, logsDir: dir, nodeLabels } as GuestConfig;
  return { api, config, topology: { nodes } } as unknown as GuestContext;
}

describe('guest wiring: API server certificates from the host', () => {
  it('writes certs covering the guest names, reads them back', withDir((dir) => {
    const written = writeApiCerts(dir);
    assert.equal(readFileSync(apiCertsPath(dir), 'utf8').length > 0, true);
    const { certs, why } = readApiCerts(dir);
    assert.equal(why, undefined);
    assert.deepEqual(certs, written);
  }));

  it('says why when there are none, or they do not fit the guest names', withDir((dir) => {
    assert.match(readApiCerts(dir).why ?? '', /does not exist/);
    writeFileSync(apiCertsPath(dir), JSON.stringify(makeServingCertsSync([])));
    assert.match(readApiCerts(dir).why ?? '', /does not cover 192\.168\.56\.1/);
    writeFileSync(apiCertsPath(dir), '{"caPem": 1}');
    assert.match(readApiCerts(dir).why ?? '', /caPem, certPem, keyPem expected/);
  }));

  it('the API server starts with them on the guest names', withDir(async (dir) => {
    writeApiCerts(dir);
    const { certs } = readApiCerts(dir);
    const srv = await startLabApiServer({ port: 0, certs, certHosts: API_CERT_HOSTS });
    try {
      assert.equal(srv.caPem, certs?.caPem);
    } finally {
      await srv.close();
    }
  }));
});

describe('guest wiring: controller-manager', () => {
  it('passes node labels from the guest config', () => {
    const specs = labNodeSpecs(fakeCtx(undefined, '/tmp', { node2: { 'topology.kubernetes.io/zone': 'b' } }));
    assert.deepEqual(specs, [
      { name: 'node1', internalIP: '192.168.56.11' },
      { name: 'node2', internalIP: '192.168.56.12', labels: { 'topology.kubernetes.io/zone': 'b' } },
    ]);
  });

  it('starts with the admission hooks in the API server store; stop() resolves', withDir(async (dir) => {
    const api = await startLabApiServer({ port: 0 });
    try {
      const cm = await startControllerManager(fakeCtx(api, dir, { node1: { 'topology.kubernetes.io/zone': 'a' } }));
      assert.equal(cm.admissionInstalled, true);
      assert.equal(api.store.get('Node', undefined, 'node1')?.metadata.labels?.['topology.kubernetes.io/zone'], 'a');
      const svc = api.store.create('Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
      assert.ok((svc.spec as { clusterIP?: string }).clusterIP);
      await cm.stop();
      await cm.stop();
    } finally {
      await api.close();
    }
  }));
});
