// The lab VM end to end: one boot of a real Debian kernel under qemu with 2
// nodes, then checks of the node namespaces, the underlay, IPVS, the control
// API (exec, exit codes, streaming) and kubectl through the forwarded port.
// Skipped unless root with qemu-system-x86_64 installed.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { bootLab, type LabVm } from '../../src/lab/vm/lab.js';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the lab VM test needs root';
  if (spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status !== 0) return 'qemu-system-x86_64 is not installed (scripts/setup installs it)';
  if (!existsSync(new URL('../../src/lab/guest/supervisor.js', import.meta.url))) return 'dist/src/lab/guest/supervisor.js is not built';
  if (process.env.SKIP_LAB) return 'SKIP_LAB is set';
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) process.stderr.write(`lab-vm.test: skipped: ${skip}\n`);

describe('lab VM (real kernel under qemu, 2 nodes)', { skip, timeout: 300_000 }, () => {
  let vm: LabVm;
  const progress: string[] = [];

  before(async () => {
    // No agents: this test is about the VM, the nodes and the plumbing (agents cost ~25 s of CPU each to start under TCG).
    vm = await bootLab({ id: `test-${process.pid}`, nodes: 2, startAgents: false, say: (l) => progress.push(l) });
    process.stderr.write(`lab-vm.test: ${progress.join(' | ')}\nlab-vm.test: timings ${JSON.stringify(vm.timings)}\n`);
  });

  after(async () => {
    await vm?.stop();
    if (vm !== undefined && !process.env.KUBE_ROUTER_LAB_KEEP) rmSync(vm.state.runDir, { recursive: true, force: true });
  });

  it('creates the node namespaces with their underlay addresses and own hostnames', async () => {
    const ns = await vm.client.exec('root', ['ip', 'netns', 'list']);
    assert.match(ns.stdout, /^node1\b/m);
    assert.match(ns.stdout, /^node2\b/m);
    for (const [node, ip] of [['node1', '192.168.56.11'], ['node2', '192.168.56.12']]) {
      const r = await vm.client.exec(node, ['sh', '-c', 'hostname; ip -4 -o addr show dev eth0; ip route show default; cat /proc/sys/net/ipv4/ip_forward']);
      assert.equal(r.code, 0, r.stderr);
      const [host, addr, route, fwd] = r.stdout.trim().split('\n');
      assert.equal(host, node);
      assert.match(addr, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
      assert.match(route, /default via 192\.168\.56\.1 dev eth0/);
      assert.equal(fwd, '1');
    }
  });

  it('gives each node its own /etc/cni/net.d, /var/lib/cni and /run, sharing /run/netns', async () => {
    const w = await vm.client.exec('node1', ['sh', '-c', 'echo x > /etc/cni/net.d/10-test.conf && touch /run/xtables.lock && ip netns add lab-test-pod']);
    assert.equal(w.code, 0, w.stderr);
    const r = await vm.client.exec('node2', ['sh', '-c', 'ls /etc/cni/net.d /var/lib/cni; ls /run; echo ---; ls /run/netns']);
    assert.equal(r.code, 0, r.stderr);
    const [own, netns] = r.stdout.split('---');
    assert.doesNotMatch(own, /10-test\.conf|xtables\.lock/);
    assert.match(netns, /lab-test-pod/, 'a netns added in node1 shows in node2');
    const root = await vm.client.exec('root', ['ip', 'netns', 'list']);
    assert.match(root.stdout, /lab-test-pod/);
    await vm.client.exec('root', ['ip', 'netns', 'del', 'lab-test-pod']);
  });

  it('lets node1 ping node2 over the underlay', async () => {
    const r = await vm.client.exec('node1', ['busybox', 'ping', '-c', '1', '-W', '3', '192.168.56.12']);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 packets received/);
  });

  it('has IPVS, dummy and ipip in the guest kernel', async () => {
    const r = await vm.client.exec('node1', ['sh', '-c', 'ipvsadm -Ln && ip link add kube-dummy-if type dummy && ip link add t0 type ipip remote 192.168.56.12 && ip -o link show type dummy']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /IP Virtual Server version/);
    assert.match(r.stdout, /kube-dummy-if/);
    const n2 = await vm.client.exec('node2', ['ip', 'link', 'show', 'kube-dummy-if']);
    assert.notEqual(n2.code, 0, 'node2 has its own network namespace');
  });

  it('relays exit codes, stdin and streamed output', async () => {
    const r = await vm.client.exec('node2', ['sh', '-c', 'cat; echo err >&2; exit 3'], { input: 'hello\n' });
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'hello\n', 'err\n']);
    const chunks: string[] = [];
    const code = await vm.client.execStream('node1', ['sh', '-c', 'echo one; sleep 0.2; echo two'], (ev) => {
      if (ev.type === 'stdout') chunks.push(ev.data);
    });
    assert.equal(code, 0);
    assert.equal(chunks.join(''), 'one\ntwo\n');
    await assert.rejects(vm.client.exec('node9', ['true']), /no node "node9"/);
  });

  it('serves the lab API server to the host kubectl through the forwarded port', async (t) => {
    const st = await vm.client.status();
    if (!existsSync(vm.kubeconfigPath)) {
      t.skip(`no kubeconfig: apiserver ${st.components.apiserver ?? '?'}`);
      return;
    }
    if (spawnSync('sh', ['-c', 'command -v kubectl']).status !== 0) {
      t.skip('kubectl is not installed on the host');
      return;
    }
    const kubectl = (...args: string[]): string => execFileSync('kubectl', ['--kubeconfig', vm.kubeconfigPath, '--request-timeout=20s', ...args], { encoding: 'utf8' });
    assert.match(kubectl('get', 'ns', '-o', 'name'), /namespace\/default/);
    const nodes = kubectl('get', 'nodes', '-o', 'name');
    assert.match(nodes, /node\/node1/);
    assert.match(nodes, /node\/node2/);
  });
});
