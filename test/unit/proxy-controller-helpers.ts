// A ProxyController over the fakes (cache, IPVS, rtnl, ipset, iptables,
// sysctl), with helpers to dump the IPVS table and count kernel mutations.

import pino from 'pino';
import { Registry } from 'prom-client';
import { defaultOptions } from '../../src/cmd/options/index.js';
import type { AgentOptions } from '../../src/cmd/options/types.js';
import { ProxyController } from '../../src/controllers/proxy/controller.js';
import type { ProxyKernel } from '../../src/controllers/proxy/kernel.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { Node } from '../../src/informers/types.js';
import { createFakeIpset, FakeIpsetKernel } from '../../src/kernel/ipset/fake.js';
import { createFakeIptables, type FakeIptablesKernel } from '../../src/kernel/iptables/fake.js';
import { linkFakeKernels } from '../../src/kernel/iptables/fake-link.js';
import { FakeIpvs } from '../../src/kernel/ipvs/fake.js';
import { renderDestination, renderService } from '../../src/kernel/ipvs/types.js';
import { FakeRtnl } from '../../src/kernel/rtnl/fake.js';
import { FakeSysctl } from '../../src/kernel/sysctl.js';
import { NODE, NODE_IP } from './proxy-fixtures.js';

export interface FakeKernels {
  kernel: ProxyKernel;
  ipvs: FakeIpvs;
  rtnl: FakeRtnl;
  ipsetKernel: FakeIpsetKernel;
  iptablesKernel: FakeIptablesKernel;
  sysctl: FakeSysctl;
}

export function fakeKernels(): FakeKernels {
  const ipvs = new FakeIpvs();
  const rtnl = new FakeRtnl();
  const eth0 = rtnl.addLink('eth0');
  void rtnl.addAddress(eth0.index, { address: NODE_IP, prefixLen: 24, scope: 0 });
  const ipsetKernel = new FakeIpsetKernel();
  const { ipset } = createFakeIpset(ipsetKernel);
  const { iptables, kernel: iptablesKernel } = createFakeIptables();
  linkFakeKernels(ipsetKernel, iptablesKernel);
  const sysctl = new FakeSysctl({
    'net.ipv4.vs.conntrack': 0,
    'net.ipv4.vs.expire_nodest_conn': 0,
    'net.ipv4.vs.expire_quiescent_template': 0,
    'net.ipv4.vs.conn_reuse_mode': 1,
    'net.ipv4.conf.all.arp_ignore': 0,
    'net.ipv4.conf.all.arp_announce': 0,
  });
  return { kernel: { ipvs, rtnl, ipset, iptables, iptablesDriver: iptablesKernel, sysctl }, ipvs, rtnl, ipsetKernel, iptablesKernel, sysctl };
}

/** Every kernel mutation the fakes saw so far. */
export function mutationCount(k: FakeKernels): number {
  return k.ipvs.mutations + k.rtnl.mutations + k.ipsetKernel.restores.length + k.iptablesKernel.restores.length + k.sysctl.writes.length;
}

export function nodeObject(): Node {
  return {
    metadata: { name: NODE, resourceVersion: '1' },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
  };
}

export function proxyOptions(over: Partial<AgentOptions> = {}): AgentOptions {
  return { ...defaultOptions(), hostnameOverride: NODE, serviceClusterIpRange: ['10.96.0.0/12'], clusterCidr: ['10.244.0.0/16'], ...over };
}

export function newController(cache: FakeSharedCache, k: FakeKernels, over: Partial<AgentOptions> = {}): ProxyController {
  return new ProxyController(
    { cache, options: proxyOptions(over), nodeName: NODE, logger: pino({ level: 'silent' }), metrics: new Registry() },
    k.kernel,
  );
}

/** `TCP 10.96.0.10:80 rr [-> 10.244.1.5:8080 ...]`, one line per service, sorted. */
export async function ipvsDump(ipvs: FakeIpvs): Promise<string[]> {
  const out: string[] = [];
  for (const s of await ipvs.listAll()) {
    const d = s.destinations.map((x) => renderDestination(x)).join(' ');
    out.push(`${renderService(s.service)} ${s.service.scheduler}${s.service.timeout ? ` p${s.service.timeout}` : ''}${d ? ` ${d}` : ''}`);
  }
  return out;
}
