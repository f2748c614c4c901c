// Builds the proxy controller over the Linux kernel interfaces (the factory
// registered in factory.ts once proven in the lab).

import type { Controller, ControllerDeps } from '../controller.js';
import { createLinuxIpset } from '../../kernel/ipset/linux.js';
import { IptablesReconciler } from '../../kernel/iptables/reconciler.js';
import { LinuxIptablesDriver } from '../../kernel/iptables/linux.js';
import { LinuxIpvs } from '../../kernel/ipvs/linux.js';
import { LinuxRtnl } from '../../kernel/rtnl/linux.js';
import { ProcSysctl } from '../../kernel/sysctl.js';
import { CriClient } from '../../cri/client.js';
import { LinuxPodTunnel } from '../../kernel/podtunnel/linux.js';
import { LinuxConntrack } from './conntrack.js';
import { ProxyController } from './controller.js';

export function createProxyController(deps: ControllerDeps): Controller {
  const iptablesDriver = new LinuxIptablesDriver({ family: 'ipv4' });
  const iptablesDriver6 = deps.options.enableIpv6 ? new LinuxIptablesDriver({ family: 'ipv6' }) : undefined;
  return new ProxyController(deps, {
    ipvs: new LinuxIpvs(),
    rtnl: new LinuxRtnl(),
    ipset: createLinuxIpset(),
    iptables: new IptablesReconciler(iptablesDriver),
    iptablesDriver,
    ...(iptablesDriver6 ? { iptables6: new IptablesReconciler(iptablesDriver6), iptablesDriver6 } : {}),
    sysctl: new ProcSysctl(),
    conntrack: new LinuxConntrack(),
    podTunnel: new LinuxPodTunnel(),
    // Connects on first use: only nodes with a local DSR endpoint talk to the runtime.
    sandboxes: new CriClient({ endpoint: deps.options.runtimeEndpoint }),
  });
}
