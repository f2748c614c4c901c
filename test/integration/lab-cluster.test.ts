// The guest LabCluster on this host, without the VM: one "node" network
// namespace with the real lab kubelet (real CNI plugins, native responders
// and probers), the lab store, and a topology that enters the node with
// `ip netns exec`. Applies the x/y/z pods, settles, runs the full 9x9 TCP+UDP
// matrix as one batch (timed), execs, holds a connection, and resets (the
// pods' netns gone when reset resolves). No agents. Root needed.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredObject } from '../../src/lab/apiserver/types.js';
import { LabStore } from '../../src/lab/apiserver/store.js';
import { startKubelet } from '../../src/lab/cluster/kubelet/kubelet.js';
import { execLocal } from '../../src/lab/cluster/kubelet/runner.js';
import type { Kubelet } from '../../src/lab/cluster/kubelet/types.js';
import type { ProbeRequest } from '../../src/lab/scenario/cluster.js';
import { GuestLabCluster } from '../../src/lab/guest/lab-cluster.js';
import type { LabClusterHost } from '../../src/lab/guest/lab-cluster-host.js';
import type { ExecTarget } from '../../src/lab/topology/types.js';

const isRoot = process.getuid?.() === 0;
const hasPlugins = existsSync('/usr/lib/cni/bridge') && existsSync('/usr/lib/cni/host-local');
const skip = !isRoot ? 'needs root (ip netns)' : !hasPlugins ? 'needs containernetworking-plugins in /usr/lib/cni' : false;

const NODE = `krt-lc-${process.pid}`;
const NODE_IP = '192.168.232.1';
const POD_CIDR = '10.244.78.0/24';
const PODS = ['x', 'y', 'z'].flatMap((ns) => ['a', 'b', 'c'].map((n) => `${ns}/${n}`));

function pod(key: string): StoredObject {
  const [ns, name] = key.split('/');
  const ports = [80, 81].flatMap((p) => [
    { containerPort: p, protocol: 'TCP' },
    { containerPort: p, protocol: 'UDP' },
  ]);
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { pod: name } }, spec: { containers: [{ name: 'c', image: 'lab', ports }] } };
}

