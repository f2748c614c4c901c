// PodTunnel in another network namespace through `nsenter --net=<path>`: a
// process cannot move one of its threads into a namespace from Node, and
// addresses cannot be written into another namespace over our own netlink
// socket, so one short process per pod change enters it (kube-router enters
// it in-process from Go). One exec reads (ip -j + rp_filter), one writes
// (ip -batch + rp_filter); a pod whose tunnel is already right costs one read
// on a full sync and nothing on incremental ones (the controller remembers).

import { KubeRouterError } from '../../errors.js';
import { canonicalAddr, compareAddr } from '../rtnl/inet.js';
import { execLocal, kernelError, type Exec } from '../exec.js';
import { tunnelLink, type PodTunnel, type PodTunnelPlan, type PodTunnelState, type TunnelFamily } from './types.js';

/** Reads the family's link as JSON, then (IPv4) the rp_filter of the link and of `all`; IPv6 has no rp_filter: `0 0`. */
function readScript(family: TunnelFamily): string {
  const link = tunnelLink(family);
  const rp = family === 'IPv6' ? 'echo 0; echo 0' : `cat /proc/sys/net/ipv4/conf/${link}/rp_filter 2>/dev/null || echo -1; cat /proc/sys/net/ipv4/conf/all/rp_filter`;
  return `ip -d -j addr show dev ${link} 2>/dev/null || echo '[]'; echo '--'; ${rp}`;
}

const WRITE_SCRIPT = 'ip -batch - && for l in "$@"; do echo 0 > /proc/sys/net/ipv4/conf/$l/rp_filter || exit 1; done';

interface IpJsonLink {
  ifname?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { local?: string } };
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

/** Parses readScript(family)'s output. Exported for the unit tests. */
export function parseTunnelRead(netns: string, out: string, family: TunnelFamily): PodTunnelState {
  const link = tunnelLink(family);
  const inet = family === 'IPv6' ? 'inet6' : 'inet';
  const [json, rp = ''] = out.split('\n--\n');
  let links: IpJsonLink[];
  try {
    links = JSON.parse(json.trim() === '' ? '[]' : json) as IpJsonLink[];
  } catch (e) {
    throw new KubeRouterError('KR_ERR_KERNEL', `netns ${netns}: cannot parse ip -j addr show dev ${link}: ${(e as Error).message}`, { call: 'ip -j addr show', netns });
  }
  const [rpLink, rpAll] = rp.trim().split(/\s+/).map(Number);
  const l = links.find((x) => x.ifname === link);
  if (!l) return { present: false, local: '', up: false, addresses: [], rpFilterLink: -1, rpFilterAll: Number.isFinite(rpAll) ? rpAll : -1 };
  const local = l.linkinfo?.info_data?.local;
  return {
    present: true,
    local: local && local !== 'any' ? canonicalAddr(local) : '',
    up: (l.flags ?? []).includes('UP'),
    addresses: (l.addr_info ?? []).filter((a) => a.family === inet && a.local && a.scope !== 'link').map((a) => canonicalAddr(a.local as string)).sort(compareAddr),
    rpFilterLink: Number.isFinite(rpLink) ? rpLink : -1,
    rpFilterAll: Number.isFinite(rpAll) ? rpAll : -1,
  };
}

export class LinuxPodTunnel implements PodTunnel {
  constructor(private readonly exec: Exec = execLocal) {}

  async read(netns: string, family: TunnelFamily): Promise<PodTunnelState> {
    const argv = ['nsenter', `--net=${netns}`, 'sh', '-c', readScript(family)];
    const res = await this.exec(argv, { timeoutMs: 10_000 });
    if (res.code !== 0) throw kernelError(argv, res, `netns ${netns}: reading ${tunnelLink(family)} failed (exit ${res.code}): ${res.stderr.trim()}`, { netns });
    return parseTunnelRead(netns, res.stdout, family);
  }

  async write(netns: string, plan: PodTunnelPlan): Promise<void> {
    if (plan.ip.length === 0 && plan.rpFilterOff.length === 0) return;
    const script = plan.ip.length > 0 ? WRITE_SCRIPT : WRITE_SCRIPT.replace('ip -batch - && ', '');
    const argv = ['nsenter', `--net=${netns}`, 'sh', '-c', script, 'sh', ...plan.rpFilterOff];
    const res = await this.exec(argv, { input: plan.ip.length > 0 ? plan.ip.join('\n') + '\n' : undefined, timeoutMs: 10_000 });
    if (res.code !== 0) {
      throw kernelError(argv, res, `netns ${netns}: ${tunnelLink(plan.family)} write failed (exit ${res.code}): ${res.stderr.trim()} [${plan.ip.join('; ')}]`, { netns });
    }
  }
}
