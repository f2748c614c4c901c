// The agent's CRI client (src/cri/client.ts) against the lab kubelet's CRI
// endpoint (src/lab/cluster/kubelet/cri-server.ts) over a real unix socket
// and grpc: how a pod's network namespace is found, and the errors an
// operator sees when it cannot be.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriClient, runtimeTarget } from '../../src/cri/client.js';
import { startCriServer } from '../../src/lab/cluster/kubelet/cri-server.js';
import type { LabSandbox } from '../../src/lab/cluster/kubelet/types.js';

function sandbox(over: Partial<LabSandbox>): LabSandbox {
  return { id: 'id-web', namespace: 'dsr', name: 'web-1', uid: 'u1', ready: true, hostNetwork: false, createdAtNs: 1e18, ips: ['10.244.1.5'], ...over };
}

test('CRI client finds a pod namespace through ListPodSandbox + verbose PodSandboxStatus; errors name the pod', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'krt-cri-'));
  const socket = join(dir, 'containerd.sock');
  const boxes: LabSandbox[] = [
    // An older, not ready sandbox of the same pod: ignored.
    sandbox({ id: 'old', ready: false, createdAtNs: 5e17, pid: 1 }),
    sandbox({ pid: process.pid, netnsPath: '/run/netns/does-not-exist' }),
    sandbox({ id: 'id-path', name: 'web-2', netnsPath: `/proc/${process.pid}/ns/net` }),
    sandbox({ id: 'id-host', name: 'hostnet', hostNetwork: true, pid: process.pid }),
    sandbox({ id: 'id-gone', name: 'gone', netnsPath: '/run/netns/gone-xyz' }),
  ];
  const server = await startCriServer(socket, () => boxes);
  const client = new CriClient({ endpoint: `unix://${socket}`, timeoutMs: 3000 });
  t.after(async () => {
    client.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  assert.equal((await client.version()).runtime_name, 'kube-router-lab');
  assert.deepEqual(await client.podNetns('dsr', 'web-1'), { pod: 'dsr/web-1', sandboxId: 'id-web', path: `/proc/${process.pid}/ns/net` });
  assert.equal((await client.podNetns('dsr', 'web-2')).path, `/proc/${process.pid}/ns/net`);
  await assert.rejects(client.podNetns('dsr', 'nope'), (e: Error) => {
    assert.match(e.message, /^Pod dsr\/nope: no ready sandbox on unix:\/\/.*containerd\.sock \(runtime\.v1\.RuntimeService\/ListPodSandbox\)$/);
    return true;
  });
  await assert.rejects(client.podNetns('dsr', 'hostnet'), /pod dsr\/hostnet: uses the host network/);
  await assert.rejects(client.podNetns('dsr', 'gone'), /Pod dsr\/gone: sandbox id-gone: none of its network namespace paths exists here \(\/run\/netns\/gone-xyz\)/);
});

test('CRI client: an unreachable runtime is a KR_ERR_CRI error naming the pod, the call and the socket', async () => {
  const client = new CriClient({ endpoint: '/nonexistent/krt/containerd.sock', timeoutMs: 1500 });
  try {
    await assert.rejects(client.podNetns('dsr', 'web-1'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'KR_ERR_CRI');
      assert.match(e.message, /^Pod dsr\/web-1: runtime\.v1\.RuntimeService\/ListPodSandbox on unix:\/\/\/nonexistent\/krt\/containerd\.sock: (UNAVAILABLE|DEADLINE_EXCEEDED)/);
      return true;
    });
  } finally {
    client.close();
  }
});

test('runtime endpoint: containerd by default, unix forms accepted, other schemes refused', () => {
  assert.equal(runtimeTarget(''), 'unix:///run/containerd/containerd.sock');
  assert.equal(runtimeTarget('unix:///run/crio/crio.sock'), 'unix:///run/crio/crio.sock');
  assert.equal(runtimeTarget('/run/crio/crio.sock'), 'unix:///run/crio/crio.sock');
  assert.throws(() => runtimeTarget('tcp://1.2.3.4:1234'), /invalid value "tcp:\/\/1\.2\.3\.4:1234" for flag --runtime-endpoint/);
});
