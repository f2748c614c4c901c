// DSR's kernel state outside IPVS and iptables (compile-dsr.ts explains the
// path): on the node, one `fwmark <m> lookup 78` rule per DSR tuple and
// `local default dev lo` in table 78; in each local endpoint pod, the VIPs
// on kube-tunnel-if. The desired state is a pure function of the compiled
// services; DsrApplier diffs it against what it reads back and writes the
// difference. Pods it configured and that stopped being DSR endpoints get
// their tunnel removed.
//
// A pod that cannot be configured (runtime unreachable, pod gone, a write
// refused) does not fail the sync: its error is returned in `podErrors`, the
// pod stays pending and is tried again on the next sync.

import { KubeRouterError, errorMessage } from '../../errors.js';
import type { PodSandboxLookup } from '../../cri/types.js';
import { ABSENT, planIsEmpty, planPodTunnel, type PodTunnel, type PodTunnelSpec } from '../../kernel/podtunnel/types.js';
import { AF_INET, compareAddr } from '../../kernel/rtnl/inet.js';
import { RT_SCOPE, RTN, type Rtnl } from '../../kernel/rtnl/types.js';
import { DSR_RULE_PRIORITY, DSR_TABLE } from './compile-dsr.js';
import type { CompiledService } from './model.js';

export interface DsrDesired {
  /** fwmarks of every IPv4 DSR tuple, sorted. */
  marks: number[];
  /** `namespace/name` -> the tunnel the pod should hold (sorted VIPs). */
  pods: Map<string, PodTunnelSpec>;
}

export function desiredDsr(services: readonly CompiledService[]): DsrDesired {
  const marks = new Set<number>();
  const pods = new Map<string, PodTunnelSpec>();
  for (const s of services) {
    for (const d of s.dsr) {
      if (d.family !== 'IPv4') continue;
      marks.add(d.fwmark);
      for (const p of d.localPods) {
        const cur = pods.get(p.pod);
        if (cur) {
          if (!cur.vips.includes(d.vip)) cur.vips.push(d.vip);
        } else pods.set(p.pod, { local: p.ip, vips: [d.vip] });
      }
    }
  }
  for (const spec of pods.values()) spec.vips.sort(compareAddr);
  return { marks: [...marks].sort((a, b) => a - b), pods };
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

const DEFAULT_ROUTE = { dst: '0.0.0.0/0', table: DSR_TABLE, type: RTN.local, scope: RT_SCOPE.host, oif: 'lo' };

function sameSpec(a: PodTunnelSpec | undefined, b: PodTunnelSpec): boolean {
  return a !== undefined && a.local === b.local && a.vips.length === b.vips.length && a.vips.every((v, i) => v === b.vips[i]);
}

export class DsrApplier {
  /** Pods whose tunnel matches the spec as last written. */
  private readonly applied = new Map<string, PodTunnelSpec>();
  private appliedMarks: string | undefined;

  constructor(private readonly kernel: DsrKernel) {}

  /** Whether some pod or the node part is not as desired after the last apply (a retry is due). */
  pending = false;

  async apply(want: DsrDesired, full: boolean): Promise<DsrApplyResult> {
    const res: DsrApplyResult = { mutations: { rule_add: 0, rule_delete: 0, route_add: 0, route_delete: 0, pod_write: 0 }, errors: [], podErrors: [] };
    const marksSig = want.marks.join(',');
    if (full || marksSig !== this.appliedMarks) {
      try {
        await this.applyNode(want.marks, res);
        this.appliedMarks = marksSig;
      } catch (e) {
        this.appliedMarks = undefined;
        res.errors.push(e as Error);
      }
    }
    for (const [pod, spec] of want.pods) {
      if (!full && sameSpec(this.applied.get(pod), spec)) continue;
      try {
        if (await this.applyPod(pod, spec)) res.mutations.pod_write++;
        this.applied.set(pod, spec);
      } catch (e) {
        this.applied.delete(pod);
        res.podErrors.push(e as Error);
      }
    }
    for (const pod of [...this.applied.keys()]) {
      if (want.pods.has(pod)) continue;
      try {
        if (await this.applyPod(pod, { local: '', vips: [] }, true)) res.mutations.pod_write++;
        this.applied.delete(pod);
      } catch (e) {
        res.podErrors.push(e as Error);
      }
    }
    this.pending = res.errors.length > 0 || res.podErrors.length > 0;
    return res;
  }

  /** Rules `fwmark <m> lookup 78` exactly `marks`; table 78's local default while any mark exists. */
  private async applyNode(marks: readonly number[], res: DsrApplyResult): Promise<void> {
    const { rtnl } = this.kernel;
    const ours = (await rtnl.listRules(AF_INET)).filter((r) => r.priority === DSR_RULE_PRIORITY && r.table === DSR_TABLE);
    const have = new Set(ours.map((r) => r.fwmark));
    const wanted = new Set(marks);
    if (marks.length > 0) {
      const routes = await rtnl.listRoutes({ family: AF_INET, table: DSR_TABLE });
      if (!routes.some((r) => r.dst === '0.0.0.0/0' && r.type === RTN.local)) {
        await rtnl.replaceRoute(DEFAULT_ROUTE);
        res.mutations.route_add++;
      }
    }
    for (const m of marks) {
      if (have.has(m)) continue;
      await rtnl.addRule({ family: AF_INET, priority: DSR_RULE_PRIORITY, table: DSR_TABLE, fwmark: m, fwmask: 0xffffffff });
      res.mutations.rule_add++;
    }
    for (const r of ours) {
      if (wanted.has(r.fwmark)) continue;
      await rtnl.deleteRule({ family: AF_INET, priority: DSR_RULE_PRIORITY, table: DSR_TABLE, fwmark: r.fwmark, fwmask: r.fwmask });
      res.mutations.rule_delete++;
    }
    if (marks.length === 0) {
      for (const r of await rtnl.listRoutes({ family: AF_INET, table: DSR_TABLE })) {
        if (r.dst !== '0.0.0.0/0' || r.type !== RTN.local) continue;
        await rtnl.deleteRoute({ ...DEFAULT_ROUTE, protocol: r.protocol });
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
      cur = await podTunnel.read(netns);
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
    this.appliedMarks = undefined;
  }
}
