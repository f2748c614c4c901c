// Whether a Node update matters to the routing controller: its addresses,
// pod CIDRs or annotations changed (status heartbeats and labels do not).

import { isDeepStrictEqual } from 'node:util';
import type { Node } from '../../informers/types.js';

export function nodeChanged(a: Node, b: Node): boolean {
  return (
    a.spec.podCIDR !== b.spec.podCIDR ||
    !isDeepStrictEqual(a.spec.podCIDRs, b.spec.podCIDRs) ||
    !isDeepStrictEqual(a.status?.addresses, b.status?.addresses) ||
    !isDeepStrictEqual(a.metadata.annotations, b.metadata.annotations)
  );
}
