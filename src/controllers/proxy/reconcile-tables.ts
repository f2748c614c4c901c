// The proxy's fixed-size ipsets and iptables rules (kube-router-reference
// 3.3, 3.4): the sets hold the addresses, a constant set of rules refers to
// them, so the rules never grow with the number of services. Pure: builds
// the desired sets and tables; the controller applies them through the
// ipset/iptables reconcilers (one `ipset restore`, one
// `iptables-restore --noflush` per table).

import type { IpsetSet } from '../../kernel/ipset/types.js';
import type { IpFamilyName } from './validate-ip.js';
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
const BASE_SETS: readonly string[] = [IPSET_SVIP, IPSET_SVIP_PORT, IPSET_LOCAL_IPS, IPSET_LB_FW, IPSET_LB_SRC_NET, IPSET_LB_SRC_IP];

/** kube-router's name of a set in a family: the IPv6 twin is `inet6:<name>` (kube-router-reference 3.4). */
export function familySet(name: string, family: IpFamilyName): string {
  return family === 'IPv6' ? `inet6:${name}` : name;
}

/** Every set the proxy owns, both families. */
export const PROXY_SETS: readonly string[] = [...BASE_SETS, ...BASE_SETS.map((n) => familySet(n, 'IPv6'))];
export const PROXY_CHAINS: readonly string[] = [CHAIN_SERVICES, CHAIN_HAIRPIN, CHAIN_DSR_MARK, CHAIN_DSR_MSS];
/** The bridge DSR pods' replies come in from (the router's CNI bridge). */
export const POD_BRIDGE = 'kube-bridge';

/** Chains the proxy owns (filter and nat). */
export function ownsProxyChain(chain: string): boolean {
  return PROXY_CHAINS.includes(chain);
}

export interface TablesInput {
  /** The family these sets and rules are for (default IPv4): iptables or ip6tables, `inet` or `inet6:` sets. */
  family?: IpFamilyName;
  services: readonly CompiledService[];
  /** Node-local addresses (kube-router-local-ips). */
  localIPs: readonly string[];
  /** The node's primary IP of the family, SNAT source of the masquerade rule; '' when unknown. */
  nodeIP: string;
  /** Pod CIDR of the family excluded from masquerade ('' = masquerade every IPVS MASQ connection). */
  podCidr: string;
  masqueradeAll: boolean;
  permitAll: boolean;
  /** MTU of the node's primary link (default 1500): the DSR MSS clamp leaves room for the IP-in-IP header. */
  mtu?: number;
}

function hashSet(name: string, family: IpFamilyName, type: IpsetSet['type'], entries: Iterable<string>): IpsetSet {
  return { name: familySet(name, family), type, family: family === 'IPv6' ? 'inet6' : 'inet', options: { timeout: 0 }, entries: new Set(entries) };
}

function union(services: readonly CompiledService[], set: ProxySetName, family: IpFamilyName): Set<string> {
  const out = new Set<string>();
  const fam = family === 'IPv6' ? 'inet6' : 'inet';
  for (const s of services) for (const e of s.ipsetEntries[set][fam]) out.add(e);
  return out;
}

/**
 * kube-router-svip (hash:ip), kube-router-svip-prt (hash:ip,port),
 * kube-router-local-ips (hash:ip), and the loadBalancerSourceRanges sets
 * kube-router-lb-fw (hash:ip,port), kube-router-lb-src-net (hash:ip,port,net),
 * kube-router-lb-src-ip (hash:ip,port,ip), of `input.family` (IPv6: the
 * `inet6:` twins). Always all six, empty or not, so the fixed rules that
 * name them always load.
 */
export function desiredIpsets(input: TablesInput): IpsetSet[] {
  const f = input.family ?? 'IPv4';
  const local = input.localIPs.filter((a) => a.includes(':') === (f === 'IPv6'));
  return [
    hashSet(IPSET_SVIP, f, 'hash:ip', union(input.services, IPSET_SVIP, f)),
    hashSet(IPSET_SVIP_PORT, f, 'hash:ip,port', union(input.services, IPSET_SVIP_PORT, f)),
    hashSet(IPSET_LOCAL_IPS, f, 'hash:ip', local),
    hashSet(IPSET_LB_FW, f, 'hash:ip,port', union(input.services, IPSET_LB_FW, f)),
    hashSet(IPSET_LB_SRC_NET, f, 'hash:ip,port,net', union(input.services, IPSET_LB_SRC_NET, f)),
    hashSet(IPSET_LB_SRC_IP, f, 'hash:ip,port,ip', union(input.services, IPSET_LB_SRC_IP, f)),
  ];
}

