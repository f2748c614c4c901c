// apply(): create or replace, in order, like `kubectl replace || create`.
// A replace takes the current object's resourceVersion (and is retried on a
// 409 when a controller or kubelet wrote the object in between); the store
// keeps status and allocated Service values (clusterIP, nodePorts). A Pod is
// mostly immutable in a real cluster: one whose node, hostNetwork or declared
// ports change is deleted (and waited for until its netns is gone) and
// created again; otherwise only its labels, annotations and other spec
// fields are replaced (its node kept). Unbound pods are bound at once.

import type { LabKind, ObjectStore, StoredObject } from '../apiserver/types.js';
import { KINDS, isLabKind } from '../apiserver/kinds.js';
import { isStatusError } from '../apiserver/status.js';
import { podNetnsName } from '../cluster/kubelet/naming.js';
import { schedulePod } from '../cluster/kubelet/scheduler.js';
import { errorMessage } from '../../errors.js';
import { labError, sleep, type LabClusterHost } from './lab-cluster-host.js';
import { podsNotGone, type PodGone } from './lab-cluster-reset.js';

export function objectName(kind: string, namespace: string | undefined, name: string): string {
  return `${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

/** The served kind, or a KR_ERR_LAB error naming the object. */
export function labKind(kind: string, namespace: string | undefined, name: string): LabKind {
  if (!isLabKind(kind)) {
    throw labError(`${objectName(kind, namespace, name)}: kind ${kind} is not served by the lab API server (it serves ${Object.keys(KINDS).join(', ')})`, {
      object: objectName(kind, namespace, name),
    });
  }
  return kind;
}

/** The object's namespace as stored: default for namespaced kinds, none for cluster-scoped ones. */
export function storedNamespace(kind: LabKind, namespace: string | undefined): string | undefined {
  return KINDS[kind].namespaced ? namespace || 'default' : undefined;
}

interface PodSpecView {
  nodeName?: string;
  hostNetwork?: boolean;
  containers?: { ports?: { containerPort?: number; protocol?: string }[] }[];
}

function podSpec(o: StoredObject): PodSpecView {
  return (o.spec ?? {}) as PodSpecView;
}

function portSet(spec: PodSpecView): string {
  return (spec.containers ?? [])
    .flatMap((c) => c.ports ?? [])
    .map((p) => `${p.containerPort ?? 0}/${p.protocol ?? 'TCP'}`)
    .sort()
    .join(',');
}

/** Why a pod cannot be replaced in place (undefined: it can). */
export function podRecreateReason(cur: StoredObject, next: StoredObject): string | undefined {
  const a = podSpec(cur);
  const b = podSpec(next);
  if (b.nodeName && b.nodeName !== a.nodeName) return `node ${a.nodeName ?? 'none'} -> ${b.nodeName}`;
  if (!!a.hostNetwork !== !!b.hostNetwork) return 'hostNetwork changed';
  if (portSet(a) !== portSet(b)) return 'container ports changed';
  return undefined;
}

export interface ApplyOptions {
  /** How long a replaced pod may take to go (default 60 s). */
  podGoneTimeoutMs: number;
  pollMs: number;
  netnsExists(name: string): boolean;
}

async function waitPodGone(host: LabClusterHost, store: ObjectStore, pod: StoredObject, opts: ApplyOptions): Promise<void> {
  const ns = pod.metadata.namespace ?? 'default';
  const node = podSpec(pod).nodeName || undefined;
  const gone: PodGone = {
    namespace: ns,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    node,
    netns: node !== undefined && !podSpec(pod).hostNetwork ? podNetnsName(node, ns, pod.metadata.name) : undefined,
  };
  const deadline = Date.now() + opts.podGoneTimeoutMs;
  for (;;) {
    const left = podsNotGone(host, store, [gone], opts.netnsExists);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw labError(`replacing Pod ${ns}/${pod.metadata.name}: the old pod is not gone after ${opts.podGoneTimeoutMs} ms: ${left.join('; ')}`, { object: `Pod ${ns}/${pod.metadata.name}` });
    await sleep(opts.pollMs);
  }
}

/** Creates or replaces one object; returns the stored object. */
export async function applyOne(host: LabClusterHost, store: ObjectStore, input: StoredObject, opts: ApplyOptions): Promise<StoredObject> {
  const md = (input.metadata ?? {}) as StoredObject['metadata'];
  const kind = labKind(String(input.kind), md.namespace, String(md.name ?? ''));
  const ns = storedNamespace(kind, md.namespace);
  const what = objectName(kind, ns, md.name);
  const obj = structuredClone(input);
  obj.metadata = { ...md };
  if (ns === undefined) delete obj.metadata.namespace;
  else obj.metadata.namespace = ns;
  try {
    for (let attempt = 1; ; attempt++) {
      const cur = store.get(kind, ns, md.name);
      if (cur === undefined) return store.create(kind, obj);
      if (kind === 'Pod') {
        const why = cur.metadata.deletionTimestamp !== undefined ? 'the old pod is terminating' : podRecreateReason(cur, obj);
        if (why !== undefined) {
          host.log?.(`lab-cluster: re-creating ${what} (${why})`);
          store.delete('Pod', ns, md.name);
          await waitPodGone(host, store, cur, opts);
          continue;
        }
        const spec = (obj.spec ?? {}) as PodSpecView;
        obj.spec = { ...spec, nodeName: spec.nodeName || podSpec(cur).nodeName };
      }
      obj.metadata.resourceVersion = cur.metadata.resourceVersion;
      try {
        return store.update(kind, obj);
      } catch (err) {
        if (!(isStatusError(err) && err.httpCode === 409) || attempt >= 5) throw err;
      }
    }
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err as { code: unknown }).code === 'KR_ERR_LAB') throw err;
    throw labError(`apply ${what}: ${errorMessage(err)}`, { object: what }, err);
  }
}

/** Applies every object in order, then binds the unbound pods (round-robin over the topology's nodes). */
export async function applyObjects(host: LabClusterHost, store: ObjectStore, objects: readonly StoredObject[], opts: ApplyOptions): Promise<void> {
  let pods = false;
  for (const o of objects) {
    const stored = await applyOne(host, store, o, opts);
    if (stored.kind === 'Pod') pods = true;
  }
  if (pods) {
    const nodes = host.topology?.nodes.map((n) => n.name);
    for (const b of schedulePod(store, nodes)) host.log?.(`lab-cluster: bound Pod ${b.namespace}/${b.name} to ${b.nodeName}`);
  }
}
