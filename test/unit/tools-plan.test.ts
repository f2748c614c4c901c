// `kube-router plan` from a manifests file, and the subcommand plumbing:
// dispatch from the agent's command line, tool flags split from agent flags,
// --help listing the commands, flag errors with exit status 2.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { splitToolArgs } from '../../src/cmd/tools/args.js';
import { cacheFromManifests } from '../../src/cmd/tools/snapshot.js';
import { planReport } from '../../src/cmd/tools/plan.js';
import type { ToolReport } from '../../src/cmd/tools/report.js';
import { runCli, type CliDeps } from '../../src/cmd/options/cli.js';
import { parseFlags } from '../../src/cmd/options/parse.js';

const MANIFESTS = `
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Node
    metadata: {name: node1}
    spec: {podCIDR: 10.244.0.0/24, podCIDRs: [10.244.0.0/24]}
    status: {addresses: [{type: InternalIP, address: 192.168.56.11}]}
  - apiVersion: v1
    kind: Node
    metadata: {name: node2}
    spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24]}
    status: {addresses: [{type: InternalIP, address: 192.168.56.12}]}
  - apiVersion: v1
    kind: Node
    metadata: {name: node3}
    spec: {podCIDR: 10.244.2.0/24, podCIDRs: [10.244.2.0/24]}
    status: {addresses: [{type: InternalIP, address: 192.168.57.13}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec: {nodeName: node1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.244.0.5, podIPs: [{ip: 10.244.0.5}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {pod: b}}
spec: {nodeName: node2, containers: [{name: c}]}
status: {phase: Running, podIP: 10.244.1.6, podIPs: [{ip: 10.244.1.6}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: x}
spec:
  type: NodePort
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20]
  selector: {pod: a}
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: x, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.0.5], conditions: {ready: true}, nodeName: node1}]
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: http}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ignored, namespace: x}
`;

function plan(node: string, argv: string[] = []): ToolReport {
  const { cache, skipped } = cacheFromManifests(MANIFESTS, 'test.yaml');
  assert.deepEqual(skipped, ['Deployment ignored']);
  const split = splitToolArgs('plan', argv);
  return planReport(cache, parseFlags(['--run-firewall=true', ...split.agentArgv]).options, node, split.tool);
}

function section(r: ToolReport, controller: string, name: string): string[] {
  const s = r.controllers.find((c) => c.controller === controller)?.sections.find((x) => x.name === name);
  assert.ok(s, `${controller} ${name}`);
  return s.desired;
}

