// Builds and tears down the node topology inside the guest, and says how to
// run a command on a node or in a pod (argvFor). Each node is a network
// namespace (/run/netns/nodeN) plus its own mount namespace (own tmpfs on
// /etc/cni/net.d, /var/lib/cni, /run and a sysfs of its own netns, with
// /run/netns still shared with the guest root so pod namespaces show up in
// every node) and its own UTS namespace (hostname nodeN), pinned under
// /run/lab/ns/. The addresses and the `ip -batch` lines come from plan.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { LabError, run } from '../vm/proc.js';
import { checkedOptions, nodeLines, planNodes, planRouter, routerForwardingScript, routerLines, teardownLines, underlayLines } from './plan.js';
import { BUSYBOX, nodeSetupArgv } from './setup-script.js';
import {
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
    this.nodes.push(...planNodes(options));
    this.router = planRouter(options);
  }

  /** Creates the bridges, the router (if any) and every node. */
  static async create(opts: TopologyOptions): Promise<Topology> {
    const t = new Topology(checkedOptions(opts));
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
   * Adds the `peer` namespace on the underlay (eth0 192.168.56.254/24, and
   * fd00:56::254/64 in a dual-stack lab; default routes via the bridge), for
   * an external BGP router. Idempotent; not with a
   * second subnet, whose router holds that address.
   */
  async addPeer(): Promise<LabPeer> {
    if (this.peerNs !== undefined) return this.peerNs;
    if (this.router !== undefined) {
      throw new LabError('topology', `an external peer cannot join a topology with a second subnet: the router holds ${UNDERLAY.peer.ip}`, { field: 'cluster.externalPeer' });
    }
    const { name, ip, asn } = UNDERLAY.peer;
    const ip6 = this.options.dualStack ? UNDERLAY.peer.ip6 : undefined;
    const netnsPath = `/run/netns/${name}`;
    // Left over from a supervisor that died: start clean.
    await run(['ip', 'netns', 'del', name], { allowFail: true });
    await run(['ip', 'link', 'del', `veth-${name}`], { allowFail: true });
    await ipBatch(undefined, [`netns add ${name}`, `link add veth-${name} type veth peer name eth0 netns ${name}`, `link set veth-${name} master ${UNDERLAY.bridge} up`], 'peer link');
    const v6 = ip6 === undefined ? [] : [`addr add ${ip6}/64 dev eth0 nodad`, `route add default via ${UNDERLAY.v6.bridgeIp}`];
    await ipBatch(name, ['link set lo up', `addr add ${ip}/24 dev eth0`, 'link set eth0 up', `route add default via ${UNDERLAY.bridgeIp}`, ...v6], 'peer');
    this.peerNs = { name, ip, ...(ip6 === undefined ? {} : { ip6 }), asn, netnsPath };
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

    const root = underlayLines(this.options, this.nodes, this.router);
    await ipBatch(undefined, root, 'underlay');

    const jobs: Promise<void>[] = [];
    if (this.router) {
      const r = this.router;
      jobs.push(
        ipBatch(r.name, routerLines(r), 'router').then(() =>
          run([BUSYBOX, 'nsenter', `--net=${r.netnsPath}`, BUSYBOX, 'sh', '-c', routerForwardingScript(r)], { phase: 'topology (router forwarding)' }).then(() => undefined),
        ),
      );
    }
    for (const n of this.nodes) jobs.push(this.buildNode(n));
    await Promise.all(jobs);
  }

  private async buildNode(n: LabNode): Promise<void> {
    await ipBatch(n.name, nodeLines(n, this.router), `node ${n.name}`);
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
    const lines = teardownLines(this.nodes, this.router);
    await run(['ip', '-force', '-batch', '-'], { input: `${lines.join('\n')}\n`, allowFail: true });
  }
}
