// Who this agent is in the Lease, and where the Lease lives. kube-router
// takes the identity from $POD_NAME and the namespace from $POD_NAMESPACE or
// the service account's namespace file, and refuses to start without them.
// kube-router-ts falls back to the node name (unique per agent) and to
// kube-system, so an agent run outside a pod (the lab) can still take part.

import fs from 'node:fs';
import path from 'node:path';
import { SERVICE_ACCOUNT_DIR } from '../../informers/kubeconfig.js';

export interface LeaseIdentity {
  identity: string;
  /** Where it came from: `POD_NAME` or `node name`. */
  identitySource: string;
  namespace: string;
  /** `POD_NAMESPACE`, the service account file, or `default`. */
  namespaceSource: string;
}

export const FALLBACK_LEASE_NAMESPACE = 'kube-system';

export function leaseIdentity(env: NodeJS.ProcessEnv, nodeName: string, saDir = SERVICE_ACCOUNT_DIR): LeaseIdentity {
  const pod = (env.POD_NAME ?? '').trim();
  const identity = pod !== '' ? pod : nodeName;
  const identitySource = pod !== '' ? 'POD_NAME' : 'node name';
  const envNs = (env.POD_NAMESPACE ?? '').trim();
  if (envNs !== '') return { identity, identitySource, namespace: envNs, namespaceSource: 'POD_NAMESPACE' };
  const file = path.join(saDir, 'namespace');
  try {
    const ns = fs.readFileSync(file, 'utf8').trim();
    if (ns !== '') return { identity, identitySource, namespace: ns, namespaceSource: file };
  } catch {
    // not in a pod: the fallback below
  }
  return { identity, identitySource, namespace: FALLBACK_LEASE_NAMESPACE, namespaceSource: 'default' };
}