describe('kube-router plan', () => {
  it('node1: the IPVS services (ClusterIP and NodePort on the node IP), VIP, sets, routes and firewall chains', () => {
    const r = plan('node1');
    assert.deepEqual(r.controllers.map((c) => c.controller), ['routing', 'proxy', 'firewall']);
    assert.deepEqual(section(r, 'proxy', 'ipvs'), [
      'TCP 10.96.0.20:80 rr',
      'TCP 10.96.0.20:80 -> 10.244.0.5:8080 masq w=1',
      'TCP 192.168.56.11:30080 rr',
      'TCP 192.168.56.11:30080 -> 10.244.0.5:8080 masq w=1',
    ]);
    assert.deepEqual(section(r, 'proxy', 'addresses'), ['kube-dummy-if 10.96.0.20/32']);
    assert.deepEqual(section(r, 'proxy', 'local-ips'), ['kube-router-local-ips hash:ip inet: 192.168.56.11']);
    // node2 shares node1's assumed /24: a direct route; node3 does not: through an ipip tunnel (overlay on).
    const routes = section(r, 'routing', 'routes');
    assert.ok(routes.includes('main 10.244.1.0/24 via 192.168.56.12'), routes.join('\n'));
    assert.ok(routes.some((l) => /^main 10\.244\.2\.0\/24 dev tun-[0-9a-f]{11} src 192\.168\.56\.11$/.test(l)), routes.join('\n'));
    assert.equal(section(r, 'routing', 'tunnels').length, 1);
    assert.ok(section(r, 'routing', 'bgp').includes('peer 192.168.57.13 as 64512'));
    const fw = section(r, 'firewall', 'iptables');
    assert.ok(fw.some((l) => /^ipv4 filter KUBE-ROUTER-FORWARD 1: -d 10\.244\.0\.5 -j KUBE-POD-FW-/.test(l)), fw.join('\n'));
    assert.ok(section(r, 'firewall', 'ipsets').some((l) => / hash:ip,port inet: 10\.244\.0\.5,tcp:8080$/.test(l)));
  });

  it('node2: no chain for its pod (no policy selects it), its own NodePort address; --connected-subnets decides direct vs tunnel', () => {
    const r = plan('node2', ['--connected-subnets', '192.168.0.0/16', '--run-service-proxy=true']);
    assert.ok(!section(r, 'firewall', 'iptables').some((l) => l.includes('KUBE-POD-FW-')));
    assert.ok(section(r, 'proxy', 'ipvs').includes('TCP 192.168.56.12:30080 rr'));
    assert.deepEqual(section(r, 'routing', 'tunnels'), []);
    assert.ok(section(r, 'routing', 'routes').includes('main 10.244.2.0/24 via 192.168.57.13'));
    assert.match(r.controllers.find((c) => c.controller === 'routing')?.notes.join('\n') ?? '', /connected subnets given: 192\.168\.0\.0\/16/);
  });

  it('dual-stack (--enable-ipv6): IPv6 services, /128 VIPs, inet6 sets and ip6tables lines (prefixed ipv6), IPv6 pod CIDRs learned over the IPv4 sessions', () => {
    const dual = MANIFESTS.replace(
      /spec: \{podCIDR: 10\.244\.(\d)\.0\/24, podCIDRs: \[10\.244\.\d\.0\/24\]\}\n    status: \{addresses: \[\{type: InternalIP, address: 192\.168\.(\d+)\.(\d+)\}\]\}/g,
      (_m, n: string, sub: string, host: string) =>
        `spec: {podCIDR: 10.244.${n}.0/24, podCIDRs: [10.244.${n}.0/24, "fd00:10:244:${n}::/64"]}\n    status: {addresses: [{type: InternalIP, address: 192.168.${sub}.${host}}, {type: InternalIP, address: "fd00:${sub}::${host}"}]}`,
    )
      .replace('status: {phase: Running, podIP: 10.244.0.5, podIPs: [{ip: 10.244.0.5}]}', 'status: {phase: Running, podIP: 10.244.0.5, podIPs: [{ip: 10.244.0.5}, {ip: "fd00:10:244:0::5"}]}')
      .replace('  clusterIPs: [10.96.0.20]', '  clusterIPs: [10.96.0.20, "fd00:10:96::20"]\n  ipFamilies: [IPv4, IPv6]\n  ipFamilyPolicy: PreferDualStack')
      .replace(
        '---\napiVersion: networking.k8s.io/v1',
        '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-6, namespace: x, labels: {kubernetes.io/service-name: web}}\naddressType: IPv6\nendpoints: [{addresses: ["fd00:10:244::5"], conditions: {ready: true}, nodeName: node1}]\nports: [{name: http, port: 8080, protocol: TCP}]\n---\napiVersion: networking.k8s.io/v1',
      );
    const { cache } = cacheFromManifests(dual, 'dual.yaml');
    const split = splitToolArgs('plan', ['--connected-subnets', '192.168.0.0/16,fd00::/8']);
    const flags = ['--run-firewall=true', '--enable-ipv6=true', '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112', ...split.agentArgv];
    const r = planReport(cache, parseFlags(flags).options, 'node1', split.tool);
    const ipvs = section(r, 'proxy', 'ipvs');
    assert.ok(ipvs.includes('TCP [fd00:10:96::20]:80 -> [fd00:10:244::5]:8080 masq w=1'), ipvs.join('\n'));
    assert.ok(ipvs.includes('TCP [fd00:56::11]:30080 rr'), ipvs.join('\n'));
    assert.deepEqual(section(r, 'proxy', 'addresses'), ['kube-dummy-if 10.96.0.20/32', 'kube-dummy-if fd00:10:96::20/128']);
    const rules = section(r, 'proxy', 'iptables');
    assert.ok(rules.some((l) => l.startsWith('ipv6 filter KUBE-ROUTER-SERVICES ')), rules.join('\n'));
    assert.ok(rules.some((l) => l.startsWith('filter KUBE-ROUTER-SERVICES ')), rules.join('\n'));
    assert.ok(section(r, 'proxy', 'ipsets').some((l) => l.startsWith('inet6:kube-router-svip ') && l.includes('fd00:10:96::20')));
    const routes = section(r, 'routing', 'routes');
    assert.ok(routes.includes('main fd00:10:244:1::/64 via fd00:56::12'), routes.join('\n'));
    assert.ok(routes.includes('main fd00:10:244:2::/64 via fd00:57::13'), routes.join('\n'));
  });

  it('the --run-* flags choose the controllers; an unknown node is said so', () => {
    const r = plan('node9', ['--run-router=false', '--run-service-proxy=false']);
    assert.deepEqual(r.controllers.map((c) => c.controller), ['firewall']);
    assert.match(r.controllers[0].notes[0], /node node9 is not in the Node list/);
  });
});

