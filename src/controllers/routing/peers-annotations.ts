// External BGP peers declared on a node: the YAML `kube-router.io/peers` list
// (preferred, kube-router v2.7+) or the older index-aligned `peer.*` lists.
// Any error in the annotation in use drops all of that node's annotation
// peers (kube-router refuses the whole configuration too); the error names the
// node and the annotation.

import { parse as parseYaml } from 'yaml';
import { canonicalIp } from '../../bgp/ip.js';
import { isValidPeerAsn } from '../../cmd/options/validate.js';
import { errorMessage, ObjectError } from '../../errors.js';
import {
  ANN_PEER_ASNS,
  ANN_PEER_IPS,
  ANN_PEER_LOCAL_IPS,
  ANN_PEER_PASSWORDS,
  ANN_PEER_PORTS,
  ANN_PEERS,
  annotationField,
  nodeRef,
  type ExternalPeerConfig,
} from './model.js';

class PeerAnnotationError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** Strict standard base64 (Go's base64.StdEncoding), undefined when malformed. */
export function decodeBase64(text: string): string | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64').toString('utf8');
}

function uint(v: unknown, max: number): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max ? n : undefined;
}

function checkAsn(key: string, where: string, v: unknown): number {
  const asn = uint(v, 0xffffffff);
  if (asn === undefined) throw new PeerAnnotationError(key, `${where}: remote ASN ${JSON.stringify(v)} is not a number`);
  if (!isValidPeerAsn(asn)) throw new PeerAnnotationError(key, `${where}: reserved ASN ${asn} for a BGP peer`);
  return asn;
}

function checkIp(key: string, where: string, what: string, v: unknown): string {
  const ip = typeof v === 'string' ? canonicalIp(v.trim()) : undefined;
  if (ip === undefined) throw new PeerAnnotationError(key, `${where}: ${what} ${JSON.stringify(v)} is not an IP address`);
  return ip;
}

function checkPort(key: string, where: string, v: unknown): number {
  const port = uint(v, 65535);
  if (port === undefined || port === 0) throw new PeerAnnotationError(key, `${where}: port ${JSON.stringify(v)} is not 1-65535`);
  return port;
}

function checkPassword(key: string, where: string, v: unknown): string | undefined {
  if (typeof v !== 'string') throw new PeerAnnotationError(key, `${where}: password must be a base64 string`);
  if (v === '') return undefined;
  const pw = decodeBase64(v.trim());
  // Never echo the value: it is a secret.
  if (pw === undefined) throw new PeerAnnotationError(key, `${where}: password is not valid base64`);
  return pw === '' ? undefined : pw;
}

const YAML_KEYS = new Set(['remoteip', 'remoteasn', 'localip', 'password', 'port', 'bfd']);

function parseYamlPeers(text: string): ExternalPeerConfig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PeerAnnotationError(ANN_PEERS, `not valid YAML: ${errorMessage(err).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new PeerAnnotationError(ANN_PEERS, 'must be a YAML list of peers');
  return doc.map((item: unknown, i): ExternalPeerConfig => {
    const where = `peer ${i}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new PeerAnnotationError(ANN_PEERS, `${where}: not a mapping`);
    const m = item as Record<string, unknown>;
    const unknown = Object.keys(m).filter((k) => !YAML_KEYS.has(k));
    if (unknown.length > 0) throw new PeerAnnotationError(ANN_PEERS, `${where}: unknown field(s) ${unknown.join(', ')}`);
    if (m.remoteip === undefined || m.remoteip === null) throw new PeerAnnotationError(ANN_PEERS, `${where}: remoteip cannot be empty`);
    if (m.remoteasn === undefined || m.remoteasn === null) throw new PeerAnnotationError(ANN_PEERS, `${where}: remoteasn cannot be empty`);
    const peer: ExternalPeerConfig = {
      remoteIp: checkIp(ANN_PEERS, where, 'remoteip', m.remoteip),
      remoteAsn: checkAsn(ANN_PEERS, where, m.remoteasn),
    };
    if (m.localip !== undefined && m.localip !== null && m.localip !== '') peer.localIp = checkIp(ANN_PEERS, where, 'localip', m.localip);
    if (m.password !== undefined && m.password !== null) {
      const pw = checkPassword(ANN_PEERS, where, m.password);
      if (pw !== undefined) peer.password = pw;
    }
    if (m.port !== undefined && m.port !== null) peer.port = checkPort(ANN_PEERS, where, m.port);
    if (m.bfd !== undefined && m.bfd !== null) peer.bfd = parseBfd(where, m.bfd);
    return peer;
  });
}

