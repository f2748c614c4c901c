// One-line, sorted text forms of kernel objects, shared by `plan` and
// `dump` so that a desired object and the same object read back from the
// kernel print identically (and a line-by-line comparison marks what
// differs). iptables rules read back are matched to the desired ones by
// the `kr:` hash the reconciler writes (iptables-save prints rules in its
// own canonical syntax, so their text is not comparable).

import type { IpsetSet } from '../../kernel/ipset/types.js';
import { chainRuleHash, jumpHash } from '../../kernel/iptables/rulehash.js';
import type { IptablesDesired, OwnedTableState } from '../../kernel/iptables/types.js';
import { compareServices, destinationConfig, serviceConfig, serviceKey, type IpvsDestination, type IpvsService } from '../../kernel/ipvs/types.js';
import type { Link, RouteEntry, RuleEntry } from '../../kernel/rtnl/types.js';
import type { PlannedRoute, PlannedRule, PlannedTunnel } from '../../controllers/routing/routes-plan.js';

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function sortedLines(lines: Iterable<string>): string[] {
  return [...new Set(lines)].sort(byText);
}

function flagText(s: IpvsService): string {
  const parts = [s.scheduler];
  if (s.flags) parts.push(`flags=0x${s.flags.toString(16)}`);
  if (s.timeout) parts.push(`persistent=${s.timeout}`);
  if (s.peName) parts.push(`pe=${s.peName}`);
  return parts.join(' ');
}

function destText(d: IpvsDestination): string {
  const c = destinationConfig(d);
  const extra = [c.fwdMethod, `w=${c.weight}`];
  if (c.upperThreshold || c.lowerThreshold) extra.push(`thr=${c.lowerThreshold}-${c.upperThreshold}`);
  if (c.fwdMethod === 'tunnel') extra.push(`tun=${c.tunType}:${c.tunPort}:${c.tunFlags}`);
  return `${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port} ${extra.join(' ')}`;
}

/** `TCP 10.96.0.1:443 rr` and one `TCP 10.96.0.1:443 -> 10.244.1.2:6443 masq w=1` per destination. */
export function ipvsLines(list: readonly { service: IpvsService; destinations: readonly IpvsDestination[] }[]): string[] {
  const out: string[] = [];
  for (const { service, destinations } of [...list].sort((a, b) => compareServices(a.service, b.service))) {
    const s = serviceConfig(service);
    out.push(`${serviceKey(s)} ${flagText(s)}`);
    for (const d of destinations) out.push(`${serviceKey(s)} -> ${destText(d)}`);
  }
  return out;
}

/** `name type family: entry` per entry; `name type family: (empty)` for an empty set. */
export function ipsetLines(sets: readonly IpsetSet[]): string[] {
  const out: string[] = [];
  for (const s of sets) {
    const head = `${s.name} ${s.type}${s.type === 'list:set' ? '' : ` ${s.family}`}`;
    if (s.entries.size === 0) out.push(`${head}: (empty)`);
    for (const e of s.entries) out.push(`${head}: ${e}`);
  }
  return sortedLines(out);
}

/** `filter KUBE-ROUTER-INPUT 3: rule` per chain rule; `filter INPUT first: rule` per jump. */
export function iptablesDesiredLines(d: IptablesDesired, prefix = ''): string[] {
  const out: string[] = [];
  for (const [chain, rules] of d.chains) rules.forEach((r, i) => out.push(`${prefix}${d.table} ${chain} ${i + 1}: ${r}`));
  if (d.chains.size > 0) for (const [chain, rules] of d.chains) if (rules.length === 0) out.push(`${prefix}${d.table} ${chain}: (empty chain)`);
  for (const j of d.jumps) out.push(`${prefix}${d.table} ${j.fromChain} ${j.position}: ${j.rule}`);
  return sortedLines(out);
}

function stripKr(spec: string): string {
  return spec.replace(/-m comment --comment "?kr:[A-Za-z0-9_-]{16}[^"]*"? ?/, '').trim();
}

/**
 * The chains and jumps we own as read back, printed like `iptablesDesiredLines`
 * wherever the rule carries the hash of the desired rule at that place, and as
 * iptables-save prints it otherwise.
 */
export function iptablesActualLines(desired: IptablesDesired, actual: OwnedTableState, prefix = ''): string[] {
  const out: string[] = [];
  const t = desired.table;
  for (const [chain, st] of actual.chains) {
    const want = desired.chains.get(chain) ?? [];
    if (st.rules.length === 0) out.push(`${prefix}${t} ${chain}: (empty chain)`);
    st.rules.forEach((spec, i) => {
      const same = i < want.length && st.hashes[i] === chainRuleHash(want[i]);
      out.push(`${prefix}${t} ${chain} ${i + 1}: ${same ? want[i] : stripKr(spec)}`);
    });
  }
  const jumps = new Map(desired.jumps.map((j) => [jumpHash(j), j]));
  for (const [chain, b] of actual.builtins) {
    for (const r of b.ours) {
      const j = r.hash === null ? undefined : jumps.get(r.hash);
      if (j && j.fromChain === chain) {
        const atPlace = j.position === 'first' ? r.index < desired.jumps.filter((x) => x.fromChain === chain && x.position === 'first').length : r.index >= b.total - desired.jumps.filter((x) => x.fromChain === chain && x.position === 'last').length;
        out.push(`${prefix}${t} ${chain} ${atPlace ? j.position : `at ${r.index + 1}`}: ${j.rule}`);
      } else out.push(`${prefix}${t} ${chain} at ${r.index + 1}: ${stripKr(r.spec)}`);
    }
  }
  return sortedLines(out);
}

function tableName(t: number): string {
  return t === 254 ? 'main' : `table ${t}`;
}

/** `main 10.244.2.0/24 via 192.168.56.12` / `table 77 192.168.56.13/32 dev tun-... scope link`. */
export function plannedRouteLines(routes: readonly PlannedRoute[]): string[] {
  return sortedLines(
    routes.map((r) => {
      const parts = [tableName(r.table), r.dst];
      if (r.gateway) parts.push('via', r.gateway);
      if (r.oif) parts.push('dev', r.oif);
      if (r.src) parts.push('src', r.src);
      return parts.join(' ');
    }),
  );
}

export function actualRouteLines(routes: readonly RouteEntry[], links: readonly Link[]): string[] {
  const names = new Map(links.map((l) => [l.index, l.name]));
  return sortedLines(
    routes.map((r) => {
      const parts = [tableName(r.table), r.dst];
      if (r.gateway) parts.push('via', r.gateway);
      else if (r.oif) parts.push('dev', names.get(r.oif) ?? `if${r.oif}`);
      if (!r.gateway && r.src) parts.push('src', r.src);
      return parts.join(' ');
    }),
  );
}

/** `tun-xxx ipip` (the name is a hash of the remote address; the kernel link kind for ip6ip6 is ip6tnl). */
export function tunnelLines(tunnels: readonly PlannedTunnel[]): string[] {
  return sortedLines(tunnels.map((t) => `${t.name} ${t.mode === 'ipip' ? 'ipip' : 'ip6tnl'}`));
}

export function linkLines(links: readonly Link[]): string[] {
  return sortedLines(links.map((l) => `${l.name} ${l.kind}`));
}

export function ruleLines(rules: readonly (PlannedRule | RuleEntry)[]): string[] {
  return sortedLines(rules.map((r) => `from ${r.src || 'all'} lookup ${r.table} pref ${r.priority}`));
}

export function addressLines(addrs: readonly string[]): string[] {
  return sortedLines(addrs.map((a) => `kube-dummy-if ${a}`));
}
