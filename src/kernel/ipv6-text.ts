// IPv6 text <-> 16-bit groups, shared by the netlink codecs (rtnl, IPVS) and
// the ipset entry canonicaliser: both must print addresses exactly as the
// kernel tools do (RFC 5952: lower case, the longest run of two or more zero
// groups as `::`).

import { isIPv6 } from 'node:net';

/** The eight 16-bit groups of an IPv6 text address (embedded IPv4 tails too), or undefined if it is not one. */
export function ipv6Groups(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let s = text.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const parts = s.split('::');
  const head = parts[0] === '' ? [] : parts[0].split(':').map((x) => parseInt(x, 16));
  if (parts.length === 1) return head;
  const rest = parts[1] === '' ? [] : parts[1].split(':').map((x) => parseInt(x, 16));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** RFC 5952 text of eight 16-bit groups. */
export function formatIpv6(g: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
