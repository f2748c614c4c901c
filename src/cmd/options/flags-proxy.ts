// Flag table, part 2: service proxy (IPVS) flags, as kube-router v2.11 registers them.
import type { FlagSpec } from './flag-spec.js';

const p = 'proxy' as const;
const TIMEOUT_TAIL = "in standard duration syntax (e.g. '5s', '1m'), default 0s preserves default system value (default: 0s)";

export const PROXY_FLAGS: readonly FlagSpec[] = [
  { name: 'ipvs-sync-period', key: 'ipvsSyncPeriod', kind: 'duration', default: 300_000, positive: true, group: p,
    built: true,
    usage: "The delay between ipvs config synchronizations (e.g. '5s', '1m', '2h22m'). Must be greater than 0." },
  { name: 'masquerade-all', key: 'masqueradeAll', kind: 'bool', default: false, group: p, built: true,
    usage: 'SNAT all traffic to cluster IP/node port.' },
  { name: 'nodeport-bindon-all-ip', key: 'nodeportBindonAllIp', kind: 'bool', default: false, group: p, built: true,
    usage: "For service of NodePort type create IPVS service that listens on all IP's of the node." },
  { name: 'hairpin-mode', key: 'hairpinMode', kind: 'bool', default: false, group: p, built: true,
    usage: 'Add iptables rules for every Service Endpoint to support hairpin traffic.' },
  { name: 'ipvs-graceful-termination', key: 'ipvsGracefulTermination', kind: 'bool', default: false, group: p,
    built: true, usage: 'Enables the experimental IPVS graceful terminaton capability' },
  { name: 'ipvs-graceful-period', key: 'ipvsGracefulPeriod', kind: 'duration', default: 30_000, positive: true,
    group: p, built: true,
    usage: "The graceful period before removing destinations from IPVS services (e.g. '5s', '1m', '2h22m'). Must be greater than 0." },
  { name: 'ipvs-permit-all', key: 'ipvsPermitAll', kind: 'bool', default: true, group: p, built: true,
    usage: "Enables rule to accept all incoming traffic to service VIP's on the node." },
  { name: 'excluded-cidrs', key: 'excludedCidrs', kind: 'cidrList', typeName: 'strings', default: [], group: p,
    built: true, usage: 'Excluded CIDRs are used to exclude IPVS rules from deletion.' },
  { name: 'runtime-endpoint', key: 'runtimeEndpoint', kind: 'string', default: '', group: p, built: true,
    usage: 'Path to CRI compatible container runtime socket (used for DSR mode). Currently known working with containerd.' },
  { name: 'service-tcp-timeout', key: 'serviceTcpTimeout', kind: 'duration', default: 0, minMs: 0, group: p,
    built: true, usage: `Specify TCP timeout for IPVS services ${TIMEOUT_TAIL}` },
  { name: 'service-tcpfin-timeout', key: 'serviceTcpfinTimeout', kind: 'duration', default: 0, minMs: 0, group: p,
    built: true, usage: `Specify TCP FIN timeout for IPVS services ${TIMEOUT_TAIL}` },
  { name: 'service-udp-timeout', key: 'serviceUdpTimeout', kind: 'duration', default: 0, minMs: 0, group: p,
    built: true, usage: `Specify UDP timeout for IPVS services ${TIMEOUT_TAIL}` },
];
