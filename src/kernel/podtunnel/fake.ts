// An in-memory PodTunnel: one state per namespace path, the plan's ip lines
// interpreted the way ip(8) would. Namespaces must be registered (a missing
// one rejects like nsenter does).
import { KubeRouterError } from '../../errors.js';
import { compareAddr } from '../rtnl/inet.js';
import { ABSENT, TUNNEL_LINK, type PodTunnel, type PodTunnelPlan, type PodTunnelState } from './types.js';

export class FakePodTunnel implements PodTunnel {
  readonly netns = new Map<string, PodTunnelState>();
  writes = 0;
  reads = 0;

  addNetns(path: string): void {
    this.netns.set(path, { ...ABSENT, addresses: [], rpFilterAll: 1 });
  }

  private get(path: string): PodTunnelState {
    const s = this.netns.get(path);
    if (!s) throw new KubeRouterError('KR_ERR_KERNEL', `netns ${path}: nsenter: cannot open ${path}: No such file or directory`, { netns: path });
    return s;
  }

  async read(path: string): Promise<PodTunnelState> {
    this.reads++;
    const s = this.get(path);
    return { ...s, addresses: [...s.addresses] };
  }

  async write(path: string, plan: PodTunnelPlan): Promise<void> {
    this.writes++;
    const s = { ...this.get(path) };
    for (const line of plan.ip) {
      const w = line.split(' ');
      if (line === `link del ${TUNNEL_LINK}`) Object.assign(s, { present: false, local: '', up: false, addresses: [], rpFilterLink: -1 });
      else if (w[0] === 'link' && w[1] === 'add') Object.assign(s, { present: true, local: w[6], up: false, addresses: [], rpFilterLink: 1 });
      else if (w[0] === 'link' && w[1] === 'set') s.up = true;
      else if (w[0] === 'addr' && w[1] === 'add') s.addresses = [...s.addresses, w[2].split('/')[0]].sort(compareAddr);
      else if (w[0] === 'addr' && w[1] === 'del') s.addresses = s.addresses.filter((a) => a !== w[2].split('/')[0]);
    }
    for (const l of plan.rpFilterOff) {
      if (l === 'all') s.rpFilterAll = 0;
      else s.rpFilterLink = 0;
    }
    this.netns.set(path, s);
  }
}
