// Decoding the protobuf request bodies kubectl's typed commands send.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufObject } from '../../src/lab/apiserver/protobuf.js';
import { StatusError } from '../../src/lab/apiserver/status.js';

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

const bytesField = (no: number, b: Buffer): Buffer => Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
const str = (no: number, s: string): Buffer => bytesField(no, Buffer.from(s));
const int = (no: number, n: number): Buffer => Buffer.concat([varint(no << 3), varint(n)]);
const msg = (no: number, ...parts: Buffer[]): Buffer => bytesField(no, Buffer.concat(parts));
const mapEntry = (no: number, k: string, v: string): Buffer => msg(no, str(1, k), str(2, v));

function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), msg(1, str(1, apiVersion), str(2, kind)), bytesField(2, raw), str(3, ''), str(4, '')]);
}

describe('protobuf request bodies', () => {
  it('decodes a Service as kubectl create service sends it (zero values dropped)', () => {
    const raw = Buffer.concat([
      msg(1, str(1, 'web'), str(2, ''), mapEntry(11, 'app', 'web'), msg(8, int(1, -62135596800), int(2, 0))),
      msg(
        2,
        msg(1, str(1, '80-8080'), str(2, 'TCP'), int(3, 80), msg(4, int(1, 0), int(2, 8080), str(3, '')), int(5, 0)),
        msg(1, str(1, 'named'), str(2, 'UDP'), int(3, 53), msg(4, int(1, 1), int(2, 0), str(3, 'dns'))),
        mapEntry(2, 'app', 'web'),
        str(3, 'None'),
        str(4, 'ClusterIP'),
        int(13, 0),
      ),
    ]);
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Service', raw)), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        ports: [
          { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 },
          { name: 'named', protocol: 'UDP', port: 53, targetPort: 'dns' },
        ],
        selector: { app: 'web' },
        clusterIP: 'None',
        type: 'ClusterIP',
      },
    });
  });

  it('decodes a Namespace and refuses other kinds and bad envelopes', () => {
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', msg(1, str(1, 'x')))), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } });
    assert.throws(() => decodeProtobufObject(envelope('v1', 'ConfigMap', msg(1, str(1, 'x')))), (e: unknown) => e instanceof StatusError && e.httpCode === 415);
    assert.throws(() => decodeProtobufObject(Buffer.from('{"json":true}')), (e: unknown) => e instanceof StatusError && e.httpCode === 400);
  });
});
