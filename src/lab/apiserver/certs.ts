// A throw-away CA and the serving certificate it signs. Keys come from
// node:crypto (ECDSA P-256 by default: under the lab VM's software emulation
// an RSA 2048 key takes seconds, a P-256 key under a millisecond) and the
// certificates are built and signed with node:crypto too (x509.ts).
// Ready-made certificates (made on the fast host, say) can be checked with
// checkServingCerts and handed to the server as LabApiServerOptions.certs.

import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import net from 'node:net';
import { KubeRouterError } from '../../errors.js';
import type { ServingCerts } from './types.js';
import { KEY_USAGE, buildCertificate } from './x509.js';

export type { ServingCerts } from './types.js';

export type CertKeyType = 'ec' | 'rsa';

export interface CertOptions {
  /** 'ec' (P-256, default) or 'rsa' (2048 bits). */
  keyType?: CertKeyType;
}

function newKey(type: CertKeyType): KeyObject {
  return type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

function serial(): Buffer {
  // Positive and 16 bytes long (top bit clear, first byte not zero).
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b;
}

/** The distinct, usable names of `hosts` (brackets stripped; wildcard listen addresses dropped). */
export function certHostNames(hosts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const raw of hosts) {
    const h = raw.trim().replace(/^\[|\]$/g, '');
    if (h === '' || h === '0.0.0.0' || h === '::') continue;
    seen.add(h);
  }
  return [...seen];
}

export const DEFAULT_CERT_HOSTS = [
  '127.0.0.1',
  'localhost',
  '::1',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

const cache = new Map<string, Promise<ServingCerts>>();

/**
 * Certificates for a server answering to `extraHosts` (plus the defaults).
 * Servers started by the same process for the same names share one CA and
 * serving pair (each keeps its own bearer token).
 */
export function servingCertsFor(extraHosts: readonly string[] = []): Promise<ServingCerts> {
  const key = [...new Set(extraHosts)].sort().join(',');
  let p = cache.get(key);
  if (p === undefined) {
    p = makeServingCerts(extraHosts);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** A fresh CA and serving certificate (async for the callers; the work is synchronous and fast). */
export async function makeServingCerts(extraHosts: readonly string[] = [], opts: CertOptions = {}): Promise<ServingCerts> {
  return makeServingCertsSync(extraHosts, opts);
}

export function makeServingCertsSync(extraHosts: readonly string[] = [], opts: CertOptions = {}): ServingCerts {
  const type = opts.keyType ?? 'ec';
  const caKey = newKey(type);
  const srvKey = newKey(type);
  const caPub = createPublicKey(caKey);
  const now = Date.now();
  const notBefore = new Date(now - 60 * 60 * 1000);
  const years = (n: number): Date => new Date(now + n * 365 * 24 * 60 * 60 * 1000);
  const caPem = buildCertificate({
    subjectCN: 'kube-router-lab-ca',
    issuerCN: 'kube-router-lab-ca',
    serial: serial(),
    notBefore,
    notAfter: years(10),
    publicKey: caPub,
    signingKey: caKey,
    issuerPublicKey: caPub,
    ca: true,
    keyUsage: [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign],
  });
  const certPem = buildCertificate({
    subjectCN: 'kube-apiserver',
    issuerCN: 'kube-router-lab-ca',
    serial: serial(),
    notBefore,
    notAfter: years(2),
    publicKey: createPublicKey(srvKey),
    signingKey: caKey,
    issuerPublicKey: caPub,
    ca: false,
    keyUsage: type === 'rsa' ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment] : [KEY_USAGE.digitalSignature],
    extKeyUsage: ['serverAuth'],
    altNames: certHostNames([...DEFAULT_CERT_HOSTS, ...extraHosts]),
  });
  return { caPem, certPem, keyPem: srvKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/**
 * Checks ready-made certificates: PEM that parses, a key that matches the
 * serving certificate, a serving certificate the CA signed and that is valid
 * now, and (if given) that it covers `hosts`. Throws KR_ERR_LAB otherwise.
 */
export function checkServingCerts(certs: ServingCerts, hosts: readonly string[] = []): void {
  const bad = (msg: string, cause?: unknown): KubeRouterError =>
    new KubeRouterError('KR_ERR_LAB', `lab API server certificates: ${msg}`, {}, cause === undefined ? undefined : { cause });
  let ca: X509Certificate;
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    ca = new X509Certificate(certs.caPem);
    cert = new X509Certificate(certs.certPem);
    key = createPrivateKey(certs.keyPem);
  } catch (e) {
    throw bad(`cannot parse: ${(e as Error).message}`, e);
  }
  if (!cert.checkPrivateKey(key)) throw bad('the key does not belong to the serving certificate');
  if (!cert.verify(ca.publicKey)) throw bad('the serving certificate is not signed by the CA');
  const now = Date.now();
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) throw bad(`the serving certificate is not valid now (${cert.validFrom} .. ${cert.validTo})`);
  for (const h of certHostNames(hosts)) {
    const ok = net.isIP(h) !== 0 ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined;
    if (!ok) throw bad(`the serving certificate does not cover ${h}`);
  }
}
