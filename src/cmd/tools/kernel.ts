// The kernel handles `dump` reads through: the Linux implementations on a
// node, fakes in the unit tests. Only read paths are ever used directly;
// writes go through dry-run.ts and are recorded, never applied.

import type { GobgpClient } from '../../bgp/client.js';
import { execLocal, type Exec } from '../../kernel/exec.js';
import { LinuxIpsetDriver } from '../../kernel/ipset/linux.js';
import type { IpsetDriver } from '../../kernel/ipset/types.js';
import { LinuxIptablesDriver } from '../../kernel/iptables/linux.js';
import type { IptablesDriver, IptablesFamily } from '../../kernel/iptables/types.js';
import { LinuxIpvs } from '../../kernel/ipvs/linux.js';
import type { Ipvs } from '../../kernel/ipvs/types.js';
import { LinuxRtnl } from '../../kernel/rtnl/linux.js';
import type { Rtnl } from '../../kernel/rtnl/types.js';

export interface ToolKernel {
  ipvs: () => Ipvs;
  rtnl: Rtnl;
  ipsetDriver: IpsetDriver;
  iptablesDriver: (family: IptablesFamily) => IptablesDriver;
  /** Runs iptables `-C` checks (pod egress). */
  exec: Exec;
  /** gobgpd's API (routing), undefined when not to be asked. */
  gobgp?: () => GobgpClient;
  close(): void;
}

export async function linuxToolKernel(gobgpAddress: string | undefined): Promise<ToolKernel> {
  let ipvs: LinuxIpvs | undefined;
  let gobgp: GobgpClient | undefined;
  const rtnl = new LinuxRtnl();
  const drivers = new Map<IptablesFamily, IptablesDriver>();
  // The gRPC client loads its proto files: only when routing is dumped.
  const { GobgpClient: Client } = gobgpAddress === undefined ? { GobgpClient: undefined } : await import('../../bgp/client.js');
  return {
    ipvs: () => (ipvs ??= new LinuxIpvs()),
    rtnl,
    ipsetDriver: new LinuxIpsetDriver(),
    iptablesDriver: (f) => {
      let d = drivers.get(f);
      if (!d) drivers.set(f, (d = new LinuxIptablesDriver({ family: f })));
      return d;
    },
    exec: execLocal,
    gobgp: Client && gobgpAddress !== undefined ? () => (gobgp ??= new Client({ address: gobgpAddress, timeoutMs: 3000 })) : undefined,
    close() {
      ipvs?.close();
      rtnl.close();
      gobgp?.close();
    },
  };
}
