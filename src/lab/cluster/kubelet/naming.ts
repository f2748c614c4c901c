// Deterministic names of a pod's sandbox on a node, so a restarted kubelet
// finds what its predecessor created.

import { createHash } from 'node:crypto';

function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}

/**
 * The pod's network namespace name: `pod-<ns>-<name>` made file-name safe and
 * cut to 40 characters, plus a hash of node/ns/name so pods of the same name
 * on different nodes never collide in a shared /run/netns (host tests).
 */
export function podNetnsName(nodeName: string, namespace: string, name: string): string {
  const readable = `pod-${namespace}-${name}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 40);
  return `${readable}-${shortHash(nodeName, namespace, name)}`;
}

/** CNI_CONTAINERID of the pod's sandbox (changes with the pod's uid). */
export function podContainerID(nodeName: string, namespace: string, name: string, uid: string): string {
  return createHash('sha256').update([nodeName, namespace, name, uid].join('\0')).digest('hex').slice(0, 32);
}

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
