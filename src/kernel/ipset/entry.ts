// Entry normalisation: desired members are turned into the exact text the
// kernel prints back in `ipset save`, so desired and actual compare as strings.

import { KubeRouterError } from '../../errors.js';
import { canonicalAddr, canonicalNet } from './addr.js';
import type { IpsetFamily, IpsetType } from './types.js';

const PROTOS = new Set(['tcp', 'udp', 'sctp', 'udplite']);

/** A dotted quad exactly as the kernel prints it (no leading zeros): already canonical. */
const CANONICAL_V4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function bad(setName: string, entry: string, why: string): KubeRouterError {
  return new KubeRouterError('KR_ERR_KERNEL', `ipset ${setName}: bad entry "${entry}": ${why}`, {
    call: 'ipset',
    object: setName,
    value: entry,
  });
}

function addr(setName: string, raw: string, text: string, family: IpsetFamily): string {
  const a = canonicalAddr(text);
  if (!a) throw bad(setName, raw, `"${text}" is not an IP address`);
  if (a.v6 !== (family === 'inet6')) throw bad(setName, raw, `address family is not ${family}`);
  return a.addr;
}

function net(setName: string, raw: string, text: string, family: IpsetFamily): string {
  const n = canonicalNet(text);
  if (!n) throw bad(setName, raw, `"${text}" is not an IP network`);
  if (n.v6 !== (family === 'inet6')) throw bad(setName, raw, `address family is not ${family}`);
  if (n.net.endsWith('/0')) throw bad(setName, raw, 'a /0 network is not accepted by hash:net (split it in two halves)');
  return n.net;
}

function port(setName: string, raw: string, text: string): string {
  const m = /^(?:([a-z]+):)?(\d{1,5})$/i.exec(text);
  if (!m) throw bad(setName, raw, `"${text}" is not [proto:]port`);
  const proto = (m[1] ?? 'tcp').toLowerCase();
  if (!PROTOS.has(proto)) throw bad(setName, raw, `unsupported protocol "${proto}"`);
  const p = Number(m[2]);
  if (p > 65535) throw bad(setName, raw, `port ${p} out of range`);
  return `${proto}:${p}`;
}

/**
 * The canonical form of one member, including a trailing ` nomatch` flag
 * (hash:net, hash:ip,port,net). `timeout N` is dropped. Throws a typed error
 * naming the set and the entry when it cannot be parsed.
 */
export function normalizeEntry(setName: string, type: IpsetType, family: IpsetFamily, raw: string): string {
  // Most members are pod IPs in inet hash:ip sets, already in canonical form.
  if (type === 'hash:ip' && family === 'inet' && CANONICAL_V4.test(raw)) return raw;
  const words = raw.trim().split(/\s+/);
  let nomatch = false;
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (i === 0) rest.push(w);
    else if (w === 'nomatch') nomatch = true;
    else if (w === 'timeout' && /^\d+$/.test(words[i + 1] ?? '')) i++;
    else throw bad(setName, raw, `unexpected "${w}"`);
  }
  const e = rest[0] ?? '';
  const parts = e.split(',');
  let out: string;
  switch (type) {
    case 'hash:ip':
      if (parts.length !== 1) throw bad(setName, raw, 'expected an IP address');
      out = addr(setName, raw, e, family);
      break;
    case 'hash:net':
      if (parts.length !== 1) throw bad(setName, raw, 'expected an IP network');
      out = net(setName, raw, e, family);
      break;
    case 'hash:ip,port':
      if (parts.length !== 2) throw bad(setName, raw, 'expected ip,[proto:]port');
      out = `${addr(setName, raw, parts[0], family)},${port(setName, raw, parts[1])}`;
      break;
    case 'hash:ip,port,ip':
      if (parts.length !== 3) throw bad(setName, raw, 'expected ip,[proto:]port,ip');
      out = `${addr(setName, raw, parts[0], family)},${port(setName, raw, parts[1])},${addr(setName, raw, parts[2], family)}`;
      break;
    case 'hash:ip,port,net':
      if (parts.length !== 3) throw bad(setName, raw, 'expected ip,[proto:]port,net');
      out = `${addr(setName, raw, parts[0], family)},${port(setName, raw, parts[1])},${net(setName, raw, parts[2], family)}`;
      break;
    case 'list:set':
      if (parts.length !== 1 || !/^[^\s]{1,31}$/.test(e)) throw bad(setName, raw, 'expected a set name');
      out = e;
      break;
  }
  if (nomatch) {
    if (type !== 'hash:net' && type !== 'hash:ip,port,net') throw bad(setName, raw, `nomatch is not supported by ${type}`);
    out += ' nomatch';
  }
  return out;
}

/** Normalises every entry of a set; throws on the first bad one. */
export function normalizeEntries(setName: string, type: IpsetType, family: IpsetFamily, entries: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const e of entries) out.add(normalizeEntry(setName, type, family, e));
  return out;
}
