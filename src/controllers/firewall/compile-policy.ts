// One NetworkPolicy -> its chains (one per enabled family and policy type)
// and the sets they reference. The result depends on the policy object only:
// pod and namespace changes change set MEMBERS, never policy chains.
//
// A chain holds one MARK 0x10000 rule per (peer x port) of each rule,
// preceded, when there are two or more, by `mark 0x10000 -> RETURN` (an
// earlier policy already allowed the packet: its rules need not be tried).
// A chain of one rule has no RETURN: the packet meets one rule either way,
// marking again is harmless, and the kernel holds a rule less per policy
// (a pod that is the first of 100 policies on its node writes 100 fewer).
// A chain is entered from a pod chain with `-d podIP` (ingress) or `-s
// podIP` (egress), so its rules match only the peer and the port.
//
// Named ports: an ingress rule's named port resolves per TARGET pod (the
// policy's podSelector), an egress rule's per DESTINATION pod; either way
// into a hash:ip,port set of `podIP,proto:port` matched `dst,dst`, so one
// rule serves pods that give the name different numbers. An egress named
// port towards ipBlocks or "all destinations" matches pods only.

import { ObjectError } from '../../errors.js';
import type { NetworkPolicy } from '../../informers/types.js';
import { comment, DST_SET_PREFIX, familySetName, hash16, MARK_MATCHED, policyChainName, SRC_SET_PREFIX, type Direction, type Family } from './names.js';
import { allPodsGroup, FieldError, namedPortSet, parsePeer, parsePort, podGroup, selectorAt, type Peer, type PortMatch } from './compile-peers.js';
import { compileSelector } from './selectors.js';
import type { CompiledPolicy, FirewallContext, PodGroup, SetSpec, SetUse } from './model.js';

type Prefix = typeof SRC_SET_PREFIX | typeof DST_SET_PREFIX;

/** Effective policyTypes: as given, else Ingress plus Egress when egress rules exist. */
export function policyTypes(p: NetworkPolicy): { ingress: boolean; egress: boolean; bad: string[] } {
  const given = p.spec?.policyTypes ?? [];
  if (given.length === 0) return { ingress: true, egress: (p.spec?.egress?.length ?? 0) > 0, bad: [] };
  const bad = given.filter((t) => t !== 'Ingress' && t !== 'Egress').map(String);
  return { ingress: given.includes('Ingress'), egress: given.includes('Egress'), bad };
}

function protoMatch(m: PortMatch): string {
  switch (m.kind) {
    case 'all':
      return '';
    case 'proto':
      return `-p ${m.protocol.toLowerCase()}`;
    case 'number': {
      const p = m.protocol.toLowerCase();
      const range = m.endPort > m.port ? `${m.port}:${m.endPort}` : `${m.port}`;
      return `-p ${p} -m ${p} --dport ${range}`;
    }
    case 'named':
      return `-p ${m.protocol.toLowerCase()}`;
  }
}

interface RuleSink {
  /** By base (IPv4) set name. */
  sets: Map<string, SetUse>;
}

function useSet(sink: RuleSink, prefix: Prefix, spec: SetSpec, fam: Family): string {
  const base = prefix + hash16(spec.key);
  let use = sink.sets.get(base);
  if (!use) {
    use = { spec, names: {} };
    sink.sets.set(base, use);
  }
  const name = familySetName(base, fam);
  use.names[fam] = name;
  return name;
}

/** Rules of one direction for one family. */
function directionRules(
  dir: Direction,
  items: { peers: Peer[]; ports: PortMatch[]; label: string }[],
  targets: PodGroup,
  fam: Family,
  sink: RuleSink,
  keepComments: boolean,
): string[] {
  const peerDir = dir === 'ingress' ? 'src' : 'dst';
  const peerPrefix: Prefix = dir === 'ingress' ? SRC_SET_PREFIX : DST_SET_PREFIX;
  const out: string[] = [];
  for (const item of items) {
    // Written only when wanted (finishRules would strip it again).
    const c = keepComments ? comment(item.label) : undefined;
    for (const peer of item.peers) {
      if (peer.kind === 'ipBlock' && peer.family !== fam) continue;
      for (const port of item.ports) {
        const parts: string[] = c === undefined ? [] : [c];
        if (port.kind === 'named' && dir === 'egress' && peer.kind === 'pods') {
          // The destination pods' own named ports: the set implies the peer.
          parts.push(`-m set --match-set ${useSet(sink, DST_SET_PREFIX, namedPortSet(peer.group, port.name, port.protocol), fam)} dst,dst`);
        } else {
          if (peer.kind !== 'all') parts.push(`-m set --match-set ${useSet(sink, peerPrefix, peer.set, fam)} ${peerDir}`);
          if (port.kind === 'named') {
            const group = dir === 'ingress' ? targets : allPodsGroup();
            parts.push(`-m set --match-set ${useSet(sink, DST_SET_PREFIX, namedPortSet(group, port.name, port.protocol), fam)} dst,dst`);
          }
        }
        const pm = protoMatch(port);
        if (pm) parts.push(pm);
        parts.push(`-j MARK --set-xmark ${MARK_MATCHED}`);
        out.push(parts.join(' '));
      }
    }
  }
  return out;
}

