// DSR's kernel state outside IPVS and iptables (compile-dsr.ts explains the
// path), per family: on the node, one `fwmark <m> lookup 78` rule per DSR
// tuple and `local default dev lo` in table 78 (`ip rule` / `ip -6 rule`);
// in each local endpoint pod, the family's VIPs on its tunnel link
// (kube-tunnel-if, kube-tunnel-v6). The desired state is a pure function of
// the compiled services; DsrApplier diffs it against what it reads back and
// writes the difference. Pods it configured and that stopped being DSR
// endpoints get their tunnel removed.
//
// A pod that cannot be configured (runtime unreachable, pod gone, a write
// refused) does not fail the sync: its error is returned in `podErrors`, the
// pod stays pending and is tried again on the next sync.

import { KubeRouterError, errorMessage } from '../../errors.js';
import type { PodSandboxLookup } from '../../cri/types.js';
import { ABSENT, planIsEmpty, planPodTunnel, type PodTunnel, type PodTunnelSpec, type TunnelFamily } from '../../kernel/podtunnel/types.js';
import { AF_INET, AF_INET6, compareAddr, type AddressFamily } from '../../kernel/rtnl/inet.js';
import { RT_SCOPE, RTN, type Rtnl } from '../../kernel/rtnl/types.js';
import { DSR_RULE_PRIORITY, DSR_TABLE } from './compile-dsr.js';
import type { CompiledService } from './model.js';

const FAMILIES: readonly TunnelFamily[] = ['IPv4', 'IPv6'];

/** One pod's tunnel of one family. */
export interface DsrPodWant {
  /** `namespace/name`. */
  pod: string;
  spec: PodTunnelSpec;
}

export interface DsrDesired {
  /** fwmarks of every DSR tuple of the family, sorted. */
  marks: Record<TunnelFamily, number[]>;
  /** `<family> <namespace/name>` -> the tunnel the pod should hold (sorted VIPs). */
  pods: Map<string, DsrPodWant>;
}

/** No DSR at all (cleanup, tests). */
export function noDsr(): DsrDesired {
  return { marks: { IPv4: [], IPv6: [] }, pods: new Map() };
}

export function desiredDsr(services: readonly CompiledService[]): DsrDesired {
  const marks: Record<TunnelFamily, Set<number>> = { IPv4: new Set(), IPv6: new Set() };
  const pods = new Map<string, DsrPodWant>();
  for (const s of services) {
    for (const d of s.dsr) {
      marks[d.family].add(d.fwmark);
      for (const p of d.localPods) {
        const key = `${d.family} ${p.pod}`;
        const cur = pods.get(key);
        if (cur) {
          if (!cur.spec.vips.includes(d.vip)) cur.spec.vips.push(d.vip);
        } else pods.set(key, { pod: p.pod, spec: { family: d.family, local: p.ip, vips: [d.vip] } });
      }
    }
  }
  for (const w of pods.values()) w.spec.vips.sort(compareAddr);
  const sorted = (m: Set<number>): number[] => [...m].sort((a, b) => a - b);
  return { marks: { IPv4: sorted(marks.IPv4), IPv6: sorted(marks.IPv6) }, pods };
}

export interface DsrKernel {
  rtnl: Rtnl;
  podTunnel?: PodTunnel;
  sandboxes?: PodSandboxLookup;
}

export interface DsrApplyResult {
  mutations: Record<'rule_add' | 'rule_delete' | 'route_add' | 'route_delete' | 'pod_write', number>;
  /** Node-level failures (rules, table 78): the sync fails and is retried. */
  errors: Error[];
  /** Pods not configured this time (pending, retried on the next sync). */
  podErrors: Error[];
}

const ANY: Record<TunnelFamily, string> = { IPv4: '0.0.0.0/0', IPv6: '::/0' };
const AF: Record<TunnelFamily, AddressFamily> = { IPv4: AF_INET, IPv6: AF_INET6 };

function defaultRoute(family: TunnelFamily) {
  return { dst: ANY[family], table: DSR_TABLE, type: RTN.local, scope: RT_SCOPE.host, oif: 'lo' };
}

function sameSpec(a: PodTunnelSpec | undefined, b: PodTunnelSpec): boolean {
  return a !== undefined && a.family === b.family && a.local === b.local && a.vips.length === b.vips.length && a.vips.every((v, i) => v === b.vips[i]);
}

export class DsrApplier {
  /** Pod tunnels (keyed as DsrDesired.pods) that match the spec as last written. */
  private readonly applied = new Map<string, DsrPodWant>();
  private readonly appliedMarks = new Map<TunnelFamily, string>();

  /** `families`: the node's enabled families; the other family's rules are never read (its stack may be off). */
  constructor(
    private readonly kernel: DsrKernel,
    private readonly families: readonly TunnelFamily[] = FAMILIES,
  ) {}

  /** Whether some pod or the node part is not as desired after the last apply (a retry is due). */
  pending = false;

