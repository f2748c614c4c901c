// Request bodies in Kubernetes' protobuf encoding
// (`application/vnd.kubernetes.protobuf`), which kubectl's typed clients
// send for `kubectl create namespace`, `kubectl create service ...` and
// `kubectl drain` (DeleteOptions, Eviction); client-go does not fall back
// to JSON on 415 for protobuf. Only those kinds (and Binding) are decoded,
// to the JSON the rest of the server handles; answers stay JSON (those
// clients also accept it).
//
// Wire format: the 4 bytes "k8s\0", then a runtime.Unknown message
// {typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3,
// contentType=4}; `raw` is the object in the field numbering of
// k8s.io/api's generated.proto.

import { badRequest, unsupportedMediaType } from './status.js';

type Scalar = 'string' | 'int' | 'bool' | 'time' | 'intOrString' | 'map';

interface Field {
  name: string;
  type: Scalar | Schema;
  repeated?: boolean;
  /** Go's zero value is meaningful here (no `omitempty`): keep 0 / "" / false. */
  keepZero?: boolean;
}

type Schema = { [fieldNumber: number]: Field };

const TIME: Schema = { 1: { name: 'seconds', type: 'int' }, 2: { name: 'nanos', type: 'int' } };
const INT_OR_STRING: Schema = { 1: { name: 'type', type: 'int' }, 2: { name: 'intVal', type: 'int' }, 3: { name: 'strVal', type: 'string' } };
const MAP_ENTRY: Schema = { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: 'string' } };

const OWNER_REFERENCE: Schema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const OBJECT_META: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int' },
  11: { name: 'labels', type: 'map' },
  12: { name: 'annotations', type: 'map' },
  13: { name: 'ownerReferences', type: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const NAMESPACE: Schema = {
  1: { name: 'metadata', type: OBJECT_META },
  2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  3: { name: 'status', type: { 1: { name: 'phase', type: 'string' } } },
};

const SERVICE_PORT: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'protocol', type: 'string' },
  3: { name: 'port', type: 'int', keepZero: true },
  4: { name: 'targetPort', type: 'intOrString' },
  5: { name: 'nodePort', type: 'int' },
  6: { name: 'appProtocol', type: 'string' },
};

const SERVICE_SPEC: Schema = {
  1: { name: 'ports', type: SERVICE_PORT, repeated: true },
  2: { name: 'selector', type: 'map' },
  3: { name: 'clusterIP', type: 'string' },
  4: { name: 'type', type: 'string' },
  5: { name: 'externalIPs', type: 'string', repeated: true },
  7: { name: 'sessionAffinity', type: 'string' },
  8: { name: 'loadBalancerIP', type: 'string' },
  9: { name: 'loadBalancerSourceRanges', type: 'string', repeated: true },
  10: { name: 'externalName', type: 'string' },
  11: { name: 'externalTrafficPolicy', type: 'string' },
  12: { name: 'healthCheckNodePort', type: 'int' },
  13: { name: 'publishNotReadyAddresses', type: 'bool' },
  14: { name: 'sessionAffinityConfig', type: { 1: { name: 'clientIP', type: { 1: { name: 'timeoutSeconds', type: 'int' } } } } },
  17: { name: 'ipFamilyPolicy', type: 'string' },
  18: { name: 'clusterIPs', type: 'string', repeated: true },
  19: { name: 'ipFamilies', type: 'string', repeated: true },
  20: { name: 'allocateLoadBalancerNodePorts', type: 'bool' },
  21: { name: 'loadBalancerClass', type: 'string' },
  22: { name: 'internalTrafficPolicy', type: 'string' },
  23: { name: 'trafficDistribution', type: 'string' },
};

const SERVICE: Schema = { 1: { name: 'metadata', type: OBJECT_META }, 2: { name: 'spec', type: SERVICE_SPEC } };

const DELETE_OPTIONS: Schema = {
  1: { name: 'gracePeriodSeconds', type: 'int', keepZero: true },
  2: { name: 'preconditions', type: { 1: { name: 'uid', type: 'string' }, 2: { name: 'resourceVersion', type: 'string' } } },
  3: { name: 'orphanDependents', type: 'bool', keepZero: true },
  4: { name: 'propagationPolicy', type: 'string' },
  5: { name: 'dryRun', type: 'string', repeated: true },
};

