// The kubeconfig handed to kubectl and the agent: one cluster with the CA
// inline, one user with the bearer token, one context.

import YAML from 'yaml';

export function renderKubeconfig(server: string, caPem: string, token: string, namespace = 'default'): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lab', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'lab-admin', user: { token } }],
    contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'lab-admin', namespace } }],
    'current-context': 'lab',
    preferences: {},
  });
}
