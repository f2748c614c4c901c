// The proxy's fixed-size ipsets and iptables rules (kube-router-reference
// 3.3, 3.4): the sets hold the addresses, a constant set of rules refers to
// them, so the rules never grow with the number of services. Pure: builds
// the desired sets and tables; the controller applies them through the
// ipset/iptables reconcilers (one `ipset restore`, one
// `iptables-restore --noflush` per table).

import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IptablesDesired, JumpRule } from '../../kernel/iptables/types.js';
import {
  IPSET_LB_FW,
  IPSET_LB_SRC_IP,
  IPSET_LB_SRC_NET,
  IPSET_SVIP,
  IPSET_SVIP_PORT,
  type CompiledService,
  type ProxySetName,
} from './model.js';

export const IPSET_LOCAL_IPS = 'kube-router-local-ips';
export const CHAIN_SERVICES = 'KUBE-ROUTER-SERVICES';
export const CHAIN_HAIRPIN = 'KUBE-ROUTER-HAIRPIN';
/** mangle: DSR VIP:port -> fwmark (PREROUTING and OUTPUT). */
export const CHAIN_DSR_MARK = 'KUBE-ROUTER-DSR-MARK';
/** mangle: MSS clamp on the SYN-ACKs DSR pods send from the VIP (PREROUTING). */
export const CHAIN_DSR_MSS = 'KUBE-ROUTER-DSR-MSS';
export const PROXY_SETS: readonly string[] = [IPSET_SVIP, IPSET_SVIP_PORT, IPSET_LOCAL_IPS, IPSET_LB_FW, IPSET_LB_SRC_NET, IPSET_LB_SRC_IP];
export const PROXY_CHAINS: readonly string[] = [CHAIN_SERVICES, CHAIN_HAIRPIN, CHAIN_DSR_MARK, CHAIN_DSR_MSS];
/** The bridge DSR pods' replies come in from (the router's CNI bridge). */
export const POD_BRIDGE = 'kube-bridge';

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
  /** MTU of the node's primary link (default 1500): the DSR MSS clamp leaves room for the IP-in-IP header. */
  mtu?: number;
}

function hashSet(name: string, type: IpsetSet['type'], entries: Iterable<string>): IpsetSet {
  return { name, type, family: 'inet', options: { timeout: 0 }, entries: new Set(entries) };
}

function union(services: readonly CompiledService[], set: ProxySetName): Set<string> {
  const out = new Set<string>();
  for (const s of services) for (const e of s.ipsetEntries[set].inet) out.add(e);
  return out;
}

/**
 * kube-router-svip (hash:ip), kube-router-svip-prt (hash:ip,port),
 * kube-router-local-ips (hash:ip), and the loadBalancerSourceRanges sets
 * kube-router-lb-fw (hash:ip,port), kube-router-lb-src-net (hash:ip,port,net),
 * kube-router-lb-src-ip (hash:ip,port,ip); IPv4. Always all six, empty or
 * not, so the fixed rules that name them always load.
 */
export function desiredIpsets(input: TablesInput): IpsetSet[] {
  const local = input.localIPs.filter((a) => !a.includes(':'));
  return [
    hashSet(IPSET_SVIP, 'hash:ip', union(input.services, IPSET_SVIP)),
    hashSet(IPSET_SVIP_PORT, 'hash:ip,port', union(input.services, IPSET_SVIP_PORT)),
    hashSet(IPSET_LOCAL_IPS, 'hash:ip', local),
    hashSet(IPSET_LB_FW, 'hash:ip,port', union(input.services, IPSET_LB_FW)),
    hashSet(IPSET_LB_SRC_NET, 'hash:ip,port,net', union(input.services, IPSET_LB_SRC_NET)),
    hashSet(IPSET_LB_SRC_IP, 'hash:ip,port,ip', union(input.services, IPSET_LB_SRC_IP)),
  ];
}

/**
 * The loadBalancerSourceRanges rule: a packet to a restricted LB IP:port
 * (kube-router-lb-fw) whose source is neither in an allowed range
 * (kube-router-lb-src-net) nor the node itself (kube-router-lb-src-ip) is
 * dropped, as kube-proxy's KUBE-SOURCE-RANGES-FIREWALL drops it.
 */
