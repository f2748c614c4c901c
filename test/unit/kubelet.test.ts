// Lab kubelet pieces without a kernel: CNI config handling, probe I/O
// formats, names, status, the scheduler and the in-memory store stand-in.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fillTemplate, pluginConfig, resultIPs, toConfList, type CniRuntime } from '../../src/lab/cluster/kubelet/cni.js';
import { formatProbeInput, parseProbeOutput } from '../../src/lab/cluster/kubelet/probe.js';
import { podContainerID, podNetnsName } from '../../src/lab/cluster/kubelet/naming.js';
import { responderPorts } from '../../src/lab/cluster/kubelet/responder.js';
import { runningStatus, statusIsRunning } from '../../src/lab/cluster/kubelet/status.js';
import { schedulePod } from '../../src/lab/cluster/kubelet/scheduler.js';
import { MemoryObjectStore } from '../../src/lab/cluster/kubelet/memory-store.js';
import { execInNodeRunner, execLocal, prefixRunner } from '../../src/lab/cluster/kubelet/runner.js';
import { defaultCniTemplatePath } from '../../src/lab/cluster/kubelet/node-cni.js';
import { ensureNativeTools } from '../../src/lab/native/build.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodRecord } from '../../src/lab/cluster/kubelet/state.js';
import type { StoredObject } from '../../src/lab/apiserver/types.js';

const rt: CniRuntime = {
  containerID: 'abc',
  netnsPath: '/run/netns/p',
  ifName: 'eth0',
  binDir: '/usr/lib/cni',
  pod: { namespace: 'x', name: 'a' },
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
};

