// Templates in scenario text (apply bodies, probe `to`/`body`/`bodies`, hold
// `to`, exec `cmd`/`expect`/`expectNot`), substituted when the step runs.
// Cluster-dependent: `{{ip ns/pod}}` (the pod's current IP of the run's
// family), `{{net ns/pod N}}` (that IP masked to N bits, as a CIDR, for
// ipBlock policies written against pod addresses) and `{{nodeip node}}` (a
// node's address of the run's family). Family-dependent literals, so that one
// file runs in IPv4 and in IPv6 (`kube-router-lab run --family ipv6`):
// `{{vip A.B.C.D}}`, `{{cidr A.B.C.D/N}}`, `{{set NAME}}`, the words of
// FAMILY_WORDS, and `{{agent-args FLAG...}}` (the flags as the run's agents
// get them: for tools run on a node that must see what the agents see). In a regular expression (exec expect, probe bodies) the
// substituted text is escaped: `10.96.0.1` must not match `10x96y0z1`.

import { cidrFor, FamilyError, vipFor, ipv6Twin, ipv6TwinCidr, type IpFamily } from './family.js';
import { agentArgsForFamily } from './family-args.js';

export { maskIP } from './ip-text.js';

/** Templates without an argument that stand for one word per family: [IPv4, IPv6]. */
export const FAMILY_WORDS = {
  iptables: ['iptables', 'ip6tables'],
  'ip-family': ['-4', '-6'],
  'host-len': ['32', '128'],
  family: ['IPv4', 'IPv6'],
  inet: ['inet', 'inet6'],
  ipv: ['ipv4', 'ipv6'],
  // The overlay's tunnel link kind (`ip -d link show type ...`): ipip, ip6tnl (mode ip6ip6).
  'tunnel-kind': ['ipip', 'ip6tnl'],
  // The DSR tunnel link inside an endpoint pod (kube-router's KubeTunnelIfv4 / KubeTunnelIfv6).
  'dsr-link': ['kube-tunnel-if', 'kube-tunnel-v6'],
} as const;
export type FamilyWord = keyof typeof FAMILY_WORDS;

export type TemplateRef =
  | { fn: 'ip'; namespace: string; pod: string }
  | { fn: 'net'; namespace: string; pod: string; bits: number; bits6?: number }
  | { fn: 'nodeip'; node: string }
  // The families the run's agents serve (IPv4; IPv6 run: IPv4 and IPv6), for objects a file writes whole:
  | { fn: 'nets'; namespace: string; pod: string; bits: number; bits6: number }
  | { fn: 'internal-ips'; node: string }
  | { fn: 'vip'; ip: string }
  | { fn: 'cidr'; cidr: string }
  | { fn: 'hostport'; ip: string; port: number }
  | { fn: 'set'; name: string }
  | { fn: 'agent-args'; args: string[] }
  | { fn: 'word'; word: FamilyWord };

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

const KNOWN = ['ip', 'net', 'nets', 'nodeip', 'internal-ips', 'vip', 'hostport', 'cidr', 'set', 'agent-args', ...Object.keys(FAMILY_WORDS)].join(', ');
const SET_NAME = /^[A-Za-z0-9][-A-Za-z0-9_.]*$/;

function isFamilyWord(fn: string): fn is FamilyWord {
  return Object.hasOwn(FAMILY_WORDS, fn);
}

