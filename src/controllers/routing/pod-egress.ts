// Pod egress masquerade and the kube-bridge FORWARD accepts (kube-router's
// pkg/controllers/routing/pod_egress.go and ensureForwarding...):
//   ipsets kube-router-pod-subnets (hash:net, every node's pod CIDRs) and
//   kube-router-node-ips (hash:ip, every node IP), inet6: twins with IPv6,
//   applied through the ipset module (one `ipset restore` per sync);
//   nat POSTROUTING: from a pod subnet to neither a pod subnet nor a node IP
//   -> MASQUERADE --random-fully; filter FORWARD: -i/-o kube-bridge ACCEPT.
// The iptables rules are a constant handful, checked with `-C` and appended
// when missing (as kube-router's AppendUnique), with kube-router's comments
// and NOT through the iptables reconciler: that one treats every `kr:` rule in
// a built-in chain as the caller's, so two controllers applying the same
// table (proxy: nat; firewall: filter) would delete each other's rules.

import type { IpFamily } from '../../bgp/types.js';
import { errorMessage, KubeRouterError } from '../../errors.js';
import { execLocal, type Exec } from '../../kernel/exec.js';
import { createLinuxIpset } from '../../kernel/ipset/linux.js';
import type { Ipset, IpsetSet } from '../../kernel/ipset/types.js';
import { kernelTablesLock } from '../../kernel/lock.js';
import type { RoutingNode } from './model.js';
import { BRIDGE_NAME } from './node-setup.js';

export const POD_SUBNETS_SET = 'kube-router-pod-subnets';
export const NODE_IPS_SET = 'kube-router-node-ips';
const V6_PREFIX = 'inet6:';

export interface PodEgress {
  apply(nodes: readonly RoutingNode[], families: readonly IpFamily[]): Promise<void>;
  cleanup(): Promise<void>;
}

function setName(base: string, f: IpFamily): string {
  return f === 'ipv4' ? base : `${V6_PREFIX}${base}`;
}

/** The two ipsets per family with every node's pod CIDRs and IPs. */
export function egressSets(nodes: readonly RoutingNode[], families: readonly IpFamily[]): IpsetSet[] {
  const out: IpsetSet[] = [];
  for (const f of families) {
    const v6 = f === 'ipv6';
    const cidrs = nodes.flatMap((n) => n.podCidrs).filter((c) => c.includes(':') === v6);
    const ips = nodes.flatMap((n) => n.ips[f]);
    const family = v6 ? 'inet6' : 'inet';
    out.push({ name: setName(POD_SUBNETS_SET, f), type: 'hash:net', family, options: {}, entries: new Set(cidrs) });
    out.push({ name: setName(NODE_IPS_SET, f), type: 'hash:ip', family, options: {}, entries: new Set(ips) });
  }
  return out;
}

interface Rule {
  table: 'nat' | 'filter';
  chain: string;
  args: string[];
}

/** The iptables rules of one family (argv after `-t table -X chain`). */
export function egressRules(f: IpFamily, enableEgress: boolean): Rule[] {
  const pods = setName(POD_SUBNETS_SET, f);
  const nodes = setName(NODE_IPS_SET, f);
  const rules: Rule[] = [
    { table: 'filter', chain: 'FORWARD', args: ['-m', 'comment', '--comment', 'allow outbound traffic from pods', '-i', BRIDGE_NAME, '-j', 'ACCEPT'] },
    { table: 'filter', chain: 'FORWARD', args: ['-m', 'comment', '--comment', 'allow inbound traffic to pods', '-o', BRIDGE_NAME, '-j', 'ACCEPT'] },
  ];
  if (enableEgress) {
    rules.push({
      table: 'nat',
      chain: 'POSTROUTING',
      args: ['-m', 'set', '--match-set', pods, 'src', '-m', 'set', '!', '--match-set', pods, 'dst', '-m', 'set', '!', '--match-set', nodes, 'dst',
        '-m', 'comment', '--comment', 'kube-router-pod-egress', '-j', 'MASQUERADE', '--random-fully'],
    });
  }
  return rules;
}

export interface PodEgressOptions {
  ipset?: Ipset;
  exec?: Exec;
  /** Also masquerade (--enable-pod-egress); the FORWARD accepts are always kept. Default true. */
  enableEgress?: boolean;
}

const owned = (name: string): boolean => name === POD_SUBNETS_SET || name === NODE_IPS_SET || name === `${V6_PREFIX}${POD_SUBNETS_SET}` || name === `${V6_PREFIX}${NODE_IPS_SET}`;

export function createPodEgress(opts: PodEgressOptions = {}): PodEgress {
  const exec = opts.exec ?? execLocal;
  // The caller's exec (a netns in tests) also runs the ipset binary; otherwise netlink.
  const ipset = opts.ipset ?? createLinuxIpset({ exec: opts.exec, lock: kernelTablesLock });
  const enableEgress = opts.enableEgress ?? true;
  const bin = (f: IpFamily): string => (f === 'ipv4' ? 'iptables' : 'ip6tables');
  const run = async (f: IpFamily, op: '-C' | '-A' | '-D', r: Rule): Promise<number> => {
    const res = await exec([bin(f), '-w', '-t', r.table, op, r.chain, ...r.args]);
    if (op !== '-C' && res.code !== 0) {
      throw new KubeRouterError('KR_ERR_KERNEL', `${bin(f)} -t ${r.table} ${op} ${r.chain} ${r.args.join(' ')}: ${res.stderr.trim()}`, { call: `${bin(f)} ${op} ${r.chain}` });
    }
    return res.code;
  };
  return {
    async apply(nodes, families) {
      await ipset.applyCreatesAndUpdates(egressSets(nodes, families));
      for (const f of families) {
        for (const r of egressRules(f, enableEgress)) {
          if ((await run(f, '-C', r)) !== 0) await run(f, '-A', r);
        }
      }
    },
    async cleanup() {
      const errors: string[] = [];
      for (const f of ['ipv4', 'ipv6'] as const) {
        for (const r of egressRules(f, true)) {
          try {
            while ((await run(f, '-C', r)) === 0) await run(f, '-D', r);
          } catch (err) {
            errors.push(errorMessage(err));
          }
        }
      }
      try {
        await ipset.destroyStale([], { owned });
      } catch (err) {
        errors.push(errorMessage(err));
      }
      if (errors.length > 0) throw new KubeRouterError('KR_ERR_KERNEL', `pod egress cleanup: ${errors.join('; ')}`);
    },
  };
}
