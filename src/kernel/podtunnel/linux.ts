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
import { TUNNEL_LINK, type PodTunnel, type PodTunnelPlan, type PodTunnelState } from './types.js';

const READ_SCRIPT =
  `ip -d -j addr show dev ${TUNNEL_LINK} 2>/dev/null || echo '[]'; echo '--'; ` +
  `cat /proc/sys/net/ipv4/conf/${TUNNEL_LINK}/rp_filter 2>/dev/null || echo -1; cat /proc/sys/net/ipv4/conf/all/rp_filter`;

const WRITE_SCRIPT = 'ip -batch - && for l in "$@"; do echo 0 > /proc/sys/net/ipv4/conf/$l/rp_filter || exit 1; done';

interface IpJsonLink {
  ifname?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { local?: string } };
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** Parses READ_SCRIPT's output. Exported for the unit tests. */
export function parseTunnelRead(netns: string, out: string): PodTunnelState {
  const [json, rp = ''] = out.split('\n--\n');
  let links: IpJsonLink[];
  try {
    links = JSON.parse(json.trim() === '' ? '[]' : json) as IpJsonLink[];
  } catch (e) {
    throw new KubeRouterError('KR_ERR_KERNEL', `netns ${netns}: cannot parse ip -j addr show dev ${TUNNEL_LINK}: ${(e as Error).message}`, { call: 'ip -j addr show', netns });
  }
  const [rpLink, rpAll] = rp.trim().split(/\s+/).map(Number);
  const l = links.find((x) => x.ifname === TUNNEL_LINK);
  if (!l) return { present: false, local: '', up: false, addresses: [], rpFilterLink: -1, rpFilterAll: Number.isFinite(rpAll) ? rpAll : -1 };
  const local = l.linkinfo?.info_data?.local;
  return {
    present: true,
    local: local && local !== 'any' ? canonicalAddr(local) : '',
    up: (l.flags ?? []).includes('UP'),
    addresses: (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => canonicalAddr(a.local as string)).sort(compareAddr),
    rpFilterLink: Number.isFinite(rpLink) ? rpLink : -1,
    rpFilterAll: Number.isFinite(rpAll) ? rpAll : -1,
  };
}

export class LinuxPodTunnel implements PodTunnel {
  constructor(private readonly exec: Exec = execLocal) {}

  async read(netns: string): Promise<PodTunnelState> {
    const argv = ['nsenter', `--net=${netns}`, 'sh', '-c', READ_SCRIPT];
    const res = await this.exec(argv, { timeoutMs: 10_000 });
    if (res.code !== 0) throw kernelError(argv, res, `netns ${netns}: reading ${TUNNEL_LINK} failed (exit ${res.code}): ${res.stderr.trim()}`, { netns });
    return parseTunnelRead(netns, res.stdout);
  }

  async write(netns: string, plan: PodTunnelPlan): Promise<void> {
    if (plan.ip.length === 0 && plan.rpFilterOff.length === 0) return;
    const script = plan.ip.length > 0 ? WRITE_SCRIPT : WRITE_SCRIPT.replace('ip -batch - && ', '');
    const argv = ['nsenter', `--net=${netns}`, 'sh', '-c', script, 'sh', ...plan.rpFilterOff];
    const res = await this.exec(argv, { input: plan.ip.length > 0 ? plan.ip.join('\n') + '\n' : undefined, timeoutMs: 10_000 });
    if (res.code !== 0) {
      throw kernelError(argv, res, `netns ${netns}: ${TUNNEL_LINK} write failed (exit ${res.code}): ${res.stderr.trim()} [${plan.ip.join('; ')}]`, { netns });
    }
  }
}