function parseTemplate(whole: string, inner: string): TemplateRef {
  const words = inner.split(/\s+/).filter((w) => w !== '');
  const [fn, arg, bitsText, bits6Text] = words;
  const bad = (why: string): Error => new Error(`template ${whole}: ${why}`);
  if (fn === 'ip' || fn === 'net') {
    const ok = fn === 'ip' ? words.length === 2 : words.length === 3 || words.length === 4;
    if (!ok) throw bad(fn === 'ip' ? 'expected {{ip ns/pod}}' : 'expected {{net ns/pod N}} or {{net ns/pod N N6}}');
    const pm = POD.exec(arg);
    if (pm === null) throw bad(`'${arg}' is not namespace/pod`);
    if (fn === 'ip') return { fn, namespace: pm[1], pod: pm[3] };
    const bits = Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw bad(`'${bitsText}' is not a prefix length`);
    if (bits6Text === undefined) return { fn, namespace: pm[1], pod: pm[3], bits };
    // An explicit IPv6 length: for blocks whose meaning is not "the same
    // number of hosts" (e.g. /4 around a pod: every pod of the cluster).
    const bits6 = Number(bits6Text);
    if (!Number.isInteger(bits6) || bits6 < 0 || bits6 > 128) throw bad(`'${bits6Text}' is not an IPv6 prefix length`);
    return { fn, namespace: pm[1], pod: pm[3], bits, bits6 };
  }
  if (fn === 'nodeip' || fn === 'internal-ips') {
    if (words.length !== 2) throw bad(`expected {{${fn} node}}`);
    return { fn, node: arg };
  }
  if (fn === 'nets') {
    // `{{nets ns/pod N N6}}`: the pod's address of each family the run's agents serve, masked, comma-separated.
    const pm = words.length === 4 ? POD.exec(arg) : null;
    const bits = Number(bitsText);
    const bits6 = Number(bits6Text);
    if (pm === null || !Number.isInteger(bits) || bits < 0 || bits > 32 || !Number.isInteger(bits6) || bits6 < 0 || bits6 > 128) {
      throw bad('expected {{nets ns/pod N N6}} (IPv4 and IPv6 prefix lengths)');
    }
    return { fn, namespace: pm[1], pod: pm[3], bits, bits6 };
  }
  if (fn === 'vip' || fn === 'cidr') return parseLiteral(fn, words, bad);
  if (fn === 'hostport') {
    // `{{hostport A.B.C.D P}}`: ipvsadm's service address form, `[v6]:P` in IPv6.
    const port = Number(bitsText);
    if (words.length !== 3 || !Number.isInteger(port) || port < 1 || port > 65535) throw bad('expected {{hostport A.B.C.D PORT}}');
    parseLiteral('vip', words.slice(0, 2), bad); // throws unless the address has a twin
    return { fn, ip: arg, port };
  }
  if (fn === 'set') {
    if (words.length !== 2 || !SET_NAME.test(arg)) throw bad('expected {{set NAME}} (an ipset name)');
    return { fn, name: arg };
  }
  if (fn === 'agent-args') {
    // `{{agent-args --flag=v ...}}`: the flags as given (IPv4) or as agentArgsForFamily makes them for IPv6
    // (--enable-ipv6, range flags with their twins); a range without a twin is refused here, in both families.
    const args = words.slice(1);
    if (args.length === 0 || args.some((a) => !a.startsWith('--'))) throw bad('expected {{agent-args --flag[=value]...}}');
    try {
      agentArgsForFamily(args, 'ipv6');
    } catch (err) {
      if (err instanceof FamilyError) throw bad(err.message);
      throw err;
    }
    return { fn, args };
  }
  if (fn !== undefined && isFamilyWord(fn)) {
    if (words.length !== 1) throw bad(`{{${fn}}} takes no argument`);
    return { fn: 'word', word: fn };
  }
  throw bad(`unknown template '${fn ?? ''}' (known: ${KNOWN})`);
}

/**
 * `{{vip A.B.C.D}}` / `{{cidr A.B.C.D/N}}`: the literal must have an IPv6
 * twin in either family, so a file that passes in IPv4 cannot fail to parse
 * in IPv6 (checked when the file is parsed, before any boot).
 */
function parseLiteral(fn: 'vip' | 'cidr', words: string[], bad: (why: string) => Error): TemplateRef {
  if (words.length !== 2) throw bad(fn === 'vip' ? 'expected {{vip A.B.C.D}}' : 'expected {{cidr A.B.C.D/N}}');
  try {
    if (fn === 'vip') ipv6Twin(words[1]);
    else ipv6TwinCidr(words[1]);
  } catch (err) {
    if (err instanceof FamilyError) throw bad(err.message);
    throw err;
  }
  return fn === 'vip' ? { fn, ip: words[1] } : { fn, cidr: words[1] };
}

/** The templates that need no cluster lookup: they depend on the run's family only. */
export type FamilyTemplateRef = Exclude<TemplateRef, { fn: 'ip' } | { fn: 'net' } | { fn: 'nets' } | { fn: 'nodeip' } | { fn: 'internal-ips' }>;

/** What a template that needs no cluster lookup stands for in `family`. */
export function familyTemplate(ref: FamilyTemplateRef, family: IpFamily): string {
  const v6 = family === 'ipv6';
  switch (ref.fn) {
    case 'vip':
      return vipFor(ref.ip, family);
    case 'cidr':
      return cidrFor(ref.cidr, family);
    case 'hostport':
      return v6 ? `[${vipFor(ref.ip, family)}]:${ref.port}` : `${vipFor(ref.ip, family)}:${ref.port}`;
    case 'set':
      // kube-router names the IPv6 twin of a set `inet6:<name>`.
      return v6 ? `inet6:${ref.name}` : ref.name;
    case 'word':
      return FAMILY_WORDS[ref.word][v6 ? 1 : 0];
    case 'agent-args':
      return agentArgsForFamily(ref.args, family).join(' ');
  }
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

/** `text` with every character special in a regular expression escaped. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** As substituteTemplates, for a regular expression: the substituted text matches itself only. */
export function substituteInRegExp(text: string, resolve: (ref: TemplateRef) => Promise<string>): Promise<string> {
  return substituteTemplates(text, async (ref) => escapeRegExp(await resolve(ref)));
}

/** `text` with its templates blanked (for validating the text around them before they can be resolved). */
export function blankTemplates(text: string, blank: string): string {
  return text.replace(/\{\{[^{}]*\}\}/g, blank);
}
