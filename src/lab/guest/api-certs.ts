// The lab API server's certificates, made by the host before the VM boots
// (a few milliseconds there) and read by the guest supervisor from the
// shared run directory, so the guest, under software emulation, makes none.
// Light on purpose: the host CLI imports this.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkServingCerts, makeServingCertsSync } from '../apiserver/certs.js';
import type { ServingCerts } from '../apiserver/types.js';
import { UNDERLAY } from '../topology/types.js';
import { GUEST_IP } from '../vm/init-script.js';

/** Names and addresses the guest's API server answers to: the bridge (nodes), the NIC (host forward), loopback, the `kubernetes` Service. */
export const API_CERT_HOSTS = [
  UNDERLAY.bridgeIp,
  GUEST_IP,
  '127.0.0.1',
  '10.96.0.1',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

/** <run>/shared/apiserver-certs.json (next to config.json). */
export function apiCertsPath(sharedDir: string): string {
  return join(sharedDir, 'apiserver-certs.json');
}

/** Host side: makes the certificates and writes them (mode 0600) for the guest. */
export function writeApiCerts(sharedDir: string): ServingCerts {
  const certs = makeServingCertsSync(API_CERT_HOSTS);
  writeFileSync(apiCertsPath(sharedDir), JSON.stringify(certs), { mode: 0o600 });
  return certs;
}

/**
 * Guest side: the host's certificates, checked (key, CA, validity, names);
 * undefined when there are none or they do not fit (`why` says which), and
 * the API server then makes its own.
 */
export function readApiCerts(sharedDir: string): { certs?: ServingCerts; why?: string } {
  const path = apiCertsPath(sharedDir);
  if (!existsSync(path)) return { why: `${path} does not exist` };
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServingCerts>;
    if (typeof raw.caPem !== 'string' || typeof raw.certPem !== 'string' || typeof raw.keyPem !== 'string') return { why: `${path}: caPem, certPem, keyPem expected` };
    const certs = { caPem: raw.caPem, certPem: raw.certPem, keyPem: raw.keyPem };
    checkServingCerts(certs, API_CERT_HOSTS);
    return { certs };
  } catch (e) {
    return { why: `${path}: ${(e as Error).message}` };
  }
}