const OBJECT_REFERENCE: Schema = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'namespace', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'fieldPath', type: 'string' },
};

const EVICTION: Schema = { 1: { name: 'metadata', type: OBJECT_META }, 2: { name: 'deleteOptions', type: DELETE_OPTIONS } };
const BINDING: Schema = { 1: { name: 'metadata', type: OBJECT_META }, 2: { name: 'target', type: OBJECT_REFERENCE } };

const UNKNOWN: Schema = {
  1: { name: 'typeMeta', type: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } },
  2: { name: 'raw', type: 'string' }, // read as bytes below
  3: { name: 'contentEncoding', type: 'string' },
  4: { name: 'contentType', type: 'string' },
};

const KINDS: Record<string, Schema> = {
  'v1/Namespace': NAMESPACE,
  'v1/Service': SERVICE,
  'v1/Binding': BINDING,
  'v1/DeleteOptions': DELETE_OPTIONS,
  'meta.k8s.io/v1/DeleteOptions': DELETE_OPTIONS,
  'policy/v1/Eviction': EVICTION,
};

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw badRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw badRequest('protobuf: varint too long');
    }
  }

  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw badRequest('protobuf: truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw badRequest(`protobuf: unsupported wire type ${wire}`);
  }
}

function toInt(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (r.pos < buf.length) {
    const tag = Number(r.varint());
    const field = schema[tag >>> 3];
    const wire = tag & 7;
    if (field === undefined) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    if (wire === 0) {
      const v = r.varint();
      value = field.type === 'bool' ? v !== 0n : toInt(v);
    } else if (wire === 2) {
      const b = r.bytes();
      if (field.type === 'string') value = b.toString('utf8');
      else if (field.type === 'time') {
        const t = decodeMessage(b, TIME);
        const seconds = Number(t.seconds ?? 0);
        // Go's zero time (year 1) stands for "unset".
        value = seconds <= 0 ? undefined : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      } else if (field.type === 'intOrString') {
        const v = decodeMessage(b, INT_OR_STRING);
        value = v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
      } else if (field.type === 'map') {
        const e = decodeMessage(b, MAP_ENTRY);
        const m = (out[field.name] as Record<string, string> | undefined) ?? {};
        m[String(e.key ?? '')] = String(e.value ?? '');
        out[field.name] = m;
        continue;
      } else if (typeof field.type === 'object') value = decodeMessage(b, field.type);
      else throw badRequest(`protobuf: field ${field.name} has an unexpected encoding`);
    } else {
      r.skip(wire);
      continue;
    }
    // gogo-protobuf writes Go zero values of optional fields; JSON (omitempty) would not.
    if (value === undefined || (field.keepZero !== true && field.repeated !== true && (value === '' || value === 0 || value === false))) continue;
    if (field.repeated === true) {
      const list = (out[field.name] as unknown[] | undefined) ?? [];
      list.push(value);
      out[field.name] = list;
    } else out[field.name] = value;
  }
  return out;
}

/** Decodes a protobuf request body of one of the kinds kubectl's typed commands create. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw badRequest('protobuf: missing the k8s envelope prefix');
  const r = new Reader(body.subarray(4));
  let typeMeta: Record<string, unknown> = {};
  let raw: Buffer | undefined;
  while (r.pos < r.buf.length) {
    const tag = Number(r.varint());
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === 2) typeMeta = decodeMessage(r.bytes(), UNKNOWN[1].type as Schema);
    else if (tag >>> 3 === 2 && wire === 2) raw = r.bytes();
    else r.skip(wire);
  }
  const apiVersion = String(typeMeta.apiVersion ?? '');
  const kind = String(typeMeta.kind ?? '');
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (schema === undefined || raw === undefined) {
    throw unsupportedMediaType(`${PROTOBUF} (${apiVersion} ${kind})`, ['application/json', 'application/yaml']);
  }
  return { apiVersion, kind, ...decodeMessage(raw, schema) };
}
