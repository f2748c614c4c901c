// kube-router's routing node annotations, parsed with errors that name the
// node and the annotation (ObjectError). An invalid annotation is left out of
// the result (the rest of the node is used); callers log the errors.

import { canonicalIp, ipFamily, parseCidr } from '../../bgp/ip.js';
import type { IpFamily } from '../../bgp/types.js';
import { ObjectError } from '../../errors.js';
import type { Node } from '../../informers/types.js';
import {
  ANN_BGP_LOCAL_ADDRESSES,
  ANN_COMMUNITIES,
  ANN_CUSTOM_IMPORT_REJECT,
  ANN_NODE_ASN,
  ANN_PATH_PREPEND_AS,
  ANN_PATH_PREPEND_REPEAT,
  ANN_POD_CIDR,
  ANN_POD_CIDRS,
  ANN_RR_CLIENT,
  ANN_RR_SERVER,
  annotationField,
  nodeRef,
  type NodeRoutingAnnotations,
  type RoutingNode,
} from './model.js';
import { parsePeerAnnotations } from './peers-annotations.js';

/** An ObjectError about one annotation of a node. */
export function annotationError(nodeName: string, key: string, message: string, value?: string): ObjectError {
  return new ObjectError(nodeRef(nodeName), annotationField(key), message, value);
}

/**
 * Go's strconv.ParseUint(text, 0, bits), which kube-router uses for ASNs,
 * cluster ids and repeat counts: decimal, 0x hex, 0o / leading-0 octal, 0b
 * binary, '_' separators. Undefined when invalid or out of range.
 */
export function parseGoUint(text: string, bits: number): number | undefined {
  let s = text;
  let base = 10;
  if (/^0[xX]/.test(s)) [base, s] = [16, s.slice(2)];
  else if (/^0[oO]/.test(s)) [base, s] = [8, s.slice(2)];
  else if (/^0[bB]/.test(s)) [base, s] = [2, s.slice(2)];
  else if (/^0./.test(s)) [base, s] = [8, s.slice(1)];
  if (s.startsWith('_') || s.endsWith('_') || s.includes('__')) return undefined;
  s = s.replaceAll('_', '');
  const digits = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^\d+$/, 16: /^[0-9a-fA-F]+$/ }[base];
  if (s === '' || !digits?.test(s)) return undefined;
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  const value = BigInt(prefix + s);
  if (value >= 1n << BigInt(bits)) return undefined;
  return Number(value);
}

/** Comma-separated list with blanks trimmed (kube-router's stringToSlice keeps empty items: so do we). */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim());
}

/** A uint32 or an IPv4 address, as dotted IPv4 (gobgpd's cluster id form). */
export function parseClusterId(text: string): string | undefined {
  const n = parseGoUint(text.trim(), 32);
  if (n !== undefined) return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
  return ipFamily(text.trim()) === 'ipv4' ? text.trim() : undefined;
}

/** GoBGP's WellKnownCommunityNameMap, as "high:low". */
const WELL_KNOWN_COMMUNITIES: Record<string, number> = {
  internet: 0x00000000,
  'planned-shut': 0xffff0000,
  'accept-own': 0xffff0001,
  'route-filter-translated-v4': 0xffff0002,
  'route-filter-v4': 0xffff0003,
  'route-filter-translated-v6': 0xffff0004,
  'route-filter-v6': 0xffff0005,
  'llgr-stale': 0xffff0006,
  'no-llgr': 0xffff0007,
  blackhole: 0xffff029a,
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04,
};

/** kube-router's bgp.ValidateCommunity, rendered as "high:low"; undefined when invalid. */
export function parseCommunity(text: string): string | undefined {
  let value: number | undefined;
  if (/^\d+$/.test(text)) {
    value = Number(text) <= 0xffffffff ? Number(text) : undefined;
  } else {
    const m = /^(\d+):(\d+)$/.exec(text);
    if (m && Number(m[1]) <= 0xffff && Number(m[2]) <= 0xffff) value = Number(m[1]) * 0x10000 + Number(m[2]);
    else value = WELL_KNOWN_COMMUNITIES[text];
  }
  if (value === undefined) return undefined;
  return `${Math.floor(value / 0x10000)}:${value % 0x10000}`;
}