export const SOURCE_RANGES_RULE =
  `-m set --match-set ${IPSET_LB_FW} dst,dst ` +
  `-m set ! --match-set ${IPSET_LB_SRC_NET} dst,dst,src ` +
  `-m set ! --match-set ${IPSET_LB_SRC_IP} dst,dst,src -j DROP`;

/**
 * filter: INPUT -> KUBE-ROUTER-SERVICES for destinations in kube-router-svip.
 * First the loadBalancerSourceRanges drop (always). Then, with
 * --ipvs-permit-all (default true), kube-router's IPVS firewall (its
 * setupIpvsFirewall): ICMP echo-request / destination-unreachable /
 * time-exceeded accepted, VIP:port pairs of kube-router-svip-prt accepted,
 * anything else to a VIP that is not a local address (a NodePort's node IP
 * is one) rejected with icmp-port-unreachable. One rule more than
 * kube-router, before the reject: packets of established connections are
 * accepted. A connection the node opens to its own VIP leaves FROM the VIP
 * (kube-router rewrites the VIP's local route to `src <node IP>`, we do
 * not), and IPVS undoes its NAT on the reply only after filter INPUT
 * (LOCAL_IN, priority 98), so the reply reaches this chain as VIP:<ephemeral
 * port> and would be rejected. With --ipvs-permit-all=false kube-router
 * leaves its chain empty: traffic to VIPs is not filtered by the proxy (only
 * the source-range drop remains here).
 */
export function desiredFilter(input: Pick<TablesInput, 'permitAll'>): IptablesDesired {
  const rules = [SOURCE_RANGES_RULE];
  if (input.permitAll) {
    rules.push(
      '-p icmp --icmp-type echo-request -j ACCEPT',
      '-p icmp --icmp-type destination-unreachable -j ACCEPT',
      '-p icmp --icmp-type time-exceeded -j ACCEPT',
      `-m set --match-set ${IPSET_SVIP_PORT} dst,dst -j ACCEPT`,
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      `-m set ! --match-set ${IPSET_LOCAL_IPS} dst -j REJECT --reject-with icmp-port-unreachable`,
    );
  }
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

/**
 * mangle for DSR (kube-router's rules, in our own chains): packets to a DSR
 * VIP:port get the tuple's fwmark (PREROUTING for clients elsewhere, OUTPUT
 * for the node itself) so the fwmark rule delivers them to IPVS; SYN-ACKs a
 * local DSR pod sends from the VIP get their MSS clamped to what fits in the
 * tunnel (MTU - outer IP header - inner IP header - TCP header), so the
 * client never sends a segment the director cannot encapsulate. No DSR
 * service: no chain, no jump.
 */
export function desiredMangle(input: Pick<TablesInput, 'services' | 'mtu'>): IptablesDesired {
  const marks: string[] = [];
  const mss: string[] = [];
  const clamp = (input.mtu ?? 1500) - 2 * 20 - 20;
  for (const s of input.services) {
    for (const d of s.dsr) {
      if (d.family !== 'IPv4') continue;
      const p = d.protocol.toLowerCase();
      marks.push(`-d ${d.vip}/32 -p ${p} -m ${p} --dport ${d.port} -j MARK --set-xmark 0x${d.fwmark.toString(16)}/0xffffffff`);
      if (d.protocol === 'TCP') {
        mss.push(`-s ${d.vip}/32 -i ${POD_BRIDGE} -p tcp -m tcp --sport ${d.port} --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${clamp}`);
      }
    }
  }
  if (marks.length === 0) return { table: 'mangle', chains: new Map(), jumps: [] };
  const chains = new Map<string, string[]>([[CHAIN_DSR_MARK, marks]]);
  const jumps: JumpRule[] = [
    { fromChain: 'PREROUTING', rule: `-j ${CHAIN_DSR_MARK}`, position: 'first', comment: 'kube-router dsr fwmark' },
    { fromChain: 'OUTPUT', rule: `-j ${CHAIN_DSR_MARK}`, position: 'first', comment: 'kube-router dsr fwmark' },
  ];
  if (mss.length > 0) {
    chains.set(CHAIN_DSR_MSS, mss);
    jumps.push({ fromChain: 'PREROUTING', rule: `-j ${CHAIN_DSR_MSS}`, position: 'first', comment: 'kube-router dsr mss' });
  }
  return { table: 'mangle', chains, jumps };
}
