// Builds and tears down the node topology inside the guest, and says how to
// run a command on a node or in a pod (argvFor). Each node is a network
// namespace (/run/netns/nodeN) plus its own mount namespace (own tmpfs on
// /etc/cni/net.d, /var/lib/cni, /run and a sysfs of its own netns, with
// /run/netns still shared with the guest root so pod namespaces show up in
// every node) and its own UTS namespace (hostname nodeN), pinned under
// /run/lab/ns/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError, run } from '../vm/proc.js';
import { BUSYBOX, nodeSetupArgv } from './setup-script.js';
import {
  nodeName,
  UNDERLAY,
  type ExecTarget,
  type LabNode,
  type LabPeer,
  type LabRouter,
  type PodResolver,
  type TopologyOptions,
} from './types.js';

async function ipBatch(netns: string | undefined, lines: string[], what: string): Promise<void> {
  const argv = netns === undefined ? ['ip', '-batch', '-'] : ['ip', '-n', netns, '-batch', '-'];
  await run(argv, { phase: `topology (${what})`, input: `${lines.join('\n')}\n` });
}

/** SIGKILLs every process in a network namespace. */
async function killNetnsProcesses(name: string): Promise<void> {
  const pids = await run(['ip', 'netns', 'pids', name], { allowFail: true });
  for (const p of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export class Topology {
  readonly nodes: LabNode[] = [];
  readonly router: LabRouter | undefined;
  private peerNs: LabPeer | undefined;
  private podResolver: PodResolver | undefined;

  private constructor(readonly options: Required<TopologyOptions>) {
    const { nodes, secondSubnet, dualStack } = options;
    for (let i = 1; i <= nodes; i++) {
      const second = secondSubnet && i === nodes;
      const name = nodeName(i);
      this.nodes.push({
        name,
        index: i,
        ip: `${second ? UNDERLAY.second.prefix : UNDERLAY.prefix}.${10 + i}`,
        subnet: second ? UNDERLAY.second.subnet : UNDERLAY.subnet,
        gateway: second ? UNDERLAY.second.routerIp2 : UNDERLAY.bridgeIp,
        ...(dualStack ? { ip6: `${UNDERLAY.v6.prefix}${10 + i}` } : {}),
        netnsPath: `/run/netns/${name}`,
        mntPin: join(UNDERLAY.pinDir, `${name}.mnt`),
        utsPin: join(UNDERLAY.pinDir, `${name}.uts`),
      });
    }
    if (secondSubnet) {
      this.router = { name: 'router', ips: [UNDERLAY.second.routerIp1, UNDERLAY.second.routerIp2], netnsPath: '/run/netns/router' };
    }
  }

  /** Creates the bridges, the router (if any) and every node. */
  static async create(opts: TopologyOptions): Promise<Topology> {
    if (opts.nodes < 1 || opts.nodes > 40) throw new LabError('topology', `nodes must be 1..40, got ${opts.nodes}`);
    if (opts.secondSubnet && opts.nodes < 2) throw new LabError('topology', 'secondSubnet needs at least 2 nodes');
    if (opts.secondSubnet && opts.dualStack) throw new LabError('topology', 'dualStack is not available with secondSubnet');
    const t = new Topology({ nodes: opts.nodes, secondSubnet: opts.secondSubnet ?? false, dualStack: opts.dualStack ?? false });
    await t.build();
    return t;
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new LabError('exec', `no node "${name}" (nodes: ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /** The external BGP peer namespace, while one is up (addPeer). */
  get peer(): LabPeer | undefined {
    return this.peerNs;
  }

  /**
   * Adds the `peer` namespace on the underlay (eth0 192.168.56.254/24, default
   * route via the bridge), for an external BGP router. Idempotent; not with a
   * second subnet, whose router holds that address.
   */
  async addPeer(): Promise<LabPeer> {
    if (this.peerNs !== undefined) return this.peerNs;
    if (this.router !== undefined) {
      throw new LabError('topology', `an external peer cannot join a topology with a second subnet: the router holds ${UNDERLAY.peer.ip}`, { field: 'cluster.externalPeer' });
    }
    const { name, ip, asn } = UNDERLAY.peer;
    const netnsPath = `/run/netns/${name}`;
    // Left over from a supervisor that died: start clean.
    await run(['ip', 'netns', 'del', name], { allowFail: true });
    await run(['ip', 'link', 'del', `veth-${name}`], { allowFail: true });
    await ipBatch(undefined, [`netns add ${name}`, `link add veth-${name} type veth peer name eth0 netns ${name}`, `link set veth-${name} master ${UNDERLAY.bridge} up`], 'peer link');
    await ipBatch(name, ['link set lo up', `addr add ${ip}/24 dev eth0`, 'link set eth0 up', `route add default via ${UNDERLAY.bridgeIp}`], 'peer');
    this.peerNs = { name, ip, asn, netnsPath };
    return this.peerNs;
  }

  /** Kills what runs in the peer namespace and removes it (nothing when there is none). */
  async removePeer(): Promise<void> {
    const name = UNDERLAY.peer.name;
    await killNetnsProcesses(name);
    await run(['ip', '-force', '-batch', '-'], { input: `netns del ${name}\nlink del veth-${name}\n`, allowFail: true });
    this.peerNs = undefined;
  }

  /** The kubelet registers where pods live. */
  setPodResolver(resolver: PodResolver): void {
    this.podResolver = resolver;
  }

  /** The argv that runs `argv` at `target` (nsenter / ip netns exec around it). */
  argvFor(target: ExecTarget, argv: readonly string[]): string[] {
    if (argv.length === 0) throw new LabError('exec', 'empty command');
    switch (target.kind) {
      case 'root':
        return [...argv];
      case 'node': {
        if (this.router !== undefined && target.name === this.router.name) {
          return ['nsenter', `--net=${this.router.netnsPath}`, '--', ...argv];
        }
        if (this.peerNs !== undefined && target.name === this.peerNs.name) {
          return ['nsenter', `--net=${this.peerNs.netnsPath}`, '--', ...argv];
        }
        const n = this.node(target.name);
        return ['nsenter', `--net=${n.netnsPath}`, `--mount=${n.mntPin}`, `--uts=${n.utsPin}`, '--', ...argv];
      }
      case 'pod': {
        const loc = this.podResolver?.(target.namespace, target.name);
        if (loc === undefined) {
          throw new LabError('exec', `no pod ${target.namespace}/${target.name} known to the kubelet${this.podResolver ? '' : ' (no kubelet registered)'}`);
        }
        if (loc.hostNetwork) return this.argvFor({ kind: 'node', name: loc.node }, argv);
        const n = this.node(loc.node);
        // The pod's network namespace, seen with its node's mounts (its /run, CNI state).
        return ['nsenter', `--net=/run/netns/${loc.netns}`, `--mount=${n.mntPin}`, `--uts=${n.utsPin}`, '--', ...argv];
      }
    }
  }

  private async build(): Promise<void> {
    mkdirSync(UNDERLAY.pinDir, { recursive: true });
    // Pins of mount namespaces must sit on a mount that is not shared.
    await run(['sh', '-c', `mountpoint -q ${UNDERLAY.pinDir} || { mount --bind ${UNDERLAY.pinDir} ${UNDERLAY.pinDir} && mount --make-private ${UNDERLAY.pinDir}; }`], {
      phase: 'topology (pin directory)',
    });
    mkdirSync('/etc/cni/net.d', { recursive: true });
    mkdirSync('/var/lib/cni', { recursive: true });

    const root: string[] = [];
    for (const n of this.nodes) root.push(`netns add ${n.name}`);
    if (this.router) root.push(`netns add ${this.router.name}`);
    root.push(`link add ${UNDERLAY.bridge} type bridge`, `addr add ${UNDERLAY.bridgeIp}/24 dev ${UNDERLAY.bridge}`, `link set ${UNDERLAY.bridge} up`);
    if (this.options.dualStack) root.push(`addr add ${UNDERLAY.v6.bridgeIp}/64 dev ${UNDERLAY.bridge} nodad`);
    if (this.router) {
      const s = UNDERLAY.second;
      root.push(`link add ${s.bridge} type bridge`, `link set ${s.bridge} up`);
      root.push(`link add veth-router0 type veth peer name eth0 netns ${this.router.name}`, `link set veth-router0 master ${UNDERLAY.bridge} up`);
      root.push(`link add veth-router1 type veth peer name eth1 netns ${this.router.name}`, `link set veth-router1 master ${s.bridge} up`);
      root.push(`route add ${s.subnet} via ${s.routerIp1}`);
    }
    for (const n of this.nodes) {
      const br = n.subnet === UNDERLAY.subnet ? UNDERLAY.bridge : UNDERLAY.second.bridge;
      root.push(`link add veth-${n.name} type veth peer name eth0 netns ${n.name}`, `link set veth-${n.name} master ${br} up`);
    }
    await ipBatch(undefined, root, 'underlay');

    const jobs: Promise<void>[] = [];
    if (this.router) {
      const s = UNDERLAY.second;
      const r = this.router.name;
      jobs.push(
        ipBatch(r, ['link set lo up', `addr add ${s.routerIp1}/24 dev eth0`, 'link set eth0 up', `addr add ${s.routerIp2}/24 dev eth1`, 'link set eth1 up', `route add default via ${UNDERLAY.bridgeIp}`], 'router').then(() =>
          run([BUSYBOX, 'nsenter', `--net=${this.router?.netnsPath}`, BUSYBOX, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'], { phase: 'topology (router forwarding)' }).then(() => undefined),
        ),
      );
    }
    for (const n of this.nodes) jobs.push(this.buildNode(n));
    await Promise.all(jobs);
  }

  private async buildNode(n: LabNode): Promise<void> {
    const lines = ['link set lo up', `addr add ${n.ip}/24 dev eth0`, 'link set eth0 up', `route add default via ${n.gateway}`];
    // nodad: the address is usable at once (duplicate detection would hold it for a second or more).
    if (n.ip6 !== undefined) lines.push(`addr add ${n.ip6}/64 dev eth0 nodad`, `route add default via ${UNDERLAY.v6.bridgeIp}`);
    if (this.router && n.subnet === UNDERLAY.subnet) lines.push(`route add ${UNDERLAY.second.subnet} via ${UNDERLAY.second.routerIp1}`);
    await ipBatch(n.name, lines, `node ${n.name}`);
    writeFileSync(n.mntPin, '');
    writeFileSync(n.utsPin, '');
    await run(
      nodeSetupArgv(n.name, n.netnsPath, n.mntPin, n.utsPin),
      { phase: `topology (mount namespace of ${n.name})` },
    );
  }

  /** Kills what runs in the namespaces and removes them, the pins and the bridges. */
  async destroy(): Promise<void> {
    if (this.peerNs !== undefined) await this.removePeer();
    const names = [...this.nodes.map((n) => n.name), ...(this.router ? [this.router.name] : [])];
    for (const name of names) await killNetnsProcesses(name);
    for (const n of this.nodes) {
      await run(['umount', n.mntPin], { allowFail: true });
      await run(['umount', n.utsPin], { allowFail: true });
    }
    const lines = names.map((n) => `netns del ${n}`);
    lines.push(`link del ${UNDERLAY.bridge}`);
    if (this.router) lines.push(`link del ${UNDERLAY.second.bridge}`, `route del ${UNDERLAY.second.subnet}`);
    await run(['ip', '-force', '-batch', '-'], { input: `${lines.join('\n')}\n`, allowFail: true });
  }
}