/** Parses the routing annotations of a node. Never throws. */
export function parseNodeAnnotations(node: Node): { annotations: NodeRoutingAnnotations; errors: ObjectError[] } {
  const name = node.metadata.name;
  const a = node.metadata.annotations ?? {};
  const errors: ObjectError[] = [];
  const out: NodeRoutingAnnotations = { communities: [], customImportReject: [] };
  const err = (key: string, message: string, value?: string): void => {
    errors.push(annotationError(name, key, message, value));
  };

  const asnText = a[ANN_NODE_ASN];
  if (asnText !== undefined) {
    const asn = parseGoUint(asnText.trim(), 32);
    if (asn === undefined || asn === 0) err(ANN_NODE_ASN, 'not a valid ASN (1-4294967295)', asnText);
    else out.asn = asn;
  }

  // kube-router: rr.server wins over rr.client.
  for (const key of [ANN_RR_SERVER, ANN_RR_CLIENT] as const) {
    const text = a[key];
    if (text === undefined) continue;
    const id = parseClusterId(text);
    if (id === undefined) err(key, 'cluster id must be a uint32 or an IPv4 address', text);
    else if (key === ANN_RR_SERVER) out.rrServer = id;
    else if (out.rrServer === undefined) out.rrClient = id;
  }

  const peers = parsePeerAnnotations(name, a);
  errors.push(...peers.errors);
  if (peers.peers.length > 0) out.peers = peers.peers;

  const localText = a[ANN_BGP_LOCAL_ADDRESSES];
  if (localText !== undefined) {
    const items = splitList(localText).filter((s) => s !== '');
    const bad = items.filter((s) => canonicalIp(s) === undefined);
    if (bad.length > 0 || items.length === 0) err(ANN_BGP_LOCAL_ADDRESSES, `not a comma-separated list of IP addresses (bad: ${bad.join(', ') || 'empty'})`, localText);
    else out.bgpLocalAddresses = [...new Set(items.map((s) => canonicalIp(s) as string))];
  }

  const commText = a[ANN_COMMUNITIES];
  if (commText !== undefined) {
    // kube-router skips each invalid community and keeps the others.
    for (const c of splitList(commText).filter((s) => s !== '')) {
      const parsed = parseCommunity(c);
      if (parsed === undefined) err(ANN_COMMUNITIES, `"${c}" is not a BGP community (uint32, AA:NN or a well-known name); skipped`, commText);
      else if (!out.communities.includes(parsed)) out.communities.push(parsed);
    }
  }

  const rejectText = a[ANN_CUSTOM_IMPORT_REJECT];
  if (rejectText !== undefined) {
    let family: IpFamily | undefined;
    for (const c of splitList(rejectText).filter((s) => s !== '')) {
      const cidr = parseCidr(c);
      if (!cidr) {
        err(ANN_CUSTOM_IMPORT_REJECT, `"${c}" is not a CIDR; skipped`, rejectText);
        continue;
      }
      family ??= cidr.family;
      if (cidr.family !== family) {
        err(ANN_CUSTOM_IMPORT_REJECT, `"${c}" is not ${family}: one IP family only (GoBGP limitation); skipped`, rejectText);
        continue;
      }
      const text = `${cidr.address}/${cidr.length}`;
      if (!out.customImportReject.includes(text)) out.customImportReject.push(text);
    }
  }

  const prependAs = a[ANN_PATH_PREPEND_AS];
  const prependN = a[ANN_PATH_PREPEND_REPEAT];
  if (prependAs !== undefined || prependN !== undefined) {
    if (prependAs === undefined || prependN === undefined) {
      const missing = prependAs === undefined ? ANN_PATH_PREPEND_AS : ANN_PATH_PREPEND_REPEAT;
      err(prependAs === undefined ? ANN_PATH_PREPEND_REPEAT : ANN_PATH_PREPEND_AS, `both ${ANN_PATH_PREPEND_AS} and ${ANN_PATH_PREPEND_REPEAT} must be set (${missing} is missing)`);
    } else {
      const asn = parseGoUint(prependAs.trim(), 32);
      const n = parseGoUint(prependN.trim(), 8);
      if (asn === undefined || asn === 0) err(ANN_PATH_PREPEND_AS, 'not a valid ASN to prepend', prependAs);
      else if (n === undefined || n === 0) err(ANN_PATH_PREPEND_REPEAT, 'repeat count must be 1-255', prependN);
      else out.pathPrepend = { asn, repeat: n };
    }
  }

  const cidrsKey = a[ANN_POD_CIDRS] !== undefined ? ANN_POD_CIDRS : a[ANN_POD_CIDR] !== undefined ? ANN_POD_CIDR : undefined;
  if (cidrsKey !== undefined) {
    const text = a[cidrsKey];
    const items = splitList(text).filter((s) => s !== '');
    const parsed = items.map(parseCidr);
    if (items.length === 0 || parsed.some((c) => c === undefined)) {
      err(cidrsKey, 'not a comma-separated list of CIDRs; the node spec is used instead', text);
    } else {
      out.podCidrs = normalizeCidrs(items);
    }
  }
  return { annotations: out, errors };
}

