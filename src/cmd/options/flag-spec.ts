// The shape of one row of the flag table (see flags.ts). A row says
// everything about a flag: name, type, default, help group, usage text,
// constraints checked at parse time, and whether its feature is built yet.
import type { AgentOptions } from './types.js';

export type FlagGroup = 'general' | 'proxy' | 'routing' | 'firewall' | 'lballoc' | 'deprecated';

export const GROUP_TITLES: Readonly<Record<FlagGroup, string>> = {
  general: 'General',
  proxy: 'Service proxy',
  routing: 'Routing/BGP/CNI',
  firewall: 'Firewall',
  lballoc: 'Load balancer allocator',
  deprecated: 'Deprecated',
};

/**
 * Value kinds. Scalars parse one value; list kinds split on commas (pflag's
 * StringSlice uses a CSV reader) and a repeated flag appends to the list.
 */
export type FlagKind =
  | 'bool'
  | 'string'
  | 'uint' // unsigned integer, `bits` wide (pflag Uint/Uint8/Uint16/Uint32)
  | 'duration' // Go duration, stored in milliseconds
  | 'stringList'
  | 'uintList'
  | 'ipList'
  | 'cidrList';

export interface FlagSpec {
  /** Long name without dashes, as kube-router registers it. */
  name: string;
  /** One-letter shorthand (`-v`, `-h`, `-V`). */
  short?: string;
  /** Field of AgentOptions that receives the value. */
  key: keyof AgentOptions;
  kind: FlagKind;
  /** Default, in the stored form (ms for durations, arrays for lists). */
  default: boolean | string | number | readonly string[] | readonly number[];
  group: FlagGroup;
  /** Usage text as kube-router prints it. */
  usage: string;
  /** False until the feature behind the flag is implemented in kube-router-ts. */
  built: boolean;
  /** Type word shown by --help, when it differs from the kind's (pflag names: uint16, uints, ipSlice ...). */
  typeName?: string;
  /** Default as --help shows it, when it differs from the formatted default. */
  defaultText?: string;
  /** Width of a `uint` (8, 16, 32, 64). Default 64. */
  bits?: 8 | 16 | 32 | 64;
  /** Inclusive numeric bounds for uint and each uintList element. */
  min?: number;
  max?: number;
  /** Durations: bounds in ms (inclusive); `positive` requires > 0. */
  positive?: boolean;
  minMs?: number;
  maxMs?: number;
  /** Allowed values of a string flag. */
  choices?: readonly string[];
  /** Human text of what is expected, used in error messages. */
  expect?: string;
  /** The value is a secret (BGP passwords): never echo it in errors. */
  secret?: boolean;
  /** Set on flags kube-router v2.11 no longer has; the warning logged when used. */
  deprecated?: string;
}
