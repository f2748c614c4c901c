// `explain`: which NetworkPolicies, and which of their rules, allow or deny
// one flow, evaluated with the firewall's own model: the policies compiled by
// compilePolicy (effective policyTypes, targets, fail-closed on errors), the
// selectors, peers and ports parsed by compile-peers.ts, set membership as
// compile-sets.ts decides it (actionable pods, namespace labels, named ports
// resolved on the destination pod, ipBlock with except). Both sides count, as
// in the kernel: the source pod's egress and the destination pod's ingress.

import type { NetworkPolicy, Pod, Protocol } from '../../informers/types.js';
import { canonicalAddr, canonicalNet } from '../../kernel/ipset/addr.js';
import { compilePolicy } from '../../controllers/firewall/compile-policy.js';
import { parsePeer, parsePort, type Peer, type PortMatch } from '../../controllers/firewall/compile-peers.js';
import { groupHasPod, isActionable, namespaceLabels, podIp } from '../../controllers/firewall/compile-sets.js';
import type { ClusterView, CompiledPolicy, Direction, Family, FirewallContext } from '../../controllers/firewall/model.js';

/** A flow's end: a pod, or an address that is no pod's. */
export type FlowEnd = { kind: 'pod'; key: string; pod: Pod } | { kind: 'ip'; ip: string };

export interface RuleMatch {
  /** `namespace/name`. */
  policy: string;
  direction: Direction;
  /** Index in spec.ingress / spec.egress. */
  rule: number;
}

export interface SideVerdict {
  direction: Direction;
  /** The pod whose policies decide this side ('' when that end is not a pod). */
  pod: string;
  verdict: 'allow' | 'deny';
  /** Policies selecting the pod for this direction (it is isolated when there is any). */
  selectedBy: string[];
  /** The rules that allow the flow. */
  allowedBy: RuleMatch[];
  /** Selecting policies that could not be compiled (they allow nothing). */
  failClosed: string[];
  reason: string;
}

export interface Explanation {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  verdict: 'allow' | 'deny';
  egress: SideVerdict;
  ingress: SideVerdict;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function endName(e: FlowEnd): string {
  return e.kind === 'pod' ? e.key : e.ip;
}

function endIp(e: FlowEnd, fam: Family): string | undefined {
  if (e.kind === 'ip') {
    const a = canonicalAddr(e.ip);
    return a && a.v6 === (fam === 'ipv6') ? a.addr : undefined;
  }
  return isActionable(e.pod) ? podIp(e.pod, fam) : undefined;
}

function inNet(ip: string, net: string): boolean {
  const n = canonicalNet(net);
  if (!n) return false;
  const slash = n.net.indexOf('/');
  const bits = slash < 0 ? (n.v6 ? 128 : 32) : Number(n.net.slice(slash + 1));
  const masked = canonicalNet(`${ip}/${bits}`);
  return masked !== undefined && masked !== null && masked.net === n.net;
}

function peerMatches(peer: Peer, other: FlowEnd, view: ClusterView): boolean {
  if (peer.kind === 'all') return true;
  if (peer.kind === 'pods') {
    if (other.kind !== 'pod' || !isActionable(other.pod)) return false;
    return groupHasPod(peer.group, other.pod, namespaceLabels(view, other.pod.metadata.namespace ?? ''));
  }
  const spec = peer.set;
  if (spec.kind !== 'ipBlock') return false;
  const ip = endIp(other, peer.family);
  if (ip === undefined || !inNet(ip, spec.cidr)) return false;
  return !spec.except.some((e) => inNet(ip, e));
}

/** The destination pod's container ports called `name` with `protocol`. */
function namedPorts(dst: FlowEnd, name: string, protocol: Protocol): number[] {
  if (dst.kind !== 'pod') return [];
  const out: number[] = [];
  for (const c of dst.pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? 'TCP') === protocol) out.push(p.containerPort);
  return out;
}

function portMatches(m: PortMatch, dst: FlowEnd, port: number, protocol: Protocol): boolean {
  switch (m.kind) {
    case 'all':
      return true;
    case 'proto':
      return m.protocol === protocol;
    case 'number':
      return m.protocol === protocol && port >= m.port && port <= m.endPort;
    case 'named':
      return m.protocol === protocol && namedPorts(dst, m.name, protocol).includes(port);
  }
}

interface ParsedRule {
  peers: Peer[];
  ports: PortMatch[];
}