describe('kubelet CNI config', () => {
  const template = JSON.parse(readFileSync(defaultCniTemplatePath(), 'utf8')) as Record<string, unknown>;

  it('ships kube-router\'s conflist: bridge kube-bridge + host-local, portmap with capabilities', () => {
    const list = toConfList('10-kuberouter.conflist', template);
    assert.equal(list.cniVersion, '0.3.0');
    assert.equal(list.name, 'mynet');
    assert.deepEqual(
      list.plugins.map((p) => p.type),
      ['bridge', 'portmap'],
    );
    assert.equal(list.plugins[0].bridge, 'kube-bridge');
    assert.equal(list.plugins[0].isDefaultGateway, true);
    assert.equal(list.plugins[0].hairpinMode, true);
    assert.deepEqual(list.plugins[1].capabilities, { snat: true, portMappings: true });
    const legacy = toConfList('10-kuberouter.conf', JSON.parse(readFileSync(defaultCniTemplatePath().replace(/list$/, ''), 'utf8')));
    assert.equal(legacy.plugins.length, 1);
    assert.equal(legacy.plugins[0].type, 'bridge');
    assert.equal(legacy.name, 'mynet');
  });

  it('fills the bridge plugin\'s host-local ranges with the podCIDRs (one range set each), leaving the template alone', () => {
    const filled = fillTemplate(template, ['10.244.1.0/24', 'fd00:1::/64'], '/tmp/ipam');
    const list = toConfList('f', filled);
    assert.deepEqual(list.plugins[0].ipam, {
      type: 'host-local',
      ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:1::/64' }]],
      dataDir: '/tmp/ipam',
    });
    assert.equal(toConfList('t', template).plugins[0].ipam?.ranges, undefined);
    const single = fillTemplate({ cniVersion: '0.3.0', name: 'n', type: 'bridge', ipam: { type: 'host-local', subnet: '1.2.3.0/24' } }, ['10.0.0.0/24']);
    assert.deepEqual(single.ipam, { type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24' }]] });
    assert.throws(() => fillTemplate({ plugins: [{ type: 'ptp' }] }, ['10.0.0.0/24']), /no bridge plugin/);
  });

  it('builds each plugin\'s config as libcni does: list name and version, prevResult, runtimeConfig for declared capabilities', () => {
    const list = toConfList('f', fillTemplate(template, ['10.244.1.0/24']));
    const bridge = pluginConfig(list, list.plugins[0], rt);
    assert.equal(bridge.name, 'mynet');
    assert.equal(bridge.cniVersion, '0.3.0');
    assert.equal(bridge.prevResult, undefined);
    assert.equal(bridge.runtimeConfig, undefined, 'bridge declares no capabilities');
    const prev = { cniVersion: '0.3.0', ips: [{ version: '4', address: '10.244.1.2/24' }] };
    const portmap = pluginConfig(list, list.plugins[1], rt, prev);
    assert.deepEqual(portmap.prevResult, prev);
    assert.deepEqual(portmap.runtimeConfig, { portMappings: rt.capabilityArgs?.portMappings });
    assert.equal(portmap.name, 'mynet');
  });

  it('reads container IPs from any result version, skipping host-side interfaces, IPv4 first', () => {
    assert.deepEqual(
      resultIPs({
        interfaces: [{ name: 'kube-bridge' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/p' }],
        ips: [
          { version: '6', address: 'fd00::5/64', interface: 2 },
          { version: '4', address: '10.244.1.5/24', interface: 2, gateway: '10.244.1.1' },
          { version: '4', address: '10.244.1.1/24', interface: 0 },
        ],
      }),
      ['10.244.1.5', 'fd00::5'],
    );
    assert.deepEqual(resultIPs({ ip4: { ip: '10.1.0.3/16' } }), ['10.1.0.3']);
    assert.deepEqual(resultIPs(undefined), []);
  });
});

describe('kubelet probe formats', () => {
  it('writes one prober line per probe, default id = index, default timeout 1 s', () => {
    assert.equal(
      formatProbeInput([
        { protocol: 'TCP', ip: '10.0.0.1', port: 80 },
        { id: 'u', protocol: 'UDP', ip: 'fd00::1', port: 53, timeoutMs: 300 },
      ]),
      '0 tcp 10.0.0.1 80 1000\nu udp fd00::1 53 300\n',
    );
    assert.throws(() => formatProbeInput([{ id: 'a b', protocol: 'TCP', ip: '1.1.1.1', port: 1 }]), /without spaces/);
  });

  it('parses results with bodies containing spaces, "-" as empty, and skips junk', () => {
    const out = parseProbeOutput(
      'a ok x/b client=10.0.0.2:4321 3\nb refused - 0\nc error No route to host 1\nnoise\nd timeout - 1000\n',
    );
    assert.deepEqual(out, [
      { id: 'a', status: 'ok', body: 'x/b client=10.0.0.2:4321', latencyMs: 3 },
      { id: 'b', status: 'refused', body: '', latencyMs: 0 },
      { id: 'c', status: 'error', body: 'No route to host', latencyMs: 1 },
      { id: 'd', status: 'timeout', body: '', latencyMs: 1000 },
    ]);
  });
});

describe('kubelet names, ports and status', () => {
  it('netns names are readable, valid, bounded and unique per node', () => {
    const n = podNetnsName('node1', 'x', 'a');
    assert.match(n, /^pod-x-a-[0-9a-f]{8}$/);
    assert.notEqual(n, podNetnsName('node2', 'x', 'a'));
    const long = podNetnsName('node1', 'some-namespace-name', 'Very_Long.Pod-Name-'.repeat(8));
    assert.ok(long.length <= 49, long);
    assert.match(long, /^[a-z0-9.-]+$/);
    assert.notEqual(podContainerID('n', 'x', 'a', 'u1'), podContainerID('n', 'x', 'a', 'u2'));
  });

  it('responder ports: TCP default, UDP kept, SCTP skipped, duplicates merged', () => {
    assert.deepEqual(
      responderPorts([
        { containerPort: 80 },
        { containerPort: 80, protocol: 'TCP' },
        { containerPort: 53, protocol: 'UDP' },
        { containerPort: 9, protocol: 'SCTP' },
      ]),
      ['tcp:80', 'udp:53'],
    );
  });

  it('running status carries IPs, hostIP, Ready and is recognised as current', () => {
    const pod: StoredObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x', uid: 'u' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const rec: PodRecord = { namespace: 'x', name: 'a', uid: 'u', hostNetwork: false, ips: ['10.244.1.2'], ports: [], startTime: 't', restartCount: 0, complete: true };
    assert.equal(statusIsRunning(pod, rec, '192.168.56.11'), false);
    const status = runningStatus(pod, rec, '192.168.56.11');
    assert.equal(status.podIP, '10.244.1.2');
    assert.deepEqual(status.podIPs, [{ ip: '10.244.1.2' }]);
    assert.equal(statusIsRunning({ ...pod, status }, rec, '192.168.56.11'), true);
    assert.equal(statusIsRunning({ ...pod, status }, { ...rec, ips: ['10.244.1.3'] }, '192.168.56.11'), false);
  });
});

describe('lab scheduler', () => {
  const mkPod = (ns: string, name: string, nodeName?: string): StoredObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'i' }] },
  });

  it('spreads unbound pods round-robin over schedulable nodes in natural order', () => {
    const store = new MemoryObjectStore();
    for (const n of ['node10', 'node2', 'node1']) store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: n }, spec: {} });
    store.create('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node0' }, spec: { unschedulable: true } });
    for (const ns of ['x', 'y']) for (const p of ['a', 'b', 'c']) store.create('Pod', mkPod(ns, p));
    const bound = schedulePod(store);
    assert.deepEqual(
      bound.map((b) => `${b.namespace}/${b.name}@${b.nodeName}`),
      ['x/a@node1', 'x/b@node2', 'x/c@node10', 'y/a@node1', 'y/b@node2', 'y/c@node10'],
    );
    assert.equal((store.get('Pod', 'y', 'c')?.spec as { nodeName?: string }).nodeName, 'node10');
    assert.deepEqual(schedulePod(store), [], 'nothing left to bind');
  });

  it('counts pods already bound, and binds one given pod to the given nodes', () => {
    const store = new MemoryObjectStore();
    store.create('Pod', mkPod('x', 'pre', 'n1'));
    const p = store.create('Pod', mkPod('x', 'new'));
    assert.deepEqual(schedulePod(store, ['n1', 'n2'], p), [{ namespace: 'x', name: 'new', nodeName: 'n2' }]);
  });
});

