// The table events of gobgpd's WatchEvent stream read straight from the
// wire into the WirePath shape codec.ts's decodePath takes (what
// proto-loader would hand over with client.ts's options), for the
// messages a path carries: Path, Family, Timestamp, Any, and the Any-packed
// IPAddressPrefix, ORIGIN, NEXT_HOP, MP_(UN)REACH_NLRI, AS_PATH, MED,
// LOCAL_PREF and COMMUNITIES (field numbers of proto/*.proto). gobgpd 3.10
// sends one stream message per path, so this runs thousands of times per
// convergence: protobufjs's generic toObject, which unpacks every Any by a
// namespace lookup of its type name, cost several times more. Attributes of
// other types keep only their '@type' (decodePath ignores them); events that
// are not table events (peer events) return undefined and go through the
// generic deserializer.

import { ANY } from './codec.js';
import { PbReader, WIRE_LEN } from './pb-reader.js';
import type { WireAny, WireFamily, WirePath } from './wire.js';

function family(r: PbReader): WireFamily {
  const f: WireFamily = { afi: 0, safi: 0 };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) f.afi = r.varint();
    else if (field === 2) f.safi = r.varint();
    else r.skip(wt);
  }
  return f;
}

/** The fields of one Any-packed message, by type: [field number] -> how to read it. */
function anyBody(type: string, r: PbReader): WireAny {
  const a: WireAny = { '@type': type };
  switch (type) {
    case ANY.ipPrefix:
      a.prefix_len = 0;
      a.prefix = '';
      break;
    case ANY.mpReach:
      a.next_hops = [];
      a.nlris = [];
      break;
    case ANY.mpUnreach:
      a.nlris = [];
      break;
    case ANY.asPath:
      a.segments = [];
      break;
    case ANY.communities:
      a.communities = [];
      break;
    case ANY.origin:
    case ANY.nextHop:
    case ANY.med:
    case ANY.localPref:
      break;
    default:
      return a; // not read by decodePath
  }
  while (!r.done()) {
    const [field, wt] = r.tag();
    switch (type) {
      case ANY.ipPrefix:
        if (field === 1) a.prefix_len = r.varint();
        else if (field === 2) a.prefix = r.string();
        else r.skip(wt);
        break;
      case ANY.origin:
        if (field === 1) a.origin = r.varint();
        else r.skip(wt);
        break;
      case ANY.nextHop:
        if (field === 1) a.next_hop = r.string();
        else r.skip(wt);
        break;
      case ANY.med:
        if (field === 1) a.med = r.varint();
        else r.skip(wt);
        break;
      case ANY.localPref:
        if (field === 1) a.local_pref = r.varint();
        else r.skip(wt);
        break;
      case ANY.communities:
        if (field === 1) r.uint32s(wt, a.communities as number[]);
        else r.skip(wt);
        break;
      case ANY.asPath:
        if (field === 1 && wt === WIRE_LEN) (a.segments as unknown[]).push(segment(r.sub()));
        else r.skip(wt);
        break;
      case ANY.mpReach:
      case ANY.mpUnreach:
        if (field === 1 && wt === WIRE_LEN) a.family = family(r.sub());
        else if (field === 2 && wt === WIRE_LEN && type === ANY.mpReach) (a.next_hops as string[]).push(r.string());
        else if (field === 3 && wt === WIRE_LEN) (a.nlris as WireAny[]).push(any(r.sub()));
        else r.skip(wt);
        break;
    }
  }
  return a;
}

function segment(r: PbReader): { type: number; numbers: number[] } {
  const s = { type: 0, numbers: [] as number[] };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) s.type = r.varint();
    else if (field === 2) r.uint32s(wt, s.numbers);
    else r.skip(wt);
  }
  return s;
}

/** google.protobuf.Any: type_url 1, value 2 (the packed message). */
function any(r: PbReader): WireAny {
  let type = '';
  let body: PbReader | undefined;
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === WIRE_LEN) type = r.string();
    else if (field === 2 && wt === WIRE_LEN) body = r.sub();
    else r.skip(wt);
  }
  return anyBody(type, body ?? new PbReader(Buffer.alloc(0)));
}

function timestamp(r: PbReader): { seconds: number; nanos: number } {
  const t = { seconds: 0, nanos: 0 };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) t.seconds = r.varint();
    else if (field === 2) t.nanos = r.varint();
    else r.skip(wt);
  }
  return t;
}

/** apipb.Path, the fields decodePath reads. */
export function readPath(r: PbReader): WirePath {
  const p: WirePath = { nlri: null, pattrs: [], age: null, best: false, is_withdraw: false, family: null, neighbor_ip: '', uuid: new Uint8Array(0), filtered: false, stale: false };
  const pattrs: WireAny[] = [];
  while (!r.done()) {
    const [field, wt] = r.tag();
    switch (field) {
      case 1:
        if (wt === WIRE_LEN) p.nlri = any(r.sub());
        else r.skip(wt);
        break;
      case 2:
        if (wt === WIRE_LEN) pattrs.push(any(r.sub()));
        else r.skip(wt);
        break;
      case 3:
        if (wt === WIRE_LEN) p.age = timestamp(r.sub());
        else r.skip(wt);
        break;
      case 4:
        p.best = r.bool();
        break;
      case 5:
        p.is_withdraw = r.bool();
        break;
      case 9:
        if (wt === WIRE_LEN) p.family = family(r.sub());
        else r.skip(wt);
        break;
      case 12:
        p.filtered = r.bool();
        break;
      case 13:
        p.stale = r.bool();
        break;
      case 15:
        if (wt === WIRE_LEN) p.neighbor_ip = r.string();
        else r.skip(wt);
        break;
      case 16:
        if (wt === WIRE_LEN) p.uuid = r.bytes();
        else r.skip(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  p.pattrs = pattrs;
  return p;
}

/**
 * The paths of a WatchEventResponse holding a table event (field 3,
 * TableEvent.paths = 2); undefined for any other event.
 */
export function readTableEvent(buf: Buffer): WirePath[] | undefined {
  const r = new PbReader(buf);
  let paths: WirePath[] | undefined;
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 3 && wt === WIRE_LEN) {
      const t = r.sub();
      paths ??= [];
      while (!t.done()) {
        const [f, w] = t.tag();
        if (f === 2 && w === WIRE_LEN) paths.push(readPath(t.sub()));
        else t.skip(w);
      }
    } else if (field === 2) {
      return undefined; // a peer event
    } else {
      r.skip(wt);
    }
  }
  return paths;
}
