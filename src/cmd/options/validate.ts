// Checks that involve more than one value or a flag's meaning, matching what
// kube-router v2.11 rejects at startup (pkg/cmd/kube-router.go, the routing
// controller's ASN / peer / holdtime checks, netpol's node-port-range parser).
// Per-value type and bound checks happen while parsing (values.ts).
import { isIP } from 'node:net';
import { FlagError } from '../../errors.js';
import type { AgentOptions } from './types.js';
import { isIpAddress } from './values.js';

const NODE_PORT_RANGE = /^([0-9]+)[:-]([0-9]+)$/;

/** Private ranges kube-router accepts for --cluster-asn. */
export function isValidClusterAsn(asn: number): boolean {
  return (asn >= 64512 && asn <= 65535) || (asn >= 4200000000 && asn <= 4294967294);
}

/** kube-router's check on global peer ASNs (reserved values 0, 23456, 64000-64511, 65535-131071, 4294967295). */
export function isValidPeerAsn(asn: number): boolean {
  return (
    (asn >= 1 && asn <= 23455) ||
    (asn >= 23457 && asn <= 63999) ||
    (asn >= 64512 && asn <= 65534) ||
    (asn >= 131072 && asn <= 4199999999) ||
    (asn >= 4200000000 && asn <= 4294967294)
  );
}

/** Parses `a-b` / `a:b` into [a, b]; undefined when malformed (kube-router also wants a < b <= 65535). */
export function parseNodePortRange(text: string): [number, number] | undefined {
  const m = NODE_PORT_RANGE.exec(text);
  if (m === null) return undefined;
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (a > 65535 || b > 65535 || a >= b) return undefined;
  return [a, b];
}

export function validateOptions(o: AgentOptions, explicit: ReadonlySet<string>): void {
  if (!isValidClusterAsn(o.clusterAsn)) {
    throw new FlagError('--cluster-asn', String(o.clusterAsn),
      'an ASN in 64512-65535 or 4200000000-4294967294 (0 means 64512)');
  }
  validatePeers(o);

  if (parseNodePortRange(o.serviceNodePortRange) === undefined) {
    throw new FlagError('--service-node-port-range', o.serviceNodePortRange,
      'a port range "a-b" or "a:b" with a < b <= 65535, e.g. 30000-32767');
  }

  const svc = o.serviceClusterIpRange;
  const families = svc.map((c) => isIP(c.slice(0, c.indexOf('/'))));
  if (svc.length === 0 || svc.length > 2 || (svc.length === 2 && families[0] === families[1])) {
    throw new FlagError('--service-cluster-ip-range', svc.join(','),
      'one or two CIDRs, at most one per IP family (e.g. 10.96.0.0/12,fd00:10:96::/112)');
  }

  if (!o.enableIpv4 && !o.enableIpv6) {
    const flag = explicit.has('enable-ipv4') ? '--enable-ipv4' : '--enable-ipv6';
    throw new FlagError(flag, 'false', 'at least one of --enable-ipv4 and --enable-ipv6 to be true');
  }

  const rt = o.runtimeEndpoint.trim();
  if (rt !== '' && !/^(unix:\/\/|unix:)?\/\S*$/.test(rt)) {
    throw new FlagError('--runtime-endpoint', o.runtimeEndpoint, 'a unix socket path, e.g. unix:///run/containerd/containerd.sock (empty: containerd\'s)');
  }

  if (o.routerId !== '' && o.routerId !== 'generate' && isIP(o.routerId) !== 4) {
    throw new FlagError('--router-id', o.routerId, 'an IPv4 address, "generate" or empty');
  }
  for (const [flag, value, emptyOk] of [
    ['--health-addr', o.healthAddr, true],
    ['--metrics-addr', o.metricsAddr, true],
    ['--gobgp-admin-address', o.gobgpAdminAddress, false],
  ] as const) {
    if ((value !== '' || !emptyOk) && !isIpAddress(value)) {
      throw new FlagError(flag, value, emptyOk ? 'an IP address or empty (all interfaces)' : 'an IP address');
    }
  }
}

function validatePeers(o: AgentOptions): void {
  const ips = o.peerRouterIps.length;
  if (o.peerRouterAsns.length !== ips) {
    throw new FlagError('--peer-router-asns', o.peerRouterAsns.join(','),
      `one ASN per --peer-router-ips entry (got ${o.peerRouterAsns.length} ASNs for ${ips} IPs)`);
  }
  for (const asn of o.peerRouterAsns) {
    if (!isValidPeerAsn(asn)) {
      throw new FlagError('--peer-router-asns', o.peerRouterAsns.join(','),
        `non-reserved ASNs; ${asn} is reserved (0, 23456, 64000-64511, 65535-131071 and 4294967295 are)`);
    }
  }
  // kube-router: "The number of passwords/ports should either be zero, or one per peer router."
  if (o.peerRouterPasswords.length !== 0 && o.peerRouterPasswords.length !== ips) {
    throw new FlagError('--peer-router-passwords', `<${o.peerRouterPasswords.length} passwords>`,
      `zero passwords or one per --peer-router-ips entry (${ips}); use an empty item for a peer without one, e.g. "pw,,pw"`);
  }
  if (o.peerRouterPorts.length !== 0 && o.peerRouterPorts.length !== ips) {
    throw new FlagError('--peer-router-ports', o.peerRouterPorts.join(','),
      `zero ports or one per --peer-router-ips entry (${ips})`);
  }
}