function parseBfd(where: string, v: unknown): NonNullable<ExternalPeerConfig['bfd']> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PeerAnnotationError(ANN_PEERS, `${where}: bfd must be a mapping`);
  const m = v as Record<string, unknown>;
  const out: NonNullable<ExternalPeerConfig['bfd']> = { enabled: m.enabled === true };
  const fields = [
    ['port', 'port', 65535],
    ['detection_multiplier', 'detectionMultiplier', 255],
    ['required_min_rx_interval', 'requiredMinRxInterval', 0xffffffff],
    ['desired_min_tx_interval', 'desiredMinTxInterval', 0xffffffff],
  ] as const;
  for (const [yamlKey, key, max] of fields) {
    if (m[yamlKey] === undefined) continue;
    const n = uint(m[yamlKey], max);
    if (n === undefined) throw new PeerAnnotationError(ANN_PEERS, `${where}: bfd.${yamlKey} must be an integer 0-${max}`);
    out[key] = n;
  }
  return out;
}

function parseLegacyPeers(a: Record<string, string>): ExternalPeerConfig[] {
  const ipsText = a[ANN_PEER_IPS];
  const asnsText = a[ANN_PEER_ASNS];
  if (ipsText === undefined && asnsText === undefined) {
    const stray = [ANN_PEER_PASSWORDS, ANN_PEER_PORTS, ANN_PEER_LOCAL_IPS].find((k) => a[k] !== undefined);
    if (stray) throw new PeerAnnotationError(stray, `set without ${ANN_PEER_IPS} and ${ANN_PEER_ASNS}`);
    return [];
  }
  if (ipsText === undefined) throw new PeerAnnotationError(ANN_PEER_ASNS, `set without ${ANN_PEER_IPS}`);
  if (asnsText === undefined) throw new PeerAnnotationError(ANN_PEER_IPS, `set without ${ANN_PEER_ASNS}`);
  const split = (t: string | undefined): string[] => (t === undefined || t.trim() === '' ? [] : t.split(',').map((s) => s.trim()));
  const ips = split(ipsText);
  const asns = split(asnsText);
  const passwords = split(a[ANN_PEER_PASSWORDS]);
  const ports = split(a[ANN_PEER_PORTS]);
  const localIps = split(a[ANN_PEER_LOCAL_IPS]);
  if (ips.length !== asns.length) {
    throw new PeerAnnotationError(ANN_PEER_ASNS, `${asns.length} ASN(s) for ${ips.length} peer IP(s) in ${ANN_PEER_IPS}: the lists must be index-aligned`);
  }
  const aligned = [
    [ANN_PEER_PASSWORDS, passwords, 'passwords'],
    [ANN_PEER_PORTS, ports, 'ports'],
    [ANN_PEER_LOCAL_IPS, localIps, 'local IPs'],
  ] as const;
  for (const [key, list, what] of aligned) {
    if (list.length !== 0 && list.length !== ips.length) {
      throw new PeerAnnotationError(key, `${list.length} ${what} for ${ips.length} peer IP(s) in ${ANN_PEER_IPS}: give none or one per peer (blank items allowed)`);
    }
  }
  return ips.map((ipText, i): ExternalPeerConfig => {
    const where = `item ${i}`;
    const peer: ExternalPeerConfig = {
      remoteIp: checkIp(ANN_PEER_IPS, where, 'peer IP', ipText),
      remoteAsn: checkAsn(ANN_PEER_ASNS, where, asns[i]),
    };
    if (passwords.length > 0) {
      const pw = checkPassword(ANN_PEER_PASSWORDS, where, passwords[i]);
      if (pw !== undefined) peer.password = pw;
    }
    if (ports.length > 0 && ports[i] !== '') peer.port = checkPort(ANN_PEER_PORTS, where, ports[i]);
    if (localIps.length > 0 && localIps[i] !== '') peer.localIp = checkIp(ANN_PEER_LOCAL_IPS, where, 'local IP', localIps[i]);
    return peer;
  });
}

/** A node's annotation peers, or an error naming the node and the annotation (and no peers). */
export function parsePeerAnnotations(nodeName: string, a: Record<string, string>): { peers: ExternalPeerConfig[]; errors: ObjectError[] } {
  const errors: ObjectError[] = [];
  const fail = (key: string, message: string): { peers: ExternalPeerConfig[]; errors: ObjectError[] } => {
    errors.push(new ObjectError(nodeRef(nodeName), annotationField(key), `${message}; this node's external peers are skipped`));
    return { peers: [], errors };
  };
  try {
    if (a[ANN_PEERS] !== undefined) {
      const legacy = [ANN_PEER_IPS, ANN_PEER_ASNS, ANN_PEER_PASSWORDS, ANN_PEER_PORTS, ANN_PEER_LOCAL_IPS].filter((k) => a[k] !== undefined);
      if (legacy.length > 0) {
        errors.push(new ObjectError(nodeRef(nodeName), annotationField(legacy[0]), `ignored: ${ANN_PEERS} is set and takes precedence`));
      }
      return { peers: parseYamlPeers(a[ANN_PEERS]), errors };
    }
    return { peers: parseLegacyPeers(a), errors };
  } catch (err) {
    if (err instanceof PeerAnnotationError) return fail(err.key, err.message);
    throw err;
  }
}
