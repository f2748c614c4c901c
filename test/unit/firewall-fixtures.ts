// Test helpers for the firewall compiler: an in-memory cluster (the upstream
// netpol e2e layout: namespaces x, y, z with pods a, b, c over two nodes) and
// a tiny iptables/ipset evaluator over the compiled desired state, so tests
// assert reachability ("would this packet be allowed") rather than rule text.
// Not a test file itself.

import { splitArgs } from '../../src/kernel/iptables/tokens.js';
import { canonicalNet } from '../../src/kernel/ipset/addr.js';
import type { Store } from '../../src/informers/cache.js';
import type { KubeObject, Namespace, NetworkPolicy, Pod, Protocol } from '../../src/informers/types.js';
import { FirewallState } from '../../src/controllers/firewall/compile-state.js';
import type { ClusterView, FirewallContext, FirewallDesired } from '../../src/controllers/firewall/model.js';

export class MapStore<T extends KubeObject> implements Store<T> {
  readonly m = new Map<string, T>();
  key(o: T): string {
    return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }
  put(o: T): void {
    this.m.set(this.key(o), o);
  }
  del(key: string): void {
    this.m.delete(key);
  }
  get(key: string): T | undefined {
    return this.m.get(key);
  }
  list(): T[] {
    return [...this.m.values()];
  }
  listNamespace(ns: string): T[] {
    return this.list().filter((o) => o.metadata.namespace === ns);
  }
  size(): number {
    return this.m.size;
  }
}

export const NODE1 = 'node-1';
export const NODE2 = 'node-2';
export const NODE_IP: Record<string, string> = { [NODE1]: '192.168.0.1', [NODE2]: '192.168.0.2' };

export function ctxFor(nodeName: string, over: Partial<FirewallContext> = {}): FirewallContext {
  return {
    nodeName,
    families: ['ipv4'],
    serviceClusterIpRanges: ['10.96.0.0/12'],
    serviceExternalIpRanges: [],
    loadbalancerIpRanges: [],
    nodePortRange: '30000-32767',
    defaultDeny: false,
    podCidrs: [nodeName === NODE1 ? '10.244.1.0/24' : '10.244.2.0/24'],
    ...over,
  };
}

type Ports = { name?: string; containerPort: number; protocol?: Protocol }[];

/** The e2e "serve-<port>-<proto>" container ports of pods a, b, c. */
export const SERVE_PORTS: Ports = [
  { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
  { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' },
  { name: 'serve-81-tcp', containerPort: 81, protocol: 'TCP' },
  { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' },
  { name: 'serve-80-sctp', containerPort: 80, protocol: 'SCTP' },
];

export function mkPod(ns: string, name: string, ip: string | undefined, node: string, labels: Record<string, string> = { pod: name }, extra: Partial<Pod['spec']> & { phase?: string; ports?: Ports; deletionTimestamp?: string } = {}): Pod {
  const { phase, ports, deletionTimestamp, ...spec } = extra;
  return {
    metadata: { namespace: ns, name, labels, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    spec: { nodeName: node, containers: [{ name: 'c', ports: ports ?? SERVE_PORTS }], ...spec },
    status: { phase: (phase ?? 'Running') as 'Running', ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}), hostIP: NODE_IP[node] },
  };
}

export function mkNs(name: string, labels: Record<string, string> = {}): Namespace {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ns: name, ...labels } } };
}

export function mkPolicy(ns: string, name: string, spec: Partial<NetworkPolicy['spec']>): NetworkPolicy {
  return { metadata: { namespace: ns, name }, spec: { podSelector: {}, ...spec } };
}

export interface Packet {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'sctp';
  dport: number;
  hook: 'INPUT' | 'FORWARD' | 'OUTPUT';
  srcLocal?: boolean;
  dstLocal?: boolean;
  ctstate?: 'NEW' | 'ESTABLISHED';
}

type Verdict = 'ACCEPT' | 'DROP' | 'REJECT' | undefined;

function inNet(addr: string, net: string): boolean {
  const n = canonicalNet(net);
  const bits = net.includes('/') ? Number(net.slice(net.indexOf('/') + 1)) : addr.includes(':') ? 128 : 32;
  const a = canonicalNet(`${addr}/${bits}`);
  return !!n && !!a && n.net === a.net;
}

