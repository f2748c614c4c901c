// Path codec: BgpPath <-> apipb.Path with Any-packed NLRI and attributes.
// Together with codec-config.ts and client.ts, the only code that knows the
// protobuf shapes. Any values use proto-loader's json form
// ({'@type': 'type.googleapis.com/apipb.X', ...fields}); protobufjs packs and
// unpacks them against the same loaded root (see client.ts options).
import { KubeRouterError } from '../errors.js';
import { canonicalIp, ipFamily, parseCidr } from './ip.js';
import type { AsSegment, AsSegmentType, BgpPath, IpFamily, Origin } from './types.js';
import type { WireAny, WireFamily, WirePath } from './wire.js';

const TYPE_PREFIX = 'type.googleapis.com/apipb.';

export const ANY = {
  origin: `${TYPE_PREFIX}OriginAttribute`,
  nextHop: `${TYPE_PREFIX}NextHopAttribute`,
  asPath: `${TYPE_PREFIX}AsPathAttribute`,
  med: `${TYPE_PREFIX}MultiExitDiscAttribute`,
  localPref: `${TYPE_PREFIX}LocalPrefAttribute`,
  communities: `${TYPE_PREFIX}CommunitiesAttribute`,
  mpReach: `${TYPE_PREFIX}MpReachNLRIAttribute`,
  mpUnreach: `${TYPE_PREFIX}MpUnreachNLRIAttribute`,
  ipPrefix: `${TYPE_PREFIX}IPAddressPrefix`,
} as const;

const ORIGINS: readonly Origin[] = ['igp', 'egp', 'incomplete'];

const SEGMENT_TYPES: Record<AsSegmentType, string> = {
  'as-set': 'AS_SET',
  'as-sequence': 'AS_SEQUENCE',
  'as-confed-sequence': 'AS_CONFED_SEQUENCE',
  'as-confed-set': 'AS_CONFED_SET',
};

/** Well-known communities (RFC 1997) accepted by name. */
const WELL_KNOWN_COMMUNITIES: Record<string, number> = {
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
};

export function wireFamily(family: IpFamily): WireFamily {
  return { afi: family === 'ipv4' ? 'AFI_IP' : 'AFI_IP6', safi: 'SAFI_UNICAST' };
}

/** Our family for a wire Family; undefined for anything but IPv4/IPv6 unicast. */
export function familyFromWire(f: WireFamily | null | undefined): IpFamily | undefined {
  if (!f) return undefined;
  const unicast = f.safi === 'SAFI_UNICAST' || f.safi === 1;
  if (!unicast) return undefined;
  if (f.afi === 'AFI_IP' || f.afi === 1) return 'ipv4';
  if (f.afi === 'AFI_IP6' || f.afi === 2) return 'ipv6';
  return undefined;
}

function bgpError(message: string, value: string): KubeRouterError {
  return new KubeRouterError('KR_ERR_BGP', message, { value });
}

/** '65000:100', a decimal number or a well-known name -> the 32-bit value. */
export function encodeCommunity(text: string): number {
  const known = WELL_KNOWN_COMMUNITIES[text.toLowerCase()];
  if (known !== undefined) return known;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (m) {
    const high = Number(m[1]);
    const low = Number(m[2]);
    if (high <= 0xffff && low <= 0xffff) return ((high << 16) | low) >>> 0;
  } else if (/^\d{1,10}$/.test(text) && Number(text) <= 0xffffffff) {
    return Number(text);
  }
  throw bgpError(`invalid BGP community "${text}": expected "<0-65535>:<0-65535>", a 32-bit number or a well-known name`, text);
}

export function decodeCommunity(value: number): string {
  return `${(value >>> 16) & 0xffff}:${value & 0xffff}`;
}

/** Encodes a path for AddPath / DeletePath. Throws KR_ERR_BGP on a bad prefix or next hop. */
export function encodePath(p: BgpPath): WirePath {
  const cidr = parseCidr(p.prefix);
  if (!cidr) throw bgpError(`invalid prefix "${p.prefix}"`, p.prefix);
  if (cidr.family !== p.family) throw bgpError(`prefix ${p.prefix} is not ${p.family}`, p.prefix);
  const nextHop = canonicalIp(p.nextHop);
  if (nextHop === undefined || ipFamily(nextHop) !== p.family) {
    throw bgpError(`invalid ${p.family} next hop "${p.nextHop}" for ${p.prefix}`, p.nextHop);
  }
  const nlri: WireAny = { '@type': ANY.ipPrefix, prefix_len: cidr.length, prefix: cidr.address };
  const pattrs: WireAny[] = [{ '@type': ANY.origin, origin: ORIGINS.indexOf(p.origin) }];
  if (p.family === 'ipv4') {
    pattrs.push({ '@type': ANY.nextHop, next_hop: nextHop });
  } else {
    // gobgpd takes the next hop of anything but IPv4 unicast from MP_REACH_NLRI.
    pattrs.push({ '@type': ANY.mpReach, family: wireFamily('ipv6'), next_hops: [nextHop], nlris: [{ ...nlri }] });
  }
  if (p.asPath && p.asPath.length > 0) {
    pattrs.push({
      '@type': ANY.asPath,
      segments: p.asPath.map((s) => ({ type: SEGMENT_TYPES[s.type], numbers: s.asns })),
    });
  }
  if (p.med !== undefined) pattrs.push({ '@type': ANY.med, med: p.med });
  if (p.localPref !== undefined) pattrs.push({ '@type': ANY.localPref, local_pref: p.localPref });
  if (p.communities && p.communities.length > 0) {
    pattrs.push({ '@type': ANY.communities, communities: p.communities.map(encodeCommunity) });
  }
  return { family: wireFamily(p.family), nlri, pattrs, is_withdraw: p.isWithdraw };
}

