// The firewall's kernel handles on Linux: one ipset, and one iptables per
// enabled family (--enable-ipv4 / --enable-ipv6), sharing the process-wide lock.
// Its iptables transactions go over nf_tables netlink where they can
// (kernel/iptables/nft-linux.ts: a new pod's chain without an
// iptables-restore run); KUBE_ROUTER_IPTABLES_NETLINK=0 turns that off.

import type { AgentOptions } from '../../cmd/options/types.js';
import { createLinuxIpset } from '../../kernel/ipset/linux.js';
import { createLinuxIptables, type LinuxIptablesOptions } from '../../kernel/iptables/linux.js';
import { isOwnedChain } from './model.js';
import type { FirewallKernel } from './reconcile.js';

export function linuxFirewallKernel(options: Pick<AgentOptions, 'enableIpv4' | 'enableIpv6'>, onWrite?: LinuxIptablesOptions['onWrite'], env: NodeJS.ProcessEnv = process.env): FirewallKernel {
  const kernel: FirewallKernel = { ipset: createLinuxIpset(), iptables: {} };
  const netlink = env.KUBE_ROUTER_IPTABLES_NETLINK !== '0';
  if (options.enableIpv4) kernel.iptables.ipv4 = createLinuxIptables({ family: 'ipv4', netlink, onWrite, ownChains: isOwnedChain });
  if (options.enableIpv6) kernel.iptables.ipv6 = createLinuxIptables({ family: 'ipv6', netlink, onWrite, ownChains: isOwnedChain });
  return kernel;
}