  async apply(want: DsrDesired, full: boolean): Promise<DsrApplyResult> {
    const res: DsrApplyResult = { mutations: { rule_add: 0, rule_delete: 0, route_add: 0, route_delete: 0, pod_write: 0 }, errors: [], podErrors: [] };
    for (const family of this.families) {
      const marks = want.marks[family];
      const sig = marks.join(',');
      // A family without DSR that this process never wrote is still read on a
      // full sync: rules left by an earlier run are removed.
      if (!full && sig === this.appliedMarks.get(family)) continue;
      try {
        await this.applyNode(family, marks, res);
        this.appliedMarks.set(family, sig);
      } catch (e) {
        this.appliedMarks.delete(family);
        res.errors.push(e as Error);
      }
    }
    for (const [key, w] of want.pods) {
      if (!this.families.includes(w.spec.family)) continue;
      if (!full && sameSpec(this.applied.get(key)?.spec, w.spec)) continue;
      try {
        if (await this.applyPod(w.pod, w.spec)) res.mutations.pod_write++;
        this.applied.set(key, w);
      } catch (e) {
        this.applied.delete(key);
        res.podErrors.push(e as Error);
      }
    }
    for (const [key, w] of [...this.applied]) {
      if (want.pods.has(key)) continue;
      try {
        if (await this.applyPod(w.pod, { family: w.spec.family, local: '', vips: [] }, true)) res.mutations.pod_write++;
        this.applied.delete(key);
      } catch (e) {
        res.podErrors.push(e as Error);
      }
    }
    this.pending = res.errors.length > 0 || res.podErrors.length > 0;
    return res;
  }

  /** Rules `fwmark <m> lookup 78` of `family` exactly `marks`; table 78's local default while any mark exists. */
  private async applyNode(family: TunnelFamily, marks: readonly number[], res: DsrApplyResult): Promise<void> {
    const { rtnl } = this.kernel;
    const af = AF[family];
    const any = ANY[family];
    const route = defaultRoute(family);
    const ours = (await rtnl.listRules(af)).filter((r) => r.priority === DSR_RULE_PRIORITY && r.table === DSR_TABLE);
    const have = new Set(ours.map((r) => r.fwmark));
    const wanted = new Set(marks);
    if (marks.length > 0) {
      const routes = await rtnl.listRoutes({ family: af, table: DSR_TABLE });
      if (!routes.some((r) => r.dst === any && r.type === RTN.local)) {
        await rtnl.replaceRoute(route);
        res.mutations.route_add++;
      }
    }
    for (const m of marks) {
      if (have.has(m)) continue;
      await rtnl.addRule({ family: af, priority: DSR_RULE_PRIORITY, table: DSR_TABLE, fwmark: m, fwmask: 0xffffffff });
      res.mutations.rule_add++;
    }
    for (const r of ours) {
      if (wanted.has(r.fwmark)) continue;
      await rtnl.deleteRule({ family: af, priority: DSR_RULE_PRIORITY, table: DSR_TABLE, fwmark: r.fwmark, fwmask: r.fwmask });
      res.mutations.rule_delete++;
    }
    if (marks.length === 0) {
      for (const r of await rtnl.listRoutes({ family: af, table: DSR_TABLE })) {
        if (r.dst !== any || r.type !== RTN.local) continue;
        await rtnl.deleteRoute({ ...route, protocol: r.protocol });
        res.mutations.route_delete++;
      }
    }
  }

  /** Brings one pod's tunnel to `spec`; true when something was written. A pod gone while removing is not an error. */
  private async applyPod(pod: string, spec: PodTunnelSpec, removing = false): Promise<boolean> {
    const { sandboxes, podTunnel } = this.kernel;
    if (!sandboxes || !podTunnel) {
      throw new KubeRouterError('KR_ERR_CONFIG', `Pod ${pod}: DSR endpoint on this node but no container runtime access is configured (--runtime-endpoint)`, { object: `Pod ${pod}` });
    }
    const slash = pod.indexOf('/');
    let netns: string;
    try {
      netns = (await sandboxes.podNetns(pod.slice(0, slash), pod.slice(slash + 1))).path;
    } catch (e) {
      if (removing) return false;
      throw e;
    }
    let cur;
    try {
      cur = await podTunnel.read(netns, spec.family);
    } catch (e) {
      if (removing) return false;
      throw new KubeRouterError('KR_ERR_KERNEL', `Pod ${pod}: ${errorMessage(e)}`, { object: `Pod ${pod}`, netns }, { cause: e });
    }
    const plan = planPodTunnel(cur ?? ABSENT, spec);
    if (planIsEmpty(plan)) return false;
    try {
      await podTunnel.write(netns, plan);
    } catch (e) {
      throw new KubeRouterError('KR_ERR_KERNEL', `Pod ${pod}: ${errorMessage(e)}`, { object: `Pod ${pod}`, netns }, { cause: e });
    }
    return true;
  }

  /** Forgets what was written (cleanup, tests). */
  reset(): void {
    this.applied.clear();
    this.appliedMarks.clear();
  }
}
