// kube-router's names and marks for the NetworkPolicy firewall, and the
// stable hashes our per-policy / per-pod / per-selector names are made of.
//
// kube-router hashes a sync VERSION into its chain names, so every sync
// creates new chains and loses counters. Ours hash only identity (namespace,
// name, family, direction; a selector's canonical form), so an unchanged
// policy or pod keeps its chain and an unchanged selector keeps its set.

import { hash } from 'node:crypto';

export const CHAIN_INPUT = 'KUBE-ROUTER-INPUT';
export const CHAIN_FORWARD = 'KUBE-ROUTER-FORWARD';
export const CHAIN_OUTPUT = 'KUBE-ROUTER-OUTPUT';
export const CHAIN_DEFAULT = 'KUBE-NWPLCY-DEFAULT';
export const CHAIN_COMMON = 'KUBE-NWPLCY-COMMON';
export const CHAIN_TAIL = 'KUBE-NWPLCY-TAIL';
export const POD_CHAIN_PREFIX = 'KUBE-POD-FW-';
export const POLICY_CHAIN_PREFIX = 'KUBE-NWPLCY-';
/** Chains shared by the policies of a namespace with the same podSelector (see selectorChainName). */
export const SELECTOR_CHAIN_PREFIX = 'KUBE-NWPLCY-SEL-';
/** How many policies (of one direction) must share a podSelector before their jumps go to a shared chain. */
export const SELECTOR_CHAIN_MIN_POLICIES = 2;
export const SRC_SET_PREFIX = 'KUBE-SRC-';
export const DST_SET_PREFIX = 'KUBE-DST-';
/** `--netpol-default-deny`: local pods whose firewall state is programmed. */
export const LOCAL_PODS_SET = 'kube-router-local-pods';

/** Top-level chains and the built-in chain that jumps to each (at position 1). */
export const TOP_LEVEL: readonly { builtin: 'INPUT' | 'FORWARD' | 'OUTPUT'; chain: string }[] = [
  { builtin: 'INPUT', chain: CHAIN_INPUT },
  { builtin: 'FORWARD', chain: CHAIN_FORWARD },
  { builtin: 'OUTPUT', chain: CHAIN_OUTPUT },
];

/** "Some policy (or the default chain) allowed this direction." */
export const MARK_MATCHED = '0x10000/0x10000';
/** "The pod chain passed this packet": KUBE-NWPLCY-TAIL ACCEPTs it. */
export const MARK_ACCEPT = '0x20000/0x20000';
export const NFLOG_GROUP = 100;
export const NFLOG_LIMIT = '10/minute';
export const NFLOG_BURST = 10;

export type Family = 'ipv4' | 'ipv6';
export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
export type Direction = 'ingress' | 'egress';

/** kube-router's hash shape: base32 (RFC 4648, upper case) of SHA-256, first 16 characters. */
export function hash16(text: string): string {
  // The one-shot crypto.hash: half the time of createHash().update().digest(), and a
  // full compile names ~5,000 chains and sets.
  const d = hash('sha256', text, 'buffer');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of d) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 16) break;
    value &= (1 << bits) - 1;
  }
  return out;
}

/**
 * One chain per policy, direction and family. (kube-router has one chain per
 * policy holding both directions' rules, so for a packet between two pods
 * selected by the same policy an ingress rule can allow the sender's egress
 * and vice versa; splitting by direction keeps the two verdicts apart.)
 */
export function policyChainName(namespace: string, name: string, family: Family, dir: Direction): string {
  return POLICY_CHAIN_PREFIX + hash16(`${namespace}\0${name}\0${family}\0${dir}`);
}

/**
 * The chain that jumps to every policy chain (one family and direction) of
 * the policies of a namespace with the same podSelector (`targetsKey`, the
 * canonical selector and namespace). A pod such policies select jumps to it
 * once instead of once per policy, so a pod joining the node writes a few
 * rules however many policies select it, and a policy added to the selector
 * is one jump appended to this chain, not one per pod. (Not in kube-router,
 * which jumps from each pod chain to each policy chain; the policy and pod
 * chains are kube-router's.) 28 characters: the prefix and 12 of the hash.
 */
export function selectorChainName(targetsKey: string, family: Family, dir: Direction): string {
  return SELECTOR_CHAIN_PREFIX + hash16(`${targetsKey}\0${family}\0${dir}`).slice(0, 12);
}

export function podChainName(namespace: string, name: string, family: Family): string {
  return POD_CHAIN_PREFIX + hash16(`${namespace}\0${name}\0${family}`);
}

/**
 * Name of the set for a set key (canonical form of what it holds). `prefix`
 * tells how rules match it (KUBE-SRC- for `src`, KUBE-DST- for `dst`); the
 * IPv6 twin is `inet6:<name>` as in kube-router (31 characters at most).
 */
export function setName(prefix: typeof SRC_SET_PREFIX | typeof DST_SET_PREFIX, key: string, family: Family): string {
  const base = prefix + hash16(key);
  return family === 'ipv6' ? `inet6:${base}` : base;
}

export function familySetName(base: string, family: Family): string {
  return family === 'ipv6' ? `inet6:${base}` : base;
}

/** kube-router's sanitizeForComment: no control characters, quotes or backslashes; at most 200 characters. */
export function sanitizeForComment(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f"\\]/g, '').trim().slice(0, 200);
}

/**
 * Drops our human comments from rules unless wanted. The iptables module
 * prefixes every rule with its own `kr:<hash>` comment, and iptables-nft
 * keeps one comment per rule, so by default rules carry no second comment.
 * (Comments never contain quotes: sanitizeForComment removed them.)
 */
export function finishRules(rules: readonly string[], keepComments: boolean | undefined): string[] {
  if (keepComments) return [...rules];
  return rules.map((r) => r.replace(/ ?-m comment --comment "[^"]*"/g, '').trim());
}

/** `-m comment --comment "<sanitized>"` */
export function comment(text: string): string {
  return `-m comment --comment "${sanitizeForComment(text)}"`;
}
