// The firewall's kernel handles on Linux: one ipset, and one iptables per
// enabled family (--enable-ipv4 / --enable-ipv6), sharing the process-wide lock.

import type { AgentOptions } from '../../cmd/options/types.js';
import { createLinuxIpset } from '../../kernel/ipset/linux.js';
import { createLinuxIptables } from '../../kernel/iptables/linux.js';
import type { FirewallKernel } from './reconcile.js';

export function linuxFirewallKernel(options: Pick<AgentOptions, 'enableIpv4' | 'enableIpv6'>): FirewallKernel {
  const kernel: FirewallKernel = { ipset: createLinuxIpset(), iptables: {} };
  if (options.enableIpv4) kernel.iptables.ipv4 = createLinuxIptables({ family: 'ipv4' });
  if (options.enableIpv6) kernel.iptables.ipv6 = createLinuxIptables({ family: 'ipv6' });
  return kernel;
}