/** Canonical CIDRs, deduplicated, IPv4 first (input order kept within a family). */
export function normalizeCidrs(list: readonly string[]): string[] {
  const out: string[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const text of list) {
      const c = parseCidr(text);
      if (!c || c.family !== family) continue;
      const s = `${c.address}/${c.length}`;
      if (!out.includes(s)) out.push(s);
    }
  }
  return out;
}

function nodeIps(node: Node): { primaryIp?: string; ips: Record<IpFamily, string[]> } {
  const ips: Record<IpFamily, string[]> = { ipv4: [], ipv6: [] };
  const addrs = node.status?.addresses ?? [];
  let primaryIp: string | undefined;
  for (const type of ['InternalIP', 'ExternalIP'] as const) {
    for (const a of addrs.filter((x) => x.type === type)) {
      const ip = canonicalIp(a.address.trim());
      const f = ip === undefined ? undefined : ipFamily(ip);
      if (ip === undefined || f === undefined) continue;
      primaryIp ??= ip;
      if (!ips[f].includes(ip)) ips[f].push(ip);
    }
  }
  return primaryIp === undefined ? { ips } : { primaryIp, ips };
}

/**
 * The node as the routing controller uses it: annotations parsed, primary
 * IP, pod CIDRs (annotation, else spec.podCIDRs, else spec.podCIDR). Errors:
 * bad annotations, a node without an IP, a node without a pod CIDR.
 */
export function toRoutingNode(node: Node): { node: RoutingNode; errors: ObjectError[] } {
  const { annotations, errors } = parseNodeAnnotations(node);
  const name = node.metadata.name;
  const { primaryIp, ips } = nodeIps(node);
  if (primaryIp === undefined) {
    errors.push(new ObjectError(nodeRef(name), 'status.addresses', 'no InternalIP or ExternalIP: the node cannot be peered or routed to'));
  }
  let podCidrs = annotations.podCidrs ?? [];
  if (podCidrs.length === 0) {
    const spec = node.spec.podCIDRs && node.spec.podCIDRs.length > 0 ? node.spec.podCIDRs : node.spec.podCIDR ? [node.spec.podCIDR] : [];
    const bad = spec.filter((c) => parseCidr(c) === undefined);
    if (bad.length > 0) errors.push(new ObjectError(nodeRef(name), 'spec.podCIDRs', `not a CIDR: ${bad.join(', ')}`, bad.join(',')));
    podCidrs = normalizeCidrs(spec);
  }
  if (podCidrs.length === 0) {
    errors.push(
      new ObjectError(nodeRef(name), 'spec.podCIDR', `no pod CIDR (spec.podCIDR(s) or ${ANN_POD_CIDRS}): nothing is advertised or routed for this node`),
    );
  }
  const out: RoutingNode = { name, ips, podCidrs, annotations };
  if (primaryIp !== undefined) out.primaryIp = primaryIp;
  return { node: out, errors };
}