function anyType(a: WireAny | null | undefined): string | undefined {
  return a?.['@type'];
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function decodePrefix(a: WireAny | null | undefined): string | undefined {
  if (anyType(a) !== ANY.ipPrefix || !a) return undefined;
  const ip = canonicalIp(str(a.prefix));
  if (ip === undefined) return undefined;
  return `${ip}/${num(a.prefix_len)}`;
}

/** gobgpd's "no neighbor" renderings of a local path's source. */
function localNeighbor(ip: string): boolean {
  return ip === '' || ip === '<nil>' || ip === '0.0.0.0' || ip === '::';
}

const SEGMENT_BY_WIRE: Record<string, AsSegmentType> = {
  AS_SET: 'as-set',
  AS_SEQUENCE: 'as-sequence',
  AS_CONFED_SEQUENCE: 'as-confed-sequence',
  AS_CONFED_SET: 'as-confed-set',
  1: 'as-set',
  2: 'as-sequence',
  3: 'as-confed-sequence',
  4: 'as-confed-set',
};

function decodeSegmentType(t: unknown): AsSegmentType {
  return SEGMENT_BY_WIRE[String(t)] ?? 'as-sequence';
}

/**
 * Decodes a path from ListPath / WatchEvent. Returns undefined for anything
 * but an IPv4/IPv6 unicast prefix (the agent negotiates nothing else).
 */
export function decodePath(w: WirePath): BgpPath | undefined {
  let prefix = decodePrefix(w.nlri);
  let family = familyFromWire(w.family);
  let nextHop = '';
  let origin: Origin = 'igp';
  const out: Partial<BgpPath> = {};
  for (const a of w.pattrs ?? []) {
    switch (anyType(a)) {
      case ANY.origin:
        origin = ORIGINS[num(a.origin)] ?? 'igp';
        break;
      case ANY.nextHop:
        nextHop = canonicalIp(str(a.next_hop)) ?? '';
        break;
      case ANY.mpReach: {
        const hops = Array.isArray(a.next_hops) ? (a.next_hops as unknown[]) : [];
        if (hops.length > 0) nextHop = canonicalIp(str(hops[0])) ?? '';
        family ??= familyFromWire(a.family as WireFamily | undefined);
        const nlris = Array.isArray(a.nlris) ? (a.nlris as WireAny[]) : [];
        prefix ??= decodePrefix(nlris[0]);
        break;
      }
      case ANY.mpUnreach: {
        family ??= familyFromWire(a.family as WireFamily | undefined);
        const nlris = Array.isArray(a.nlris) ? (a.nlris as WireAny[]) : [];
        prefix ??= decodePrefix(nlris[0]);
        break;
      }
      case ANY.asPath: {
        const segs = Array.isArray(a.segments) ? (a.segments as { type?: unknown; numbers?: unknown[] }[]) : [];
        out.asPath = segs.map((s): AsSegment => ({ type: decodeSegmentType(s.type), asns: (s.numbers ?? []).map(num) }));
        break;
      }
      case ANY.med:
        out.med = num(a.med);
        break;
      case ANY.localPref:
        out.localPref = num(a.local_pref);
        break;
      case ANY.communities:
        out.communities = (Array.isArray(a.communities) ? (a.communities as unknown[]) : []).map((c) => decodeCommunity(num(c)));
        break;
      default:
        break; // attributes the agent does not use (ORIGINATOR_ID, CLUSTER_LIST, ...)
    }
  }
  if (prefix === undefined) return undefined;
  family ??= ipFamily(prefix.slice(0, prefix.indexOf('/')));
  if (family === undefined) return undefined;
  const path: BgpPath = { prefix, family, nextHop, origin, ...out, isWithdraw: w.is_withdraw === true };
  path.best = w.best === true;
  const neighbor = str(w.neighbor_ip);
  if (!localNeighbor(neighbor)) path.neighborIp = canonicalIp(neighbor) ?? neighbor;
  if (w.age && num(w.age.seconds) > 0) path.age = num(w.age.seconds);
  if (w.uuid && w.uuid.length > 0) path.uuid = Buffer.from(w.uuid).toString('hex');
  if (w.filtered) path.filtered = true;
  if (w.stale) path.stale = true;
  return path;
}