/** The rules of one direction, parsed as compilePolicy parses them (valid policies only). */
function rulesOf(p: NetworkPolicy, dir: Direction): ParsedRule[] {
  const ns = p.metadata.namespace ?? '';
  const list = (dir === 'ingress' ? p.spec.ingress : p.spec.egress) ?? [];
  return list.map((rule, i) => {
    const raw = (dir === 'ingress' ? (rule as { from?: unknown[] }).from : (rule as { to?: unknown[] }).to) ?? [];
    const field = `spec.${dir}[${i}].${dir === 'ingress' ? 'from' : 'to'}`;
    const peers: Peer[] = raw.length ? raw.map((x, j) => parsePeer(`${field}[${j}]`, x as never, ns)) : [{ kind: 'all' }];
    const rawPorts = rule?.ports ?? [];
    const ports: PortMatch[] = rawPorts.length ? rawPorts.map((x, k) => parsePort(`spec.${dir}[${i}].ports[${k}]`, x)) : [{ kind: 'all' }];
    return { peers, ports };
  });
}

export interface ExplainInput {
  from: FlowEnd;
  to: FlowEnd;
  port: number;
  protocol: Protocol;
  view: ClusterView;
  ctx: FirewallContext;
}

function side(dir: Direction, input: ExplainInput, compiled: Map<string, { policy: NetworkPolicy; compiled: CompiledPolicy }>): SideVerdict {
  const subject = dir === 'egress' ? input.from : input.to;
  const other = dir === 'egress' ? input.to : input.from;
  const base = { direction: dir, selectedBy: [] as string[], allowedBy: [] as RuleMatch[], failClosed: [] as string[] };
  if (subject.kind !== 'pod') return { ...base, pod: '', verdict: 'allow', reason: `${subject.ip} is not a pod: no NetworkPolicy applies on this side` };
  const pod: Pod = subject.pod;
  if (!isActionable(subject.pod)) {
    const why = pod.spec?.hostNetwork ? 'a hostNetwork pod' : 'not running with an IP';
    return { ...base, pod: subject.key, verdict: 'allow', reason: `${subject.key} is ${why}: the firewall does not filter it` };
  }
  const ns = subject.pod.metadata.namespace ?? '';
  for (const { policy, compiled: c } of [...compiled.values()].sort((a, b) => byText(a.compiled.key, b.compiled.key))) {
    if (c.namespace !== ns || !c.targets.pods.matches(subject.pod.metadata.labels)) continue;
    if (dir === 'ingress' ? !c.ingress : !c.egress) continue;
    base.selectedBy.push(c.key);
    if (c.errors.length > 0) {
      base.failClosed.push(c.key);
      continue;
    }
    rulesOf(policy, dir).forEach((r, i) => {
      const peerOk = r.peers.some((p) => peerMatches(p, other, input.view));
      const portOk = r.ports.some((m) => portMatches(m, input.to, input.port, input.protocol));
      if (peerOk && portOk) base.allowedBy.push({ policy: c.key, direction: dir, rule: i });
    });
  }
  if (base.selectedBy.length === 0) return { ...base, pod: subject.key, verdict: 'allow', reason: `no NetworkPolicy selects ${subject.key} for ${dir}: not isolated` };
  if (base.allowedBy.length > 0) {
    return { ...base, pod: subject.key, verdict: 'allow', reason: `allowed by ${base.allowedBy.map((m) => `${m.policy} ${m.direction}[${m.rule}]`).join(', ')}` };
  }
  const fc = base.failClosed.length > 0 ? ` (${base.failClosed.join(', ')} could not be compiled: it allows nothing)` : '';
  return { ...base, pod: subject.key, verdict: 'deny', reason: `isolated by ${base.selectedBy.join(', ')} and no ${dir} rule of them allows this flow${fc}` };
}

export function explainFlow(input: ExplainInput): Explanation {
  const compiled = new Map<string, { policy: NetworkPolicy; compiled: CompiledPolicy }>();
  for (const p of input.view.policies.list()) {
    const c = compilePolicy(p, input.ctx);
    compiled.set(c.key, { policy: p, compiled: c });
  }
  const egress = side('egress', input, compiled);
  const ingress = side('ingress', input, compiled);
  return {
    from: endName(input.from),
    to: endName(input.to),
    port: input.port,
    protocol: input.protocol,
    verdict: egress.verdict === 'allow' && ingress.verdict === 'allow' ? 'allow' : 'deny',
    egress,
    ingress,
  };
}

export function explainText(e: Explanation): string {
  const line = (s: SideVerdict): string => `${s.direction} ${s.pod || (s.direction === 'egress' ? e.from : e.to)}: ${s.verdict}: ${s.reason}`;
  return [`${e.from} -> ${e.to} ${e.protocol}/${e.port}`, `verdict: ${e.verdict}`, line(e.egress), line(e.ingress), ''].join('\n');
}
