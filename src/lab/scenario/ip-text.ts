// IP address text: masking to a prefix and IPv6 parsing/compression (the
// templates and the family twins both need it; no dependency either way).

import { isIP } from 'node:net';

/** `10.244.1.7`, 24 -> `10.244.1.0/24`; IPv6 too. Throws on a bad address or prefix. */
export function maskIP(ip: string, bits: number): string {
  const family = isIP(ip);
  if (family === 4) {
    if (bits > 32) throw new Error(`prefix /${bits} is too long for IPv4 address ${ip}`);
    const n = ip.split('.').reduce((acc, o) => acc * 256n + BigInt(Number(o)), 0n);
    const masked = mask(n, 32, bits);
    const octets = [24n, 16n, 8n, 0n].map((s) => String((masked >> s) & 255n));
    return `${octets.join('.')}/${bits}`;
  }
  if (family === 6) {
    const n = parseIPv6(ip);
    const masked = mask(n, 128, bits);
    const groups: string[] = [];
    for (let s = 112n; s >= 0n; s -= 16n) groups.push(((masked >> s) & 0xffffn).toString(16));
    return `${compressIPv6(groups)}/${bits}`;
  }
  throw new Error(`'${ip}' is not an IP address`);
}

function mask(n: bigint, width: number, bits: number): bigint {
  const keep = ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return n & keep;
}

function parseIPv6(ip: string): bigint {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].reduce((acc, g) => acc * 65536n + BigInt(parseInt(g, 16)), 0n);
}

function compressIPv6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
