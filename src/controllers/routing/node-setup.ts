// One-time (and idempotent) node setup of the routing controller, as
// kube-router's NetworkRoutingController.Run does before its loop:
// kube-bridge (created, up, MTU with --auto-mtu), bridge-nf-call-iptables=1
// (after `modprobe br_netfilter` when the key is missing), and the CNI conf
// with this node's pod CIDRs (--enable-cni). Also reads the node's addresses
// (connected subnets, MTU of the node IP's interface).

import { errorMessage, KubeRouterError } from '../../errors.js';
import type { Exec } from '../../kernel/exec.js';
import { AF_INET, AF_INET6 } from '../../kernel/rtnl/inet.js';
import type { Rtnl } from '../../kernel/rtnl/types.js';
import type { Sysctl } from '../../kernel/sysctl.js';
import { cniMtu, readCniTemplate, writeCniConf } from './cni-conf.js';

export const BRIDGE_NAME = 'kube-bridge';
export const BRIDGE_NF_KEY = 'net/bridge/bridge-nf-call-iptables';
export const BRIDGE_NF6_KEY = 'net/bridge/bridge-nf-call-ip6tables';

export interface NodeAddresses {
  /** `address/prefixLen` of every address on every link but lo and kube-bridge. */
  connectedSubnets: string[];
  /** MTU of the link holding the node IP; undefined when not found. */
  nodeIfMtu?: number;
}

export async function readNodeAddresses(rtnl: Rtnl, nodeIp: string | undefined): Promise<NodeAddresses> {
  const out: NodeAddresses = { connectedSubnets: [] };
  for (const link of await rtnl.listLinks()) {
    if (link.name === 'lo' || link.name === BRIDGE_NAME) continue;
    for (const a of await rtnl.listAddresses(link.index)) {
      if (a.family !== AF_INET && a.family !== AF_INET6) continue;
      out.connectedSubnets.push(`${a.address}/${a.prefixLen}`);
      if (nodeIp !== undefined && a.address === nodeIp) out.nodeIfMtu = link.mtu;
    }
  }
  return out;
}

/** kube-bridge exists, is up, and has `mtu` when given. */
export async function ensureBridge(rtnl: Rtnl, exec: Exec, mtu: number | undefined): Promise<void> {
  let link = await rtnl.getLink(BRIDGE_NAME);
  if (!link) {
    const r = await exec(['ip', 'link', 'add', BRIDGE_NAME, 'type', 'bridge']);
    link = await rtnl.getLink(BRIDGE_NAME);
    if (!link) throw new KubeRouterError('KR_ERR_KERNEL', `cannot create ${BRIDGE_NAME}: ${r.stderr.trim() || `exit ${r.code}`}`, { value: BRIDGE_NAME });
  }
  if (mtu !== undefined && link.mtu !== mtu) {
    const r = await exec(['ip', 'link', 'set', 'dev', BRIDGE_NAME, 'mtu', String(mtu)]);
    if (r.code !== 0) throw new KubeRouterError('KR_ERR_KERNEL', `cannot set the MTU of ${BRIDGE_NAME} to ${mtu}: ${r.stderr.trim()}`, { value: String(mtu) });
  }
  if (!link.up) await rtnl.setLinkUp(BRIDGE_NAME, true);
}

/** bridge-nf-call-iptables (and ip6tables with IPv6) = 1; loads br_netfilter when the key is missing. */
export async function ensureBridgeNetfilter(sysctl: Sysctl, exec: Exec, ipv6: boolean): Promise<void> {
  const keys = ipv6 ? [BRIDGE_NF_KEY, BRIDGE_NF6_KEY] : [BRIDGE_NF_KEY];
  try {
    await sysctl.get(BRIDGE_NF_KEY);
  } catch {
    await exec(['modprobe', 'br_netfilter']);
  }
  for (const key of keys) {
    try {
      await sysctl.ensure(key, 1);
    } catch (err) {
      throw new KubeRouterError('KR_ERR_KERNEL', `cannot set ${key}=1: ${errorMessage(err)}`, { field: key }, { cause: err });
    }
  }
}

export interface CniSetup {
  path: string;
  podCidrs: readonly string[];
  autoMtu: boolean;
  enableOverlay: boolean;
  nodeIfMtu?: number;
}

/** Writes the CNI conf when it changes; returns whether it wrote. */
export async function ensureCniConf(c: CniSetup): Promise<boolean> {
  const mtu = c.nodeIfMtu === undefined ? undefined : cniMtu({ autoMtu: c.autoMtu, enableOverlay: c.enableOverlay, interfaceMtu: c.nodeIfMtu });
  const template = await readCniTemplate(c.path);
  const { written } = await writeCniConf(c.path, template, { podCidrs: c.podCidrs, ...(mtu !== undefined ? { mtu } : {}) });
  return written;
}
