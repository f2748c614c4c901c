// The proxy's fixed-size ipsets and iptables rules (kube-router-reference
// 3.3, 3.4): the sets hold the addresses, a constant set of rules refers to
// them, so the rules never grow with the number of services. Pure: builds
// the desired sets and tables; the controller applies them through the
// ipset/iptables reconcilers (one `ipset restore`, one
// `iptables-restore --noflush` per table).

import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IptablesDesired, JumpRule } from '../../kernel/iptables/types.js';
import { IPSET_SVIP, IPSET_SVIP_PORT, type CompiledService } from './model.js';

export const IPSET_LOCAL_IPS = 'kube-router-local-ips';
export const CHAIN_SERVICES = 'KUBE-ROUTER-SERVICES';
export const CHAIN_HAIRPIN = 'KUBE-ROUTER-HAIRPIN';
export const PROXY_SETS: readonly string[] = [IPSET_SVIP, IPSET_SVIP_PORT, IPSET_LOCAL_IPS];
export const PROXY_CHAINS: readonly string[] = [CHAIN_SERVICES, CHAIN_HAIRPIN];

/** Chains the proxy owns (filter and nat). */
export function ownsProxyChain(chain: string): boolean {
  return PROXY_CHAINS.includes(chain);
}

export interface TablesInput {
  services: readonly CompiledService[];
  /** Node-local addresses (kube-router-local-ips). */
  localIPs: readonly string[];
  /** The node's primary IPv4, SNAT source of the masquerade rule; '' when unknown. */
  nodeIP: string;
  /** Pod CIDR excluded from masquerade ('' = masquerade every IPVS MASQ connection). */
  podCidr: string;
  masqueradeAll: boolean;
  permitAll: boolean;
}

function hashSet(name: string, type: IpsetSet['type'], entries: Iterable<string>): IpsetSet {
  return { name, type, family: 'inet', options: { timeout: 0 }, entries: new Set(entries) };
}

/** kube-router-svip (hash:ip), kube-router-svip-prt (hash:ip,port), kube-router-local-ips (hash:ip); IPv4. */
export function desiredIpsets(input: TablesInput): IpsetSet[] {
  const svip = new Set<string>();
  const prt = new Set<string>();
  for (const s of input.services) {
    for (const e of s.ipsetEntries[IPSET_SVIP].inet) svip.add(e);
    for (const e of s.ipsetEntries[IPSET_SVIP_PORT].inet) prt.add(e);
  }
  const local = input.localIPs.filter((a) => !a.includes(':'));
  return [hashSet(IPSET_SVIP, 'hash:ip', svip), hashSet(IPSET_SVIP_PORT, 'hash:ip,port', prt), hashSet(IPSET_LOCAL_IPS, 'hash:ip', local)];
}

/** filter: INPUT -> KUBE-ROUTER-SERVICES for service VIPs (--ipvs-permit-all semantics). */
export function desiredFilter(input: Pick<TablesInput, 'permitAll'>): IptablesDesired {
  const rules = [
    '-p icmp --icmp-type echo-request -j ACCEPT',
    '-p icmp --icmp-type destination-unreachable -j ACCEPT',
    '-p icmp --icmp-type time-exceeded -j ACCEPT',
    `-m set --match-set ${IPSET_SVIP_PORT} dst,dst -j ACCEPT`,
    input.permitAll ? '-j ACCEPT' : `-m set ! --match-set ${IPSET_LOCAL_IPS} dst -j REJECT --reject-with icmp-port-unreachable`,
  ];
  const jumps: JumpRule[] = [
    {
      fromChain: 'INPUT',
      rule: `-m set --match-set ${IPSET_SVIP} dst -j ${CHAIN_SERVICES}`,
      position: 'first',
      comment: 'allow input traffic to ipvs services',
    },
  ];
  return { table: 'filter', chains: new Map([[CHAIN_SERVICES, rules]]), jumps };
}

/** nat: hairpin SNAT chain and the ipvs-match masquerade rule in POSTROUTING. */
export function desiredNat(input: TablesInput): IptablesDesired {
  const hairpin: string[] = [];
  const seen = new Set<string>();
  for (const s of input.services) {
    for (const h of s.hairpin) {
      if (h.family !== 'IPv4') continue;
      const r = `-s ${h.endpoint}/32 -d ${h.endpoint}/32 -m ipvs --vaddr ${h.vip}/32 --vport ${h.port} -j SNAT --to-source ${h.vip}`;
      if (!seen.has(r)) {
        seen.add(r);
        hairpin.push(r);
      }
    }
  }
  const jumps: JumpRule[] = [
    { fromChain: 'POSTROUTING', rule: `-m ipvs --vdir ORIGINAL -j ${CHAIN_HAIRPIN}`, position: 'first', comment: 'kube-router hairpin' },
  ];
  if (input.nodeIP !== '') {
    const cidr = !input.masqueradeAll && input.podCidr !== '' ? ` ! -s ${input.podCidr} ! -d ${input.podCidr}` : '';
    jumps.push({
      fromChain: 'POSTROUTING',
      rule: `-m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ${cidr} -j SNAT --to-source ${input.nodeIP}`,
      position: 'first',
      comment: 'kube-router ipvs masquerade',
    });
  }
  return { table: 'nat', chains: new Map([[CHAIN_HAIRPIN, hairpin]]), jumps };
}
