// Parsing of a NetworkPolicy's peers and ports into set specs and port
// matches, with the API's validation (an invalid field throws a FieldError
// naming it; the policy is then compiled fail-closed by compile-policy.ts).

import { canonicalNet } from '../../kernel/ipset/addr.js';
import type { LabelSelector, NetworkPolicyPeer, NetworkPolicyPort, Protocol } from '../../informers/types.js';
import type { Family } from './names.js';
import { compileSelector, SelectorError, type CompiledSelector } from './selectors.js';
import type { NamespaceScope, PodGroup, SetSpec } from './model.js';

export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly value?: string,
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

export function selectorAt(field: string, sel: LabelSelector | undefined): CompiledSelector {
  try {
    return compileSelector(sel);
  } catch (e) {
    if (e instanceof SelectorError) throw new FieldError(`${field}.${e.field}`, e.message, e.value);
    throw e;
  }
}

export function podGroup(scope: NamespaceScope, pods: CompiledSelector): PodGroup {
  const s = 'namespace' in scope ? `ns=${scope.namespace}` : `nssel=${scope.selector.canonical}`;
  return { scope, pods, key: `${s}|pods=${pods.canonical}` };
}

/** Every pod of every namespace (egress named ports towards "all destinations"). */
export function allPodsGroup(): PodGroup {
  return podGroup({ selector: compileSelector({}) }, compileSelector({}));
}

export function podsSet(group: PodGroup): SetSpec {
  return { kind: 'pods', key: `pods:${group.key}`, group };
}

export function namedPortSet(group: PodGroup, port: string, protocol: Protocol): SetSpec {
  return { kind: 'namedPort', key: `named:${port}/${protocol}:${group.key}`, group, port, protocol };
}

/** A peer: all addresses, a pod group, or an ipBlock (one family). */
export type Peer = { kind: 'all' } | { kind: 'pods'; group: PodGroup; set: SetSpec } | { kind: 'ipBlock'; family: Family; set: SetSpec };

/** A port match: all traffic, all ports of a protocol, a numeric port (range), or a named port. */
export type PortMatch =
  | { kind: 'all' }
  | { kind: 'proto'; protocol: Protocol }
  | { kind: 'number'; protocol: Protocol; port: number; endPort: number }
  | { kind: 'named'; protocol: Protocol; name: string };

const ZERO_HALVES: Record<Family, [string, string]> = {
  ipv4: ['0.0.0.0/1', '128.0.0.0/1'],
  ipv6: ['::/1', '8000::/1'],
};

/** Splits a /0 into two /1 halves (hash:net cannot hold /0), as kube-router does. */
export function netEntries(net: string, family: Family): string[] {
  return net.endsWith('/0') ? [...ZERO_HALVES[family]] : [net];
}

function parseNet(field: string, text: unknown): { net: string; family: Family; bits: number } {
  if (typeof text !== 'string' || !text.includes('/')) throw new FieldError(field, 'not a CIDR', String(text));
  const n = canonicalNet(text.trim());
  if (!n) throw new FieldError(field, 'not a CIDR', text);
  const family: Family = n.v6 ? 'ipv6' : 'ipv4';
  const bits = n.net.includes('/') ? Number(n.net.slice(n.net.indexOf('/') + 1)) : n.v6 ? 128 : 32;
  return { net: n.net.includes('/') ? n.net : `${n.net}/${bits}`, family, bits };
}

function within(inner: string, innerBits: number, outer: string, outerBits: number): boolean {
  if (innerBits < outerBits) return false;
  const addr = inner.slice(0, inner.indexOf('/'));
  const masked = canonicalNet(`${addr}/${outerBits}`);
  const o = canonicalNet(outer);
  return !!masked && !!o && masked.net === o.net;
}

export function parsePeer(field: string, peer: NetworkPolicyPeer, policyNamespace: string): Peer {
  if (!peer || typeof peer !== 'object') throw new FieldError(field, 'not an object');
  if (peer.ipBlock) {
    if (peer.podSelector || peer.namespaceSelector) {
      throw new FieldError(field, 'ipBlock cannot be combined with podSelector or namespaceSelector');
    }
    const c = parseNet(`${field}.ipBlock.cidr`, peer.ipBlock.cidr);
    const except = (peer.ipBlock.except ?? []).map((e, i) => {
      const f = `${field}.ipBlock.except[${i}]`;
      const x = parseNet(f, e);
      if (x.family !== c.family) throw new FieldError(f, `not of the family of ${c.net}`, String(e));
      if (!within(x.net, x.bits, c.net, c.bits) || x.bits === c.bits) throw new FieldError(f, `not strictly within ${c.net}`, String(e));
      return x.net;
    });
    const ex = [...new Set(except)].sort();
    return {
      kind: 'ipBlock',
      family: c.family,
      set: { kind: 'ipBlock', key: `net:${c.net}!${ex.join(',')}`, family: c.family, cidr: c.net, except: ex },
    };
  }
  if (!peer.podSelector && !peer.namespaceSelector) {
    throw new FieldError(field, 'a peer needs podSelector, namespaceSelector or ipBlock');
  }
  const scope: NamespaceScope = peer.namespaceSelector
    ? { selector: selectorAt(`${field}.namespaceSelector`, peer.namespaceSelector) }
    : { namespace: policyNamespace };
  const group = podGroup(scope, selectorAt(`${field}.podSelector`, peer.podSelector));
  return { kind: 'pods', group, set: podsSet(group) };
}

const PROTOCOLS = new Set<Protocol>(['TCP', 'UDP', 'SCTP']);
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function portNumber(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new FieldError(field, 'not a port number (1-65535)', String(v));
  return v;
}

export function parsePort(field: string, p: NetworkPolicyPort): PortMatch {
  if (!p || typeof p !== 'object') throw new FieldError(field, 'not an object');
  const protocol = (p.protocol ?? 'TCP') as Protocol;
  if (!PROTOCOLS.has(protocol)) throw new FieldError(`${field}.protocol`, 'unsupported protocol (TCP, UDP or SCTP)', String(p.protocol));
  let port: unknown = p.port;
  if (typeof port === 'string' && /^\d+$/.test(port)) port = Number(port);
  if (port === undefined || port === null) {
    if (p.endPort !== undefined) throw new FieldError(`${field}.endPort`, 'endPort needs a numeric port', String(p.endPort));
    return { kind: 'proto', protocol };
  }
  if (typeof port === 'string') {
    if (port.length > 15 || !PORT_NAME.test(port) || !/[a-z]/.test(port)) throw new FieldError(`${field}.port`, 'not a port name', port);
    if (p.endPort !== undefined) throw new FieldError(`${field}.endPort`, 'endPort cannot be used with a named port', String(p.endPort));
    return { kind: 'named', protocol, name: port };
  }
  const n = portNumber(`${field}.port`, port);
  let end = n;
  if (p.endPort !== undefined) {
    end = portNumber(`${field}.endPort`, p.endPort);
    if (end < n) throw new FieldError(`${field}.endPort`, `endPort must not be below port ${n}`, String(p.endPort));
  }
  return { kind: 'number', protocol, port: n, endPort: end };
}
