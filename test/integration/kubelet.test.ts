// The lab kubelet on this host: a "node" network namespace, the real CNI
// plugins from /usr/lib/cni (bridge + host-local + portmap), pods with
// responders, probes between them, adoption by a restarted kubelet, and CNI
// DEL on delete. Root needed (ip netns); temp dirs keep the host's
// /etc/cni/net.d and /var/lib/cni untouched.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore, StoredObject } from '../../src/lab/apiserver/types.js';
import { MemoryObjectStore } from '../../src/lab/cluster/kubelet/memory-store.js';
import { startKubelet } from '../../src/lab/cluster/kubelet/kubelet.js';
import { execLocal } from '../../src/lab/cluster/kubelet/runner.js';
import { podNetnsName } from '../../src/lab/cluster/kubelet/naming.js';
import type { Kubelet, KubeletOptions } from '../../src/lab/cluster/kubelet/types.js';

const isRoot = process.getuid?.() === 0;
const hasPlugins = existsSync('/usr/lib/cni/bridge') && existsSync('/usr/lib/cni/host-local');
const skip = !isRoot ? 'needs root (ip netns)' : !hasPlugins ? 'needs containernetworking-plugins in /usr/lib/cni' : false;

const NODE = `krt-kl-${process.pid}`;
const NODE_IP = '192.168.231.1';
const POD_CIDR = '10.244.77.0/24';

/** The lab API server's store when it exists, else the kubelet's in-memory stand-in. */
async function makeStore(): Promise<{ store: ObjectStore; close: () => Promise<void> }> {
  const modPath = '../../src/lab/apiserver/index.js';
  try {
    const mod = (await import(modPath)) as { startLabApiServer?: (o: object) => Promise<{ store: ObjectStore; close(): Promise<void> }> };
    if (mod.startLabApiServer) {
      const server = await mod.startLabApiServer({ port: 0 });
      return { store: server.store, close: () => server.close() };
    }
  } catch {
    // not there yet
  }
  return { store: new MemoryObjectStore(), close: async () => undefined };
}

function pod(ns: string, name: string, extra: { hostNetwork?: boolean; ports?: number[] } = {}): StoredObject {
  const ports = (extra.ports ?? [80, 81]).flatMap((p) => [
    { containerPort: p, protocol: 'TCP' },
    { containerPort: p, protocol: 'UDP' },
  ]);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { pod: name } },
    spec: { nodeName: NODE, ...(extra.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'c', image: 'lab/responder', ports }] },
  };
}

interface PodStatusView {
  phase?: string;
  podIP?: string;
  hostIP?: string;
  conditions?: { type: string; status: string }[];
}

function statusOf(store: ObjectStore, ns: string, name: string): PodStatusView {
  return (store.get('Pod', ns, name)?.status ?? {}) as PodStatusView;
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ipInCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const n = (s: string): number => s.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((n(ip) & mask) >>> 0) === ((n(net) & mask) >>> 0);
}

async function netnsList(): Promise<string> {
  return (await execLocal(['ip', 'netns', 'list'])).stdout;
}

