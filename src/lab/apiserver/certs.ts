// A throw-away CA and the serving certificate it signs, made at start.
// Keys come from node:crypto (native, fast); node-forge builds and signs the
// X.509 certificates.

import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import net from 'node:net';
import forge from 'node-forge';

export interface ServingCerts {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);

/** RSA 2048 on libuv's thread pool (does not block the event loop). */
async function rsaKeys(): Promise<{ privatePem: string; publicPem: string }> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

function serial(): string {
  // Positive, 16 bytes.
  const b = randomBytes(16);
  b[0] &= 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, years: number): void {
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + years * 365 * 24 * 60 * 60 * 1000);
}

type AltName = { type: 2; value: string } | { type: 7; ip: string };

export function altNames(hosts: readonly string[]): AltName[] {
  const seen = new Set<string>();
  const out: AltName[] = [];
  for (const raw of hosts) {
    const h = raw.trim().replace(/^\[|\]$/g, '');
    if (h === '' || seen.has(h) || h === '0.0.0.0' || h === '::') continue;
    seen.add(h);
    out.push(net.isIP(h) !== 0 ? { type: 7, ip: h } : { type: 2, value: h });
  }
  return out;
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
 * RSA key generation takes around a second, so servers started by the same
 * process for the same names share one CA and serving pair (each keeps its
 * own bearer token).
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

export async function makeServingCerts(extraHosts: readonly string[] = []): Promise<ServingCerts> {
  const [caKeys, srvKeys] = await Promise.all([rsaKeys(), rsaKeys()]);
  const caKey = forge.pki.privateKeyFromPem(caKeys.privatePem);
  const ca = forge.pki.createCertificate();
  ca.publicKey = forge.pki.publicKeyFromPem(caKeys.publicPem);
  ca.serialNumber = serial();
  validity(ca, 10);
  const caSubject = [{ name: 'commonName', value: 'kube-router-lab-ca' }];
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKey, forge.md.sha256.create());

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(srvKeys.publicPem);
  cert.serialNumber = serial();
  validity(cert, 2);
  cert.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
  cert.setIssuer(caSubject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames([...DEFAULT_CERT_HOSTS, ...extraHosts]) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: srvKeys.privatePem,
  };
}
