// The kernel interfaces the proxy controller drives, bundled so tests hand in
// the fakes and the factory the Linux implementations.

import type { Ipset } from '../../kernel/ipset/types.js';
import type { Iptables, IptablesDriver } from '../../kernel/iptables/types.js';
import type { Ipvs } from '../../kernel/ipvs/types.js';
import type { Rtnl } from '../../kernel/rtnl/types.js';
import type { Sysctl } from '../../kernel/sysctl.js';
import type { PodSandboxLookup } from '../../cri/types.js';
import type { PodTunnel } from '../../kernel/podtunnel/types.js';
import type { Conntrack } from './conntrack.js';

export interface ProxyKernel {
  ipvs: Ipvs;
  rtnl: Rtnl;
  ipset: Ipset;
  /** IPv4 iptables through the reconciler (the nat table: the proxy's only). */
  iptables: Iptables;
  /** The IPv4 driver itself, for KUBE-ROUTER-SERVICES in the shared filter table (see filter-services.ts). */
  iptablesDriver: IptablesDriver;
  /** ip6tables, the same two ways (--enable-ipv6). */
  iptables6?: Iptables;
  iptablesDriver6?: IptablesDriver;
  sysctl: Sysctl;
  /** Stale UDP flows to removed destinations are deleted through it (none: not flushed). */
  conntrack?: Conntrack;
  /** DSR: kube-tunnel-if inside endpoint pods, found through the container runtime. */
  podTunnel?: PodTunnel;
  sandboxes?: PodSandboxLookup;
}

/** kube-router's IPVS sysctls (kube-router-reference 3.5). */
export const PROXY_SYSCTLS: ReadonlyArray<readonly [string, string]> = [
  ['net.ipv4.vs.conntrack', '1'],
  ['net.ipv4.vs.expire_nodest_conn', '1'],
  ['net.ipv4.vs.expire_quiescent_template', '1'],
  ['net.ipv4.vs.conn_reuse_mode', '0'],
  ['net.ipv4.conf.all.arp_ignore', '1'],
  ['net.ipv4.conf.all.arp_announce', '2'],
];