describe('lab kubelet on a host netns node', { skip }, () => {
  let store: ObjectStore;
  let closeStore: () => Promise<void>;
  let tmp: string;
  let kubelet: Kubelet | undefined;
  let opts: KubeletOptions;

  before(async () => {
    ({ store, close: closeStore } = await makeStore());
    tmp = await mkdtemp(join(tmpdir(), 'krt-kubelet-'));
    for (const argv of [
      ['ip', 'netns', 'add', NODE],
      ['ip', '-n', NODE, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', NODE, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo'],
    ]) {
      const r = await execLocal(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    }
    for (const ns of ['default', 'x']) {
      try {
        store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      } catch {
        // already there
      }
    }
    store.create('Node', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE },
      spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
      status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
    });
    opts = {
      store,
      nodeName: NODE,
      nodeIP: NODE_IP,
      nodeCommandPrefix: ['ip', 'netns', 'exec', NODE],
      cniConfDir: join(tmp, 'net.d'),
      cniIpamDataDir: join(tmp, 'networks'),
      stateDir: join(tmp, 'state'),
      resyncIntervalMs: 300,
    };
    kubelet = await startKubelet(opts);
  });

  after(async () => {
    await kubelet?.stop({ teardownPods: true });
    // Anything a failed test left behind: the pod namespaces of this node, then the node.
    for (const n of ['a', 'b', 'c', 'h']) await execLocal(['ip', 'netns', 'del', podNetnsName(NODE, 'x', n)]);
    await execLocal(['ip', 'netns', 'del', NODE]);
    await closeStore();
    await rm(tmp, { recursive: true, force: true });
  });

  function readdirSafe(dir: string): string[] {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  }

  it('installs the CNI template with the podCIDR and runs 3 pods with IPs from it on kube-bridge', async () => {
    for (const n of ['a', 'b', 'c']) store.create('Pod', pod('x', n));
    for (const n of ['a', 'b', 'c']) {
      await waitFor(`x/${n} Running`, () => {
        const s = statusOf(store, 'x', n);
        return s.phase === 'Running' && s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      });
      const s = statusOf(store, 'x', n);
      assert.ok(s.podIP && ipInCidr(s.podIP, POD_CIDR), `x/${n} IP ${s.podIP} in ${POD_CIDR}`);
      assert.equal(s.hostIP, NODE_IP);
    }
    const ips = ['a', 'b', 'c'].map((n) => statusOf(store, 'x', n).podIP);
    assert.equal(new Set(ips).size, 3);

    const conf = JSON.parse(readFileSync(join(opts.cniConfDir ?? '', '10-kuberouter.conflist'), 'utf8')) as {
      plugins: { type: string; bridge?: string; ipam?: { ranges?: unknown } }[];
    };
    assert.deepEqual(conf.plugins[0].ipam?.ranges, [[{ subnet: POD_CIDR }]]);
    assert.equal(conf.plugins[0].bridge, 'kube-bridge');

    const br = await execLocal(['ip', '-n', NODE, '-4', 'addr', 'show', 'kube-bridge']);
    assert.match(br.stdout, /inet 10\.244\.77\.1\/24/);
    const inPod = await kubelet?.execInPod('x', 'a', ['ip', '-4', 'addr', 'show', 'eth0']);
    assert.ok(inPod?.stdout.includes(`inet ${ips[0]}/24`), inPod?.stdout);
    assert.ok(kubelet?.podNetns('x', 'a')?.startsWith('pod-x-a-'));
    assert.deepEqual(kubelet?.locate('x', 'a'), { node: NODE, netns: kubelet?.podNetns('x', 'a') });
  });

  it('probes from one pod reach the others on TCP and UDP with the right ns/name', async () => {
    const ip = (n: string): string => statusOf(store, 'x', n).podIP ?? '';
    const probes = ['b', 'c'].flatMap((n) =>
      [80, 81].flatMap((port) =>
        (['TCP', 'UDP'] as const).map((protocol) => ({ id: `${n}-${port}-${protocol}`, protocol, ip: ip(n), port })),
      ),
    );
    probes.push({ id: 'closed', protocol: 'TCP', ip: ip('b'), port: 82 });
    const res = await kubelet?.probeFrom('x/a', probes);
    assert.ok(res);
    for (const r of res) {
      if (r.id === 'closed') {
        assert.equal(r.status, 'refused');
        continue;
      }
      assert.equal(r.status, 'ok', `${r.id}: ${r.status} ${r.body}`);
      assert.equal(r.body, `x/${r.id[0]} client=${ip('a')}:${r.body.split(':').pop()}`);
      assert.match(r.body, new RegExp(`^x/${r.id[0]} client=${ip('a').replace(/\./g, '\\.')}:\\d+$`));
    }
    // From the node too.
    const fromNode = await kubelet?.probeFrom(NODE, [{ protocol: 'TCP', ip: ip('c'), port: 80 }]);
    assert.equal(fromNode?.[0].status, 'ok');
    assert.match(fromNode?.[0].body ?? '', /^x\/c client=10\.244\.77\.1:\d+$/);
  });

  it('hostNetwork pods answer on the node IP, and a held connection exchanges lines', async () => {
    store.create('Pod', pod('x', 'h', { hostNetwork: true, ports: [8080] }));
    await waitFor('x/h Running', () => statusOf(store, 'x', 'h').phase === 'Running');
    assert.equal(statusOf(store, 'x', 'h').podIP, NODE_IP);
    assert.equal(kubelet?.podNetns('x', 'h'), undefined);
    const res = await kubelet?.probeFrom('x/a', [{ protocol: 'UDP', ip: NODE_IP, port: 8080 }]);
    assert.equal(res?.[0].status, 'ok');
    assert.match(res?.[0].body ?? '', /^x\/h client=10\.244\.77\.\d+:\d+$/);

    const h = await kubelet?.hold('x/a', statusOf(store, 'x', 'b').podIP ?? '', 80);
    assert.equal(h?.connected, true);
    await new Promise((r) => setTimeout(r, 400));
    const s = await h?.release();
    assert.equal(s?.error, undefined);
    assert.ok((s?.maxGapMs ?? 9999) < 1000);
  });

  it('a restarted kubelet adopts the pods instead of creating them again', async () => {
    const before = Object.fromEntries(['a', 'b', 'c', 'h'].map((n) => [n, statusOf(store, 'x', n).podIP]));
    const netnsBefore = kubelet?.podNetns('x', 'a');
    await kubelet?.stop();
    kubelet = await startKubelet(opts);
    await kubelet.idle();
    assert.equal(kubelet.podNetns('x', 'a'), netnsBefore);
    for (const n of ['a', 'b', 'c', 'h']) assert.equal(statusOf(store, 'x', n).podIP, before[n]);
    // Other test files run pods named x/a concurrently: count this node's sandbox only.
    const ours = podNetnsName(NODE, 'x', 'a');
    const names = (await netnsList()).split('\n').filter((l) => l.split(' ')[0] === ours);
    assert.equal(names.length, 1, names.join(','));
    const res = await kubelet.probeFrom('x/b', [{ protocol: 'TCP', ip: before.a ?? '', port: 80 }]);
    assert.equal(res[0].status, 'ok');
  });

  it('restarts a responder that died (restartCount 1), in the same netns with the same IP', async () => {
    const recFile = join(opts.stateDir ?? '', 'x_b.json');
    const pid = (JSON.parse(readFileSync(recFile, 'utf8')) as { responderPid: number }).responderPid;
    const ip = statusOf(store, 'x', 'b').podIP ?? '';
    process.kill(pid, 'SIGKILL');
    await waitFor('x/b restarted', () => {
      const cs = (store.get('Pod', 'x', 'b')?.status as { containerStatuses?: { restartCount: number }[] }).containerStatuses;
      return cs?.[0]?.restartCount === 1;
    });
    assert.equal(statusOf(store, 'x', 'b').podIP, ip);
    const res = await kubelet?.probeFrom('x/a', [{ protocol: 'TCP', ip, port: 80 }]);
    assert.equal(res?.[0].status, 'ok');
  });

  it('deleting a pod runs CNI DEL (IP released), removes its netns, then the object', async () => {
    const ip = statusOf(store, 'x', 'c').podIP ?? '';
    const netns = kubelet?.podNetns('x', 'c') ?? '';
    const ipFile = join(opts.cniIpamDataDir ?? '', 'mynet', ip);
    assert.ok(existsSync(ipFile), `${ipFile} allocated`);
    store.delete('Pod', 'x', 'c');
    await waitFor('x/c removed', () => !store.get('Pod', 'x', 'c'));
    assert.ok(!existsSync(ipFile), 'host-local released the IP');
    assert.ok(!(await netnsList()).includes(netns), 'netns gone');
    assert.equal(kubelet?.podNetns('x', 'c'), undefined);
    // The others are untouched.
    const res = await kubelet?.probeFrom('x/a', [{ protocol: 'TCP', ip: statusOf(store, 'x', 'b').podIP ?? '', port: 81 }]);
    assert.equal(res?.[0].status, 'ok');
  });

  it('stop({teardownPods}) leaves nothing on the node', async () => {
    const netns = ['a', 'b'].map((n) => kubelet?.podNetns('x', n) ?? '');
    await kubelet?.stop({ teardownPods: true });
    kubelet = undefined;
    const list = await netnsList();
    for (const n of netns) assert.ok(!list.includes(n), `${n} deleted`);
    assert.deepEqual(readdirSafe(join(opts.cniIpamDataDir ?? '', 'mynet')).filter((f) => /^\d/.test(f)), []);
    assert.deepEqual(readdirSafe(opts.stateDir ?? ''), []);
  });
});