describe('kubelet in-memory store stand-in', () => {
  it('marks bound pods terminating on delete and removes them with grace 0', () => {
    const store = new MemoryObjectStore();
    const events: string[] = [];
    store.watch('Pod', store.resourceVersion(), {}, (ev) => events.push(`${ev.type} ${ev.object.metadata.deletionTimestamp ? 'T' : '-'}`));
    store.create('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x' }, spec: { nodeName: 'n1', containers: [] } });
    store.patch('Pod', 'x', 'a', { status: { phase: 'Running' }, spec: { nodeName: 'ignored' } }, { subresource: 'status' });
    assert.equal((store.get('Pod', 'x', 'a')?.spec as { nodeName: string }).nodeName, 'n1');
    store.delete('Pod', 'x', 'a');
    assert.ok(store.get('Pod', 'x', 'a')?.metadata.deletionTimestamp);
    store.delete('Pod', 'x', 'a', { gracePeriodSeconds: 0 });
    assert.equal(store.get('Pod', 'x', 'a'), undefined);
    assert.deepEqual(events, ['ADDED -', 'MODIFIED -', 'MODIFIED T', 'DELETED T']);
  });
});

describe('kubelet runners', () => {
  it('passes stdin through an ExecInNode that has no stdin of its own', async () => {
    const seen: string[][] = [];
    const runner = execInNodeRunner((argv, env) => {
      seen.push(argv);
      return execLocal(argv, env ? { env } : {});
    }, prefixRunner([]));
    const r = await runner.exec(['sh', '-c', 'cat; echo " $KR_LAB_STDIN|$X"'], { input: 'hello "world" $HOME', env: { X: 'y' } });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'hello "world" $HOME |y\n');
    assert.equal(seen[0][0], 'sh');
  });
});

describe('kubelet native tool build', () => {
  it('says clearly that the C compiler is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'krt-native-'));
    try {
      await assert.rejects(ensureNativeTools({ buildDir: dir, cc: 'no-such-cc-krt' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'KR_ERR_LAB');
        assert.match(err.message, /C compiler "no-such-cc-krt" not found.*install gcc/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
