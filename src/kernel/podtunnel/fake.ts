// An in-memory PodTunnel: per namespace path, one state per family's link,
// the plan's ip lines interpreted the way ip(8) would. Namespaces must be
// registered (a missing one rejects like nsenter does).
import { KubeRouterError } from '../../errors.js';
import { compareAddr } from '../rtnl/inet.js';
import { ABSENT, tunnelLink, type PodTunnel, type PodTunnelPlan, type PodTunnelState, type TunnelFamily } from './types.js';

type NetnsState = Record<TunnelFamily, PodTunnelState>;

export class FakePodTunnel implements PodTunnel {
  readonly netns = new Map<string, NetnsState>();
  writes = 0;
  reads = 0;

  addNetns(path: string): void {
    // IPv4 `all` starts at 1 (a distribution default); IPv6 has no rp_filter.
    this.netns.set(path, { IPv4: { ...ABSENT, addresses: [], rpFilterAll: 1 }, IPv6: { ...ABSENT, addresses: [], rpFilterLink: 0, rpFilterAll: 0 } });
  }

  private get(path: string): NetnsState {
    const s = this.netns.get(path);
    if (!s) throw new KubeRouterError('KR_ERR_KERNEL', `netns ${path}: nsenter: cannot open ${path}: No such file or directory`, { netns: path });
    return s;
  }

  async read(path: string, family: TunnelFamily): Promise<PodTunnelState> {
    this.reads++;
    const s = this.get(path)[family];
    return { ...s, addresses: [...s.addresses] };
  }

  async write(path: string, plan: PodTunnelPlan): Promise<void> {
    this.writes++;
    const ns = this.get(path);
    const v6 = plan.family === 'IPv6';
    const link = tunnelLink(plan.family);
    const s = { ...ns[plan.family] };
    for (const line of plan.ip) {
      const w = line.split(' ');
      if (line === `link del ${link}`) Object.assign(s, { present: false, local: '', up: false, addresses: [], rpFilterLink: v6 ? 0 : -1 });
      else if (w[0] === 'link' && w[1] === 'add' && w[2] === link) Object.assign(s, { present: true, local: w[w.indexOf('local') + 1], up: false, addresses: [], rpFilterLink: v6 ? 0 : 1 });
      else if (w[0] === 'link' && w[1] === 'set' && w[2] === link) s.up = true;
      else if (w[0] === 'addr' && w[1] === 'add' && w[4] === link) s.addresses = [...s.addresses, w[2].split('/')[0]].sort(compareAddr);
      else if (w[0] === 'addr' && w[1] === 'del' && w[4] === link) s.addresses = s.addresses.filter((a) => a !== w[2].split('/')[0]);
      else throw new KubeRouterError('KR_ERR_KERNEL', `netns ${path}: fake ip cannot do '${line}'`, { netns: path });
    }
    for (const l of plan.rpFilterOff) {
      if (l === 'all') s.rpFilterAll = 0;
      else s.rpFilterLink = 0;
    }
    ns[plan.family] = s;
  }
}
