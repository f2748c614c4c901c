// Flag table, part 4: firewall, load balancer allocator, and the two flags
// older kube-router releases had (accepted here with a deprecation warning).
import type { FlagSpec } from './flag-spec.js';

export const FIREWALL_FLAGS: readonly FlagSpec[] = [
  { name: 'iptables-sync-period', key: 'iptablesSyncPeriod', kind: 'duration', default: 300_000, positive: true,
    group: 'firewall', built: true,
    usage: "The delay between iptables rule synchronizations (e.g. '5s', '1m'). Must be greater than 0." },
  { name: 'netpol-default-deny', key: 'netpolDefaultDeny', kind: 'bool', default: false, group: 'firewall',
    built: true,
    usage: "Reject traffic to and from local pods until their network policy chains are programmed (needs the node's pod CIDR)." },
  { name: 'use-nftables-for-netpol', key: 'useNftablesForNetpol', kind: 'bool', default: false, group: 'firewall',
    built: false, usage: '[Experimental] Use nftables instead of iptables for the network policy controller.' },
];

export const LBALLOC_FLAGS: readonly FlagSpec[] = [
  { name: 'loadbalancer-default-class', key: 'loadbalancerDefaultClass', kind: 'bool', default: true,
    group: 'lballoc', built: true, usage: 'Handle loadbalancer services without a class' },
  { name: 'loadbalancer-sync-period', key: 'loadbalancerSyncPeriod', kind: 'duration', default: 60_000,
    positive: true, group: 'lballoc', built: true,
    usage: "The delay between checking for missed services (e.g. '5s', '1m'). Must be greater than 0." },
];

export const DEPRECATED_FLAGS: readonly FlagSpec[] = [
  { name: 'cluster-cidr', key: 'clusterCidr', kind: 'cidrList', typeName: 'strings', default: [],
    group: 'deprecated', built: false,
    usage: 'CIDR range of pods in the cluster. It is used to identify traffic originating from and destinated to pods.',
    deprecated:
      'deprecated: removed from kube-router in v1.1.0, pod CIDRs come from node.spec.podCIDR(s); kube-router-ts still uses it as the pod range inside the cluster' },
  { name: 'config-sync-period', key: 'configSyncPeriod', kind: 'duration', default: 60_000, group: 'deprecated',
    built: false, usage: 'The delay between apiserver configuration synchronizations (e.g. \'5s\', \'1m\').',
    deprecated: 'deprecated: removed from kube-router in v0.2.0 (watches replaced polling); it is ignored' },
];