function deps(): { deps: CliDeps; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d: Buffer) => (o += d.toString()));
  stderr.on('data', (d: Buffer) => (e += d.toString()));
  return {
    deps: { stdout, stderr, env: {}, hostname: 'host', runAgent: async () => 99 },
    out: () => o,
    err: () => e,
  };
}

describe('subcommand plumbing', () => {
  it('tool flags are split from agent flags', () => {
    const s = splitToolArgs('explain', ['--from', 'x/a', '--to=x/b', '--port', '80', '--protocol', 'udp', '-o', 'json', '--kubeconfig', 'k', '-v', '3']);
    assert.deepEqual(s.tool, { output: 'json', protocol: 'UDP', from: 'x/a', to: 'x/b', port: 80 });
    assert.deepEqual(s.agentArgv, ['--kubeconfig', 'k', '-v', '3']);
    assert.throws(() => splitToolArgs('dump', ['-f', 'x.yaml']), /a flag of plan\/explain/);
    assert.throws(() => splitToolArgs('explain', ['--port', '0']), /1-65535/);
  });

  it('kube-router plan -f FILE -o json runs the tool, not the agent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krt-tools-'));
    const file = join(dir, 'm.yaml');
    writeFileSync(file, MANIFESTS);
    const d = deps();
    const code = await runCli(['plan', '-f', file, '-o', 'json', '--hostname-override', 'node1', '--run-router=false'], d.deps);
    assert.equal(code, 0, d.err());
    const r = JSON.parse(d.out()) as ToolReport;
    assert.equal(r.tool, 'plan');
    assert.equal(r.node, 'node1');
    assert.deepEqual(r.controllers.map((c) => c.controller), ['proxy', 'firewall']);
  });

  it('explain prints the verdict naming the policy and rule', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krt-tools-'));
    const file = join(dir, 'm.yaml');
    writeFileSync(file, MANIFESTS);
    const d = deps();
    assert.equal(await runCli(['explain', '-f', file, '--from', 'x/b', '--to', 'x/a', '--port', '8080'], d.deps), 0, d.err());
    assert.match(d.out(), /^verdict: allow$/m);
    assert.match(d.out(), /allowed by x\/a-from-b ingress\[0\]/);
    const d2 = deps();
    assert.equal(await runCli(['explain', '-f', file, '--from', '10.244.1.6', '--to', 'x/a', '--port', '80'], d2.deps), 0, d2.err());
    assert.match(d2.out(), /^x\/b -> x\/a TCP\/80\nverdict: deny$/m);
  });

  it('--help lists the commands after every flag; bad input exits 2 naming the flag', async () => {
    const d = deps();
    assert.equal(await runCli(['--help'], d.deps), 0);
    assert.match(d.out(), /\nCommands .*\n  kube-router dump .*\n[\s\S]*  kube-router plan [\s\S]*  kube-router explain --from NS\/POD --to NS\/POD --port N/);
    assert.ok(d.out().indexOf('Commands') > d.out().indexOf('--kubeconfig'), 'commands come after the flags');
    const h = deps();
    assert.equal(await runCli(['dump', '--help'], h.deps), 0);
    assert.match(h.out(), /kube-router dump/);
    const e = deps();
    assert.equal(await runCli(['explain', '--from', 'x/a', '--nope'], e.deps), 2);
    assert.match(e.err(), /kube-router explain: unknown flag: --nope/);
    const m = deps();
    assert.equal(await runCli(['explain', '-f', '/nonexistent.yaml', '--from', 'x/a', '--to', 'x/b', '--port', '1'], m.deps), 1);
    assert.match(m.err(), /cannot read \/nonexistent\.yaml/);
  });
});