describe('the guest LabCluster on a host netns node with the real kubelet', { skip }, () => {
  let store: LabStore;
  let kubelet: Kubelet;
  let tmp: string;
  let cluster: GuestLabCluster;

  before(async () => {
    store = new LabStore();
    store.seed([]);
    tmp = await mkdtemp(join(tmpdir(), 'krt-lab-cluster-'));
    for (const argv of [
      ['ip', 'netns', 'add', NODE],
      ['ip', '-n', NODE, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', NODE, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo'],
    ]) {
      const r = await execLocal(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    }
    store.create('Node', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE },
      spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
      status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
    });
    kubelet = await startKubelet({
      store,
      nodeName: NODE,
      nodeIP: NODE_IP,
      nodeCommandPrefix: ['ip', 'netns', 'exec', NODE],
      cniConfDir: join(tmp, 'net.d'),
      cniIpamDataDir: join(tmp, 'networks'),
      stateDir: join(tmp, 'state'),
      concurrency: 9,
    });
    const host: LabClusterHost = {
      config: { nodes: 1, secondSubnet: false, agentArgs: [] },
      api: { store, stop: async () => undefined, start: async () => undefined },
      topology: {
        nodes: [{ name: NODE, ip: NODE_IP }],
        argvFor(t: ExecTarget, argv: readonly string[]): string[] {
          if (t.kind === 'node') return ['ip', 'netns', 'exec', NODE, ...argv];
          if (t.kind === 'pod') {
            const loc = kubelet.locate(t.namespace, t.name);
            if (loc === undefined) throw new Error(`no pod ${t.namespace}/${t.name}`);
            return ['ip', 'netns', 'exec', loc.netns, ...argv];
          }
          return [...argv];
        },
      },
      kubelets: [kubelet],
    };
    cluster = new GuestLabCluster(host, { pollMs: 50 });
  });

  after(async () => {
    await kubelet?.stop({ teardownPods: true });
    await execLocal(['ip', 'netns', 'del', NODE]);
    await rm(tmp, { recursive: true, force: true });
  });

  it('applies the x/y/z pods, settles, and passes a 9x9 TCP+UDP matrix in one batch', async () => {
    const ns = ['x', 'y', 'z'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    const t0 = Date.now();
    await cluster.apply([...ns, ...PODS.map(pod)]);
    const settled = await cluster.settle(60_000);
    assert.deepEqual(settled, { settled: true, pending: [] });
    const tSettle = Date.now() - t0;
    const ip = new Map<string, string>();
    for (const key of PODS) {
      const [n, name] = key.split('/');
      ip.set(key, ((await cluster.get('Pod', n, name))?.status as { podIP: string }).podIP);
    }
    const batch: ProbeRequest[] = [];
    for (const from of PODS) {
      for (const to of PODS) {
        for (const port of [80, 81]) {
          for (const protocol of ['TCP', 'UDP'] as const) {
            const [n, name] = from.split('/');
            batch.push({ from: { kind: 'pod', namespace: n, name }, toIP: ip.get(to) ?? '', port, protocol, timeoutMs: 1000 });
          }
        }
      }
    }
    const t1 = Date.now();
    const rs = await cluster.probe(batch);
    const tMatrix = Date.now() - t1;
    assert.equal(rs.length, 324);
    rs.forEach((r, i) => {
      const to = PODS[Math.floor((i % 36) / 4)];
      assert.equal(r.connected, true, `probe ${i}: ${r.error}`);
      assert.equal(r.body, to, `probe ${i} answered by ${to}`);
    });
    process.stderr.write(`# lab-cluster on host: 9 pods applied+settled in ${tSettle} ms; 9x9x2x2 matrix (324 probes) in ${tMatrix} ms\n`);
  });

  it('probes from the node, execs in a pod and on the node, holds a connection unbroken', async () => {
    const a = (await cluster.get('Pod', 'x', 'a'))?.status as { podIP: string };
    const b = (await cluster.get('Pod', 'y', 'b'))?.status as { podIP: string };
    const [fromNode, closed] = await cluster.probe([
      { from: { kind: 'node', name: NODE }, toIP: a.podIP, port: 81, protocol: 'UDP', timeoutMs: 1000 },
      { from: { kind: 'node', name: NODE }, toIP: a.podIP, port: 82, protocol: 'TCP', timeoutMs: 1000 },
    ]);
    assert.deepEqual({ connected: fromNode.connected, body: fromNode.body }, { connected: true, body: 'x/a' });
    assert.deepEqual({ connected: closed.connected, error: closed.error }, { connected: false, error: 'ECONNREFUSED' });

    const inPod = await cluster.exec({ kind: 'pod', namespace: 'x', name: 'a' }, 'ip -4 addr show eth0; echo oops >&2; exit 3', 10_000);
    assert.equal(inPod.exitCode, 3);
    assert.match(inPod.output, new RegExp(`inet ${a.podIP.replace(/\./g, '\\.')}/24[\\s\\S]*oops`));
    const onNode = await cluster.exec({ kind: 'node', name: NODE }, 'ip link show kube-bridge', 10_000);
    assert.equal(onNode.exitCode, 0, onNode.output);

    await cluster.hold('c1', { kind: 'pod', namespace: 'x', name: 'a' }, b.podIP, 80);
    await new Promise((r) => setTimeout(r, 400));
    const held = await cluster.release('c1');
    assert.equal(held.broken, false, held.error);
    assert.ok(held.maxGapMs < 1000, `max gap ${held.maxGapMs} ms`);
  });

  it('reset removes the namespaces and resolves only once every pod netns is gone', async () => {
    const netns = PODS.map((k) => {
      const [n, name] = k.split('/');
      return kubelet.podNetns(n, name) ?? '';
    });
    assert.ok(netns.every((n) => n !== '' && existsSync(`/run/netns/${n}`)));
    const t0 = Date.now();
    await cluster.reset();
    const ms = Date.now() - t0;
    for (const n of netns) assert.equal(existsSync(`/run/netns/${n}`), false, `${n} removed`);
    assert.deepEqual(await cluster.list('Pod'), []);
    assert.deepEqual((await cluster.list('Namespace')).map((n) => n.metadata.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    process.stderr.write(`# lab-cluster on host: reset of 9 pods in ${ms} ms\n`);
  });
});
