// The declarative flag table: every flag kube-router v2.11 registers (79,
// including -h/--help and -V/--version) plus two deprecated ones. Parsing,
// --help, validation and the "not built yet" warnings all read this table.
// When a feature lands, flip `built` on its rows.
import type { FlagSpec } from './flag-spec.js';
import { GENERAL_FLAGS } from './flags-general.js';
import { PROXY_FLAGS } from './flags-proxy.js';
import { ROUTING_FLAGS } from './flags-routing.js';
import { DEPRECATED_FLAGS, FIREWALL_FLAGS, LBALLOC_FLAGS } from './flags-other.js';

export const FLAGS: readonly FlagSpec[] = [
  ...GENERAL_FLAGS,
  ...PROXY_FLAGS,
  ...ROUTING_FLAGS,
  ...FIREWALL_FLAGS,
  ...LBALLOC_FLAGS,
  ...DEPRECATED_FLAGS,
];

/** kube-router's own version this table follows. */
export const KUBE_ROUTER_COMPAT_VERSION = 'v2.11';

/** ASN used when --cluster-asn is 0 (kube-router's default). */
export const DEFAULT_CLUSTER_ASN = 64512;

const BY_NAME = new Map<string, FlagSpec>(FLAGS.map((f) => [f.name, f]));
const BY_SHORT = new Map<string, FlagSpec>(
  FLAGS.filter((f) => f.short !== undefined).map((f) => [f.short as string, f]),
);

export function flagByName(name: string): FlagSpec | undefined {
  return BY_NAME.get(name);
}

export function flagByShort(short: string): FlagSpec | undefined {
  return BY_SHORT.get(short);
}
