// Templates in applied objects: `{{ip ns/pod}}` (the pod's current IP),
// `{{net ns/pod N}}` (that IP masked to N bits, as a CIDR, for ipBlock
// policies written against pod addresses) and `{{nodeip node}}` (a node's
// InternalIP).

import { isIP } from 'node:net';

export type TemplateRef =
  | { fn: 'ip'; namespace: string; pod: string }
  | { fn: 'net'; namespace: string; pod: string; bits: number }
  | { fn: 'nodeip'; node: string };

export interface TemplateUse {
  start: number;
  end: number;
  text: string;
  ref: TemplateRef;
}

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const POD = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** Finds every template in `text`; throws an Error naming the first one that does not parse. */
export function scanTemplates(text: string): TemplateUse[] {
  const uses: TemplateUse[] = [];
  for (const m of text.matchAll(TEMPLATE)) {
    const start = m.index ?? 0;
    uses.push({ start, end: start + m[0].length, text: m[0], ref: parseTemplate(m[0], m[1]) });
  }
  return uses;
}

function parseTemplate(whole: string, inner: string): TemplateRef {
  const words = inner.split(/\s+/).filter((w) => w !== '');
  const [fn, arg, bitsText] = words;
  const bad = (why: string): Error => new Error(`template ${whole}: ${why}`);
  if (fn === 'ip' || fn === 'net') {
    const want = fn === 'ip' ? 2 : 3;
    if (words.length !== want) throw bad(fn === 'ip' ? 'expected {{ip ns/pod}}' : 'expected {{net ns/pod N}}');
    const pm = POD.exec(arg);
    if (pm === null) throw bad(`'${arg}' is not namespace/pod`);
    if (fn === 'ip') return { fn, namespace: pm[1], pod: pm[3] };
    const bits = Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw bad(`'${bitsText}' is not a prefix length`);
    return { fn, namespace: pm[1], pod: pm[3], bits };
  }
  if (fn === 'nodeip') {
    if (words.length !== 2) throw bad('expected {{nodeip node}}');
    return { fn, node: arg };
  }
  throw bad(`unknown template '${fn ?? ''}' (known: ip, net, nodeip)`);
}

/** Replaces each template with what `resolve` returns for it. */
export async function substituteTemplates(
  text: string,
  resolve: (ref: TemplateRef) => Promise<string>,
): Promise<string> {
  const uses = scanTemplates(text);
  if (uses.length === 0) return text;
  const values = await Promise.all(uses.map((u) => resolve(u.ref)));
  let out = '';
  let pos = 0;
  uses.forEach((u, i) => {
    out += text.slice(pos, u.start) + values[i];
    pos = u.end;
  });
  return out + text.slice(pos);
}

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