/**
 * The loadBalancerSourceRanges rule: a packet to a restricted LB IP:port
 * (kube-router-lb-fw) whose source is neither in an allowed range
 * (kube-router-lb-src-net) nor the node itself (kube-router-lb-src-ip) is
 * dropped, as kube-proxy's KUBE-SOURCE-RANGES-FIREWALL drops it.
 */
export function sourceRangesRule(family: IpFamilyName = 'IPv4'): string {
  return (
    `-m set --match-set ${familySet(IPSET_LB_FW, family)} dst,dst ` +
    `-m set ! --match-set ${familySet(IPSET_LB_SRC_NET, family)} dst,dst,src ` +
    `-m set ! --match-set ${familySet(IPSET_LB_SRC_IP, family)} dst,dst,src -j DROP`
  );
}
export const SOURCE_RANGES_RULE = sourceRangesRule('IPv4');

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
export function desiredFilter(input: Pick<TablesInput, 'permitAll' | 'family'>): IptablesDesired {
  const f = input.family ?? 'IPv4';
  const rules = [sourceRangesRule(f)];
  if (input.permitAll) {
    // IPv6: the same ICMPv6 types (kube-router's ip6tables twin); neighbour
    // discovery goes to link-local or multicast addresses, never to a VIP.
    const icmp = f === 'IPv6' ? '-p ipv6-icmp -m icmp6 --icmpv6-type' : '-p icmp --icmp-type';
    rules.push(
      `${icmp} echo-request -j ACCEPT`,
      `${icmp} destination-unreachable -j ACCEPT`,
      `${icmp} time-exceeded -j ACCEPT`,
      ...(f === 'IPv6' ? [`${icmp} packet-too-big -j ACCEPT`] : []),
      `-m set --match-set ${familySet(IPSET_SVIP_PORT, f)} dst,dst -j ACCEPT`,
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      `-m set ! --match-set ${familySet(IPSET_LOCAL_IPS, f)} dst -j REJECT --reject-with ${f === 'IPv6' ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'}`,
    );
  }
  const jumps: JumpRule[] = [
    {
      fromChain: 'INPUT',
      rule: `-m set --match-set ${familySet(IPSET_SVIP, f)} dst -j ${CHAIN_SERVICES}`,
      position: 'first',
      comment: 'allow input traffic to ipvs services',
    },
  ];
  return { table: 'filter', chains: new Map([[CHAIN_SERVICES, rules]]), jumps };
}

/** nat: hairpin SNAT chain and the ipvs-match masquerade rule in POSTROUTING (of `input.family`). */
export function desiredNat(input: TablesInput): IptablesDesired {
  const f = input.family ?? 'IPv4';
  const host = f === 'IPv6' ? 128 : 32;
  const hairpin: string[] = [];
  const seen = new Set<string>();
  for (const s of input.services) {
    for (const h of s.hairpin) {
      if (h.family !== f) continue;
      const r = `-s ${h.endpoint}/${host} -d ${h.endpoint}/${host} -m ipvs --vaddr ${h.vip}/${host} --vport ${h.port} -j SNAT --to-source ${h.vip}`;
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
 * mangle for DSR (kube-router's rules, in our own chains), of `input.family`
 * (iptables or ip6tables): packets to a DSR VIP:port get the tuple's fwmark
 * (PREROUTING for clients elsewhere, OUTPUT for the node itself) so the
 * fwmark rule delivers them to IPVS; SYN-ACKs a local DSR pod sends from the
 * VIP get their MSS clamped to what fits in the tunnel (MTU - outer IP header
 * - inner IP header - TCP header: 20+20+20 in IPv4, 40+40+20 in IPv6), so the
 * client never sends a segment the director cannot encapsulate. No DSR
 * service of the family: no chain, no jump.
 */
export function desiredMangle(input: Pick<TablesInput, 'services' | 'mtu' | 'family'>): IptablesDesired {
  const f = input.family ?? 'IPv4';
  const marks: string[] = [];
  const mss: string[] = [];
  const ipHeader = f === 'IPv6' ? 40 : 20;
  const clamp = (input.mtu ?? 1500) - 2 * ipHeader - 20;
  const host = f === 'IPv6' ? 128 : 32;
  for (const s of input.services) {
    for (const d of s.dsr) {
      if (d.family !== f) continue;
      const p = d.protocol.toLowerCase();
      marks.push(`-d ${d.vip}/${host} -p ${p} -m ${p} --dport ${d.port} -j MARK --set-xmark 0x${d.fwmark.toString(16)}/0xffffffff`);
      if (d.protocol === 'TCP') {
        mss.push(`-s ${d.vip}/${host} -i ${POD_BRIDGE} -p tcp -m tcp --sport ${d.port} --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${clamp}`);
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