/** Evaluates a packet against one node's desired state (IPv4). */
export function evaluate(d: FirewallDesired, pkt: Packet): { verdict: Verdict; trace: string[] } {
  const ipt = d.iptables.ipv4;
  if (!ipt) throw new Error('no ipv4 state');
  const sets = new Map([...d.ipsets, ...d.localPods].map((s) => [s.name, s]));
  let mark = 0;
  const trace: string[] = [];
  const inSet = (name: string, dirs: string): boolean => {
    const s = sets.get(name);
    if (!s) throw new Error(`rule references missing set ${name}`);
    const [d1, d2] = dirs.split(',');
    const ip = d1 === 'src' ? pkt.src : pkt.dst;
    if (s.type === 'hash:ip') return s.entries.has(ip);
    if (s.type === 'hash:ip,port') {
      const port = d2 === 'src' ? -1 : pkt.dport;
      return s.entries.has(`${ip},${pkt.proto}:${port}`);
    }
    if (s.type === 'hash:net') {
      let best: { bits: number; nomatch: boolean } | undefined;
      for (const e of s.entries) {
        const [net, flag] = e.split(' ');
        const full = net.includes('/') ? net : `${net}/32`;
        const bits = Number(full.slice(full.indexOf('/') + 1));
        if (inNet(ip, full) && (!best || bits > best.bits)) best = { bits, nomatch: flag === 'nomatch' };
      }
      return !!best && !best.nomatch;
    }
    throw new Error(`unsupported set type ${s.type}`);
  };
  const matches = (args: string[]): { ok: boolean; target: string[] } => {
    let i = 0;
    let neg = false;
    let proto: string | undefined;
    while (i < args.length) {
      const a = args[i];
      if (a === '!') {
        neg = true;
        i++;
        continue;
      }
      const check = (cond: boolean): boolean => (neg ? !cond : cond);
      let ok = true;
      if (a === '-j') return { ok: true, target: args.slice(i + 1) };
      if (a === '-m') {
        i += 2;
        continue;
      } else if (a === '--comment' || a === '--limit' || a === '--limit-burst') i += 2;
      else if (a === '-s' || a === '-d') {
        ok = check(inNet(a === '-s' ? pkt.src : pkt.dst, args[i + 1]));
        i += 2;
      } else if (a === '-p') {
        proto = args[i + 1];
        ok = check(proto === pkt.proto);
        i += 2;
      } else if (a === '--dport' || a === '--dports') {
        const [lo, hi] = args[i + 1].split(':').map(Number);
        ok = check(pkt.dport >= lo && pkt.dport <= (hi ?? lo));
        i += 2;
      } else if (a === '--match-set') {
        ok = check(inSet(args[i + 1], args[i + 2]));
        i += 3;
      } else if (a === '--mark') {
        const [v, m] = args[i + 1].split('/').map((x) => Number(x));
        ok = check((mark & m) === v);
        i += 2;
      } else if (a === '--src-type' || a === '--dst-type') {
        ok = check(a === '--src-type' ? !!pkt.srcLocal : !!pkt.dstLocal);
        i += 2;
      } else if (a === '--ctstate') {
        ok = check(args[i + 1].split(',').includes(pkt.ctstate ?? 'NEW'));
        i += 2;
      } else if (a === '--icmp-type' || a === '--icmpv6-type') i += 2;
      else throw new Error(`evaluator: unsupported option ${a} in ${args.join(' ')}`);
      neg = false;
      if (!ok) return { ok: false, target: [] };
    }
    return { ok: true, target: [] };
  };
  const run = (chain: string, depth: number): Verdict => {
    if (depth > 10) throw new Error('loop');
    const rules = ipt.chains.get(chain);
    if (!rules) throw new Error(`jump to missing chain ${chain}`);
    for (const r of rules) {
      const { ok, target } = matches(splitArgs(r));
      if (!ok || target.length === 0) continue;
      const t = target[0];
      if (t === 'ACCEPT' || t === 'DROP' || t === 'REJECT') {
        trace.push(`${chain}: ${t}`);
        return t;
      }
      if (t === 'RETURN') return undefined;
      if (t === 'NFLOG') continue;
      if (t === 'MARK') {
        const [v, m] = target[2].split('/').map((x) => Number(x));
        mark = target[1] === '--set-xmark' ? (mark & ~m) ^ v : (mark & ~m) | v;
        continue;
      }
      trace.push(`${chain} -> ${t}`);
      const v = run(t, depth + 1);
      if (v) return v;
    }
    return undefined;
  };
  for (const j of ipt.jumps.filter((x) => x.fromChain === pkt.hook)) {
    const { ok, target } = matches(splitArgs(j.rule));
    if (ok && target.length) {
      const v = run(target[0], 1);
      if (v) return { verdict: v, trace };
    }
  }
  return { verdict: undefined, trace };
}

/** An in-memory cluster compiled per node. */
export class Cluster {
  readonly pods = new MapStore<Pod>();
  readonly namespaces = new MapStore<Namespace>();
  readonly policies = new MapStore<NetworkPolicy>();
  readonly view: ClusterView = { pods: this.pods, namespaces: this.namespaces, policies: this.policies };
  private states = new Map<string, FirewallState>();

