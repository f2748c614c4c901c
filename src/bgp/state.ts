// BGP as reconciled state: read what gobgpd holds into plain values
// (GetBgp, ListPeer, ListDefinedSet, ListPolicy, ListPolicyAssignment,
// ListPath of the global RIB's local paths), diff it against the desired state
// (state-diff.ts, pure) and apply the operations in order.
import { errorMessage, KubeRouterError } from '../errors.js';
import type { GobgpClient } from './client.js';
import { diffBgp, EMPTY_STATE, type BgpOp, type BgpState } from './state-diff.js';
import type { IpFamily } from './types.js';

export { diffBgp, EMPTY_STATE, logicalPolicyName, normalizePath, normalizePeer, versionPolicy } from './state-diff.js';
export type { BgpOp, BgpState } from './state-diff.js';

/** What gobgpd holds now. A fresh gobgpd (asn 0) reads as EMPTY_STATE. */
export async function readBgpState(client: GobgpClient, families: IpFamily[] = ['ipv4', 'ipv6']): Promise<BgpState> {
  const global = await client.getBgp();
  if (global.asn === 0) return EMPTY_STATE;
  const [peers, prefixSets, neighborSets, policies, assignments] = await Promise.all([
    client.listPeers(),
    client.listDefinedSets('prefix'),
    client.listDefinedSets('neighbor'),
    client.listPolicies(),
    client.listPolicyAssignments('global'),
  ]);
  const paths = [];
  for (const family of families) {
    for (const d of await client.listPaths({ table: 'global', family })) {
      // Local paths have no neighbor; learned ones are the peers' business.
      paths.push(...d.paths.filter((p) => p.neighborIp === undefined));
    }
  }
  return {
    global,
    peers: peers.map((p) => p.spec),
    definedSets: [...prefixSets, ...neighborSets],
    policies,
    assignments,
    paths,
  };
}

export interface ApplyResult {
  applied: BgpOp[];
  failed: { op: BgpOp; error: KubeRouterError }[];
}

export async function applyBgpOp(client: GobgpClient, op: BgpOp): Promise<void> {
  switch (op.op) {
    case 'stop-bgp':
      return client.stopBgp();
    case 'start-bgp':
      return client.startBgp(op.global);
    case 'add-defined-set':
      return client.addDefinedSet(op.set);
    case 'delete-defined-set':
      return client.deleteDefinedSet(op.set, op.all);
    case 'add-policy':
      return client.addPolicy(op.policy);
    case 'set-policy-assignment':
      return client.setPolicyAssignment(op.assignment);
    case 'delete-policy':
      return client.deletePolicy(op.name);
    case 'add-peer':
      return client.addPeer(op.peer);
    case 'update-peer':
      await client.updatePeer(op.peer);
      return;
    case 'delete-peer':
      return client.deletePeer(op.address);
    case 'add-path':
      await client.addPath(op.path);
      return;
    case 'delete-path':
      return client.deletePath(op.path);
  }
}

/**
 * Applies the operations in order. A failed operation does not stop the others
 * (one bad peer must not block the rest); a failed start-bgp/stop-bgp does,
 * since nothing else can succeed. Errors are returned, not thrown.
 */
export async function applyBgpOps(client: GobgpClient, ops: BgpOp[]): Promise<ApplyResult> {
  const result: ApplyResult = { applied: [], failed: [] };
  for (const op of ops) {
    try {
      await applyBgpOp(client, op);
      result.applied.push(op);
    } catch (err) {
      const error =
        err instanceof KubeRouterError ? err : new KubeRouterError('KR_ERR_BGP', errorMessage(err), { call: op.op }, { cause: err });
      result.failed.push({ op, error });
      if (op.op === 'start-bgp' || op.op === 'stop-bgp') break;
    }
  }
  return result;
}

/** Reads, diffs and applies: one reconcile pass. */
export async function reconcileBgp(
  client: GobgpClient,
  desired: BgpState,
  families: IpFamily[] = ['ipv4', 'ipv6'],
): Promise<ApplyResult> {
  const actual = await readBgpState(client, families);
  return applyBgpOps(client, diffBgp(desired, actual));
}
