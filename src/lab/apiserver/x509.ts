// X.509 v3 certificates built and signed with node:crypto (no node-forge):
// a CA and the serving certificate it signs, for ECDSA P-256 or RSA keys.

import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import net from 'node:net';
import { bits, bool, explicit, implicit, namedBits, octets, oid, seq, set, time, uint, utf8 } from './der.js';

const OID = {
  commonName: '2.5.4.3',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  rsaSha256: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

export interface CertSpec {
  subjectCN: string;
  issuerCN: string;
  /** Positive serial, big-endian bytes. */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** The certified key (public, or the private key it belongs to). */
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed CA). */
  signingKey: KeyObject;
  /** The issuer's public key, for the authority key identifier. */
  issuerPublicKey: KeyObject;
  ca: boolean;
  keyUsage: number[];
  extKeyUsage?: ('serverAuth' | 'clientAuth')[];
  /** DNS names and IP addresses. */
  altNames?: string[];
}

const name = (cn: string): Buffer => seq(set(seq(oid(OID.commonName), utf8(cn))));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ type: 'spki', format: 'der' });
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (EC: the uncompressed point; RSA: RSAPublicKey DER). */
export function keyIdentifier(key: KeyObject): Buffer {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  let bytes: Buffer;
  if (pub.asymmetricKeyType === 'ec') {
    const jwk = pub.export({ format: 'jwk' });
    bytes = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  } else {
    bytes = pub.export({ type: 'pkcs1', format: 'der' });
  }
  return createHash('sha1').update(bytes).digest();
}

function generalName(host: string): Buffer {
  const v = net.isIP(host);
  if (v === 4) return implicit(7, Buffer.from(host.split('.').map(Number)));
  if (v === 6) return implicit(7, ipv6Bytes(host));
  return implicit(2, Buffer.from(host, 'ascii'));
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(Number.parseInt(g, 16), i * 2));
  return out;
}

function signatureAlgorithm(key: KeyObject): { alg: Buffer; digest: 'sha256' } {
  if (key.asymmetricKeyType === 'ec') return { alg: seq(oid(OID.ecdsaSha256)), digest: 'sha256' };
  if (key.asymmetricKeyType === 'rsa') return { alg: seq(oid(OID.rsaSha256), Buffer.from([0x05, 0x00])), digest: 'sha256' };
  throw new TypeError(`unsupported signing key type ${String(key.asymmetricKeyType)}`);
}

/** The certificate, PEM encoded. */
export function buildCertificate(spec: CertSpec): string {
  const { alg, digest } = signatureAlgorithm(spec.signingKey);
  const exts: Buffer[] = [
    extension(OID.basicConstraints, true, spec.ca ? seq(bool(true)) : seq()),
    extension(OID.keyUsage, true, namedBits(spec.keyUsage)),
  ];
  if (spec.extKeyUsage !== undefined && spec.extKeyUsage.length > 0) {
    exts.push(extension(OID.extKeyUsage, false, seq(...spec.extKeyUsage.map((u) => oid(OID[u])))));
  }
  if (spec.altNames !== undefined && spec.altNames.length > 0) {
    exts.push(extension(OID.subjectAltName, false, seq(...spec.altNames.map(generalName))));
  }
  exts.push(extension(OID.subjectKeyId, false, octets(keyIdentifier(spec.publicKey))));
  if (!spec.ca) exts.push(extension(OID.authorityKeyId, false, seq(implicit(0, keyIdentifier(spec.issuerPublicKey)))));
  const tbs = seq(
    explicit(0, uint(2)),
    uint(spec.serial),
    alg,
    name(spec.issuerCN),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subjectCN),
    spkiDer(spec.publicKey),
    explicit(3, seq(...exts)),
  );
  const signature = sign(digest, tbs, spec.signingKey);
  const der = seq(tbs, alg, bits(signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