  constructor(readonly ctxOver: Partial<FirewallContext> = {}) {}

  /** x, y, z with a, b, c each; a and b on node-1, c on node-2. IPs 10.244.<node>.<n>. */
  static e2e(ctxOver: Partial<FirewallContext> = {}): Cluster {
    const c = new Cluster(ctxOver);
    let n = 10;
    for (const ns of ['x', 'y', 'z']) {
      c.namespaces.put(mkNs(ns));
      for (const p of ['a', 'b', 'c']) {
        const node = p === 'c' ? NODE2 : NODE1;
        c.pods.put(mkPod(ns, p, `10.244.${node === NODE1 ? 1 : 2}.${n++}`, node));
      }
    }
    return c;
  }

  policy(ns: string, name: string, spec: Partial<NetworkPolicy['spec']>): this {
    this.policies.put(mkPolicy(ns, name, spec));
    return this;
  }

  state(node: string): FirewallState {
    const s = new FirewallState(ctxFor(node, this.ctxOver));
    s.rebuild(this.view);
    this.states.set(node, s);
    return s;
  }

  desired(node: string): FirewallDesired {
    return this.state(node).desired();
  }

  ip(key: string): string {
    const p = this.pods.get(key);
    const ip = p?.status?.podIP ?? (p?.spec.hostNetwork ? NODE_IP[p.spec.nodeName ?? ''] : undefined);
    if (!ip) throw new Error(`no ip for ${key}`);
    return ip;
  }

  /** Would a NEW connection from pod `from` to pod `to` on port/proto be allowed (both nodes' verdicts)? */
  allowed(from: string, to: string, port = 80, proto: Packet['proto'] = 'tcp'): boolean {
    const src = this.pods.get(from);
    const dst = this.pods.get(to);
    if (!src || !dst) throw new Error('no such pod');
    const srcNode = src.spec.nodeName as string;
    const dstNode = dst.spec.nodeName as string;
    const s = src.spec.hostNetwork ? NODE_IP[srcNode] : this.ip(from);
    const d = this.ip(to);
    const pkt = { src: s, dst: d, proto, dport: port };
    const ok = (v: Verdict): boolean => v !== 'DROP' && v !== 'REJECT';
    if (src.spec.hostNetwork) {
      if (srcNode === dstNode) return ok(evaluate(this.desired(dstNode), { ...pkt, hook: 'OUTPUT', srcLocal: true }).verdict);
      return ok(evaluate(this.desired(dstNode), { ...pkt, hook: 'FORWARD' }).verdict);
    }
    if (srcNode === dstNode) return ok(evaluate(this.desired(srcNode), { ...pkt, hook: 'FORWARD' }).verdict);
    return ok(evaluate(this.desired(srcNode), { ...pkt, hook: 'FORWARD' }).verdict) && ok(evaluate(this.desired(dstNode), { ...pkt, hook: 'FORWARD' }).verdict);
  }

  /** A NEW connection from an address outside the cluster to a pod (through the pod's node). */
  allowedFromIp(ip: string, to: string, port = 80, proto: Packet['proto'] = 'tcp'): boolean {
    const dst = this.pods.get(to) as Pod;
    const v = evaluate(this.desired(dst.spec.nodeName as string), { src: ip, dst: this.ip(to), proto, dport: port, hook: 'FORWARD' }).verdict;
    return v !== 'DROP' && v !== 'REJECT';
  }

  /** A NEW connection from a pod to an address outside the cluster. */
  allowedToIp(from: string, ip: string, port = 80, proto: Packet['proto'] = 'tcp'): boolean {
    const src = this.pods.get(from) as Pod;
    const v = evaluate(this.desired(src.spec.nodeName as string), { src: this.ip(from), dst: ip, proto, dport: port, hook: 'FORWARD' }).verdict;
    return v !== 'DROP' && v !== 'REJECT';
  }

  /** Full matrix of pod keys -> allowed set, for compact assertions. */
  matrix(port = 80, proto: Packet['proto'] = 'tcp'): string[] {
    const keys = this.pods.list().filter((p) => !p.spec.hostNetwork && p.status?.podIP).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
    const out: string[] = [];
    for (const f of keys) for (const t of keys) if (f !== t && !this.allowed(f, t, port, proto)) out.push(`${f}->${t}`);
    return out;
  }
}

export const ALL = ['x/a', 'x/b', 'x/c', 'y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c'];
/** Denied pairs where every source in `froms` to every target in `tos`, excluding those in `except`. */
export function pairs(froms: string[], tos: string[], except: (f: string, t: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const f of froms) for (const t of tos) if (f !== t && !except(f, t)) out.push(`${f}->${t}`);
  return out.sort();
}