describe('lab kubelet on a node without CNI config or podCIDR yet', { skip }, () => {
  const node = `krt-kl2-${process.pid}`;
  let store: ObjectStore;
  let closeStore: () => Promise<void>;
  let tmp: string;
  let kubelet: Kubelet | undefined;

  before(async () => {
    ({ store, close: closeStore } = await makeStore());
    tmp = await mkdtemp(join(tmpdir(), 'krt-kubelet2-'));
    assert.equal((await execLocal(['ip', 'netns', 'add', node])).code, 0);
    try {
      store.create('Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    } catch {
      // already there
    }
    store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: node }, spec: {} });
    kubelet = await startKubelet({
      store,
      nodeName: node,
      nodeIP: '192.168.232.1',
      nodeCommandPrefix: ['ip', 'netns', 'exec', node],
      cniConfDir: join(tmp, 'net.d'),
      cniIpamDataDir: join(tmp, 'networks'),
      stateDir: join(tmp, 'state'),
    });
  });

  after(async () => {
    await kubelet?.stop({ teardownPods: true });
    await execLocal(['ip', 'netns', 'del', podNetnsName(node, 'x', 'p')]);
    await execLocal(['ip', 'netns', 'del', node]);
    await closeStore();
    await rm(tmp, { recursive: true, force: true });
  });

  it('reports the pod Pending with the reason, then runs it once the node has a podCIDR', async () => {
    store.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'x' },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] },
    });
    const msg = await waitFor('Pending with a message', () => {
      const s = store.get('Pod', 'x', 'p')?.status as { phase?: string; conditions?: { type: string; status: string; message?: string }[] } | undefined;
      return s?.phase === 'Pending' ? s.conditions?.find((c) => c.type === 'Ready')?.message : undefined;
    });
    assert.match(msg, /pod x\/p: node krt-kl2-\d+ has no CNI config in .* and no podCIDR yet/);
    const n = store.get('Node', undefined, node);
    assert.ok(n);
    store.update('Node', { ...n, spec: { podCIDR: '10.244.78.0/24', podCIDRs: ['10.244.78.0/24'] } });
    await waitFor('Running', () => statusOf(store, 'x', 'p').phase === 'Running');
    assert.ok(ipInCidr(statusOf(store, 'x', 'p').podIP ?? '', '10.244.78.0/24'));
  });
});
