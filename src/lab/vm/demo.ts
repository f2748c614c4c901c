// `kube-router-lab demo` (minimal until the controllers exist): boots a
// 3-node lab, shows the nodes, IPVS and the routes on each node, says which
// parts are not there yet, tears down. The full demo (sample web pods and
// Services, gobgp neighbors, a NetworkPolicy taking effect) plugs in here.

import { spawnSync } from 'node:child_process';
import { bootLab } from './lab.js';

export async function runDemo(argv: string[], say: (l: string) => void): Promise<number> {
  const vm = await bootLab({ id: 'demo', nodes: 3, say, agentArgs: argv });
  let failed = 0;
  const check = (name: string, ok: boolean): void => {
    if (!ok) failed++;
    process.stdout.write(`${ok ? 'PASSED' : 'FAILED'}  ${name}\n`);
  };
  try {
    const st = await vm.client.status();
    process.stdout.write(`\n== cluster (ready in ${(vm.timings.bootToReadyMs / 1000).toFixed(1)} s)\n`);
    for (const [k, v] of Object.entries(st.components)) process.stdout.write(`  ${k}: ${v}\n`);
    const kubectl = spawnSync('kubectl', ['--kubeconfig', vm.kubeconfigPath, 'get', 'nodes', '-o', 'wide'], { encoding: 'utf8' });
    const nodes = `${kubectl.stdout ?? ''}${kubectl.stderr ?? ''}${kubectl.error ? `kubectl: ${kubectl.error.message}\n` : ''}`;
    process.stdout.write(`\n== kubectl --kubeconfig ${vm.kubeconfigPath} get nodes -o wide (on the host)\n${nodes}`);
    check('kubectl on the host lists the 3 nodes', (nodes.match(/^node\d/gm) ?? []).length === 3);
    for (const n of st.nodes) {
      const r = await vm.client.exec(n.name, ['sh', '-c', 'echo "# ipvsadm -Ln"; ipvsadm -Ln; echo "# ip route"; ip route; echo "# ip -br addr"; ip -br addr']);
      process.stdout.write(`\n== ${n.name} (${n.ip})\n${r.stdout}${r.stderr}`);
      check(`${n.name}: IPVS answers in the node`, r.code === 0 && r.stdout.includes('IP Virtual Server'));
    }
    const ping = await vm.client.exec('node1', ['busybox', 'ping', '-c', '1', '-W', '3', st.nodes[1].ip]);
    check('node1 reaches node2 over the underlay', ping.code === 0);
    process.stdout.write('\n== not there yet\n');
    for (const [k, v] of Object.entries(st.components)) if (v.startsWith('not built')) process.stdout.write(`  ${k}: ${v}\n`);
    process.stdout.write('  service proxy, routing (gobgp) and firewall controllers: not built yet; ClusterIP/NodePort, BGP and NetworkPolicy checks are skipped\n');
  } finally {
    await vm.stop();
  }
  process.stdout.write(`\n${failed === 0 ? 'demo: all checks passed' : `demo: ${failed} check(s) failed`}\n`);
  return failed === 0 ? 0 : 1;
}
