// The agents' flags of a `--family ipv6` run: the file's cluster section is
// written for IPv4, so for that run only the agents get IPv6 enabled and every
// IPv4 range flag extended with its IPv6 twin (family.ts), e.g.
//   --service-external-ip-range=198.51.100.0/24
//   -> --service-external-ip-range=198.51.100.0/24,2001:db8:51:100::/120
// An IPv4 run gets the flags exactly as written (the same array).
// Applied where the agents' flags come from the cluster spec: configure() of
// src/lab/guest/lab-cluster.ts (and the boot of `kube-router-lab run`).

import { isIP } from 'node:net';
import type { ClusterSpec } from './cluster.js';
import { ipv6TwinCidr, type IpFamily } from './family.js';

/** Range flags whose IPv4 CIDRs get their IPv6 twins. */
const RANGE_FLAGS = ['--service-cluster-ip-range', '--service-external-ip-range', '--loadbalancer-ip-range'] as const;

/** The agent's default --service-cluster-ip-range: extended too when the file does not give the flag. */
const DEFAULT_SERVICE_RANGE = '10.96.0.0/12';

const ENABLE_IPV6 = '--enable-ipv6';

/** The cluster spec as a run of `family` uses it (IPv4: `spec` itself). */
export function specForFamily(spec: ClusterSpec, family: IpFamily): ClusterSpec {
  if (family === 'ipv4') return spec;
  return { ...spec, dualStack: true, agentArgs: agentArgsForFamily(spec.agentArgs, family) };
}

/** The agents' flags in a run of `family`; throws a FamilyError naming an IPv4 range that has no IPv6 twin. */
export function agentArgsForFamily(args: string[], family: IpFamily): string[] {
  if (family === 'ipv4') return args;
  const out: string[] = [];
  let sawServiceRange = false;
  for (let i = 0; i < args.length; i++) {
    const { flag, value, pair } = splitFlag(args, i);
    if (flag === ENABLE_IPV6) continue; // replaced by --enable-ipv6=true below
    if (!isRangeFlag(flag) || value === undefined) {
      out.push(args[i]);
      continue;
    }
    if (flag === '--service-cluster-ip-range') sawServiceRange = true;
    if (pair) {
      out.push(flag, withTwins(value));
      i++;
    } else out.push(`${flag}=${withTwins(value)}`);
  }
  out.push(`${ENABLE_IPV6}=true`);
  if (!sawServiceRange) out.push(`--service-cluster-ip-range=${withTwins(DEFAULT_SERVICE_RANGE)}`);
  return out;
}

function isRangeFlag(flag: string): flag is (typeof RANGE_FLAGS)[number] {
  return (RANGE_FLAGS as readonly string[]).includes(flag);
}

/** `--flag=value`, or `--flag value` as two arguments (pair), or a flag without a value. */
function splitFlag(args: string[], i: number): { flag: string; value?: string; pair: boolean } {
  const a = args[i];
  const eq = a.indexOf('=');
  if (eq > 0) return { flag: a.slice(0, eq), value: a.slice(eq + 1), pair: false };
  const next = args[i + 1];
  // A range flag takes the next argument; a bool flag (--enable-ipv6) never does.
  if (isRangeFlag(a) && next !== undefined && !next.startsWith('-')) return { flag: a, value: next, pair: true };
  return { flag: a, pair: false };
}

/** `a,b` -> `a,a6,b,b6` for IPv4 CIDRs a and b; IPv6 entries and twins already listed stay as they are. */
function withTwins(value: string): string {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out: string[] = [];
  for (const item of items) {
    out.push(item);
    if (isIP(item.split('/')[0]) !== 4) continue;
    const twin = ipv6TwinCidr(item);
    if (!items.includes(twin)) out.push(twin);
  }
  return [...new Set(out)].join(',');
}