function parseDirection(p: NetworkPolicy, dir: Direction): { peers: Peer[]; ports: PortMatch[]; label: string }[] {
  const ns = p.metadata.namespace ?? '';
  const list = (dir === 'ingress' ? p.spec.ingress : p.spec.egress) ?? [];
  if (!Array.isArray(list)) throw new FieldError(`spec.${dir}`, 'not a list');
  return list.map((rule, i) => {
    const field = `spec.${dir}[${i}]`;
    const rawPeers = (dir === 'ingress' ? (rule as { from?: unknown }).from : (rule as { to?: unknown }).to) ?? [];
    if (!Array.isArray(rawPeers)) throw new FieldError(`${field}.${dir === 'ingress' ? 'from' : 'to'}`, 'not a list');
    const peerField = `${field}.${dir === 'ingress' ? 'from' : 'to'}`;
    const peers: Peer[] = rawPeers.length ? rawPeers.map((x, j) => parsePeer(`${peerField}[${j}]`, x, ns)) : [{ kind: 'all' }];
    const rawPorts = rule?.ports ?? [];
    if (!Array.isArray(rawPorts)) throw new FieldError(`${field}.ports`, 'not a list');
    const ports: PortMatch[] = rawPorts.length ? rawPorts.map((x, k) => parsePort(`${field}.ports[${k}]`, x)) : [{ kind: 'all' }];
    return { peers, ports, label: `${ns}/${p.metadata.name} ${dir}[${i}]` };
  });
}

/**
 * Compiles one policy. Never throws: a field that cannot be compiled yields
 * an ObjectError naming `NetworkPolicy ns/name` and the field, and the policy
 * is compiled FAIL-CLOSED: its chains exist but allow nothing, so the pods it
 * selects stay isolated for its types while every other policy is enforced.
 * (An invalid spec.podSelector selects every pod of the namespace.)
 */
export function compilePolicy(p: NetworkPolicy, ctx: FirewallContext): CompiledPolicy {
  const namespace = p.metadata.namespace ?? '';
  const name = p.metadata.name;
  const object = `NetworkPolicy ${namespace}/${name}`;
  const errors: ObjectError[] = [];
  const fail = (e: unknown): void => {
    if (e instanceof FieldError) errors.push(new ObjectError(object, e.field, e.message, e.value));
    else errors.push(new ObjectError(object, 'spec', e instanceof Error ? e.message : String(e)));
  };

  const types = policyTypes(p);
  for (const t of types.bad) fail(new FieldError('spec.policyTypes', 'unknown policy type', t));
  let targets: PodGroup;
  try {
    targets = podGroup({ namespace }, selectorAt('spec.podSelector', p.spec?.podSelector));
  } catch (e) {
    fail(e);
    targets = podGroup({ namespace }, compileSelector({}));
  }
  const dirs: Direction[] = [];
  if (types.ingress) dirs.push('ingress');
  if (types.egress) dirs.push('egress');

  const parsed = new Map<Direction, ReturnType<typeof parseDirection>>();
  for (const d of dirs) {
    try {
      parsed.set(d, parseDirection(p, d));
    } catch (e) {
      fail(e);
    }
  }

  // The chains, their names and the sets are built when first asked for:
  // only a policy that selects a pod of this node needs them (most of a
  // cluster's policies select none), and this function stays pure.
  let body: Pick<CompiledPolicy, 'chainNames' | 'chains' | 'sets'> | undefined;
  const build = (): Pick<CompiledPolicy, 'chainNames' | 'chains' | 'sets'> => {
    const sink: RuleSink = { sets: new Map() };
    const chains = new Map<string, string[]>();
    const chainNames: CompiledPolicy['chainNames'] = {};
    for (const fam of ctx.families) {
      const names: Partial<Record<Direction, string>> = {};
      for (const d of dirs) {
        const chain = policyChainName(namespace, name, fam, d);
        names[d] = chain;
        const marks = errors.length === 0 ? directionRules(d, parsed.get(d) ?? [], targets, fam, sink, !!ctx.ruleComments) : [];
        chains.set(chain, marks.length > 1 ? [`-m mark --mark ${MARK_MATCHED} -j RETURN`, ...marks] : marks);
      }
      chainNames[fam] = names;
    }
    return { chainNames, chains, sets: errors.length === 0 ? sink.sets : new Map() };
  };
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    ingress: types.ingress,
    egress: types.egress,
    targets,
    get chainNames() {
      return (body ??= build()).chainNames;
    },
    get chains() {
      return (body ??= build()).chains;
    },
    get sets() {
      return (body ??= build()).sets;
    },
    errors,
  };
}
