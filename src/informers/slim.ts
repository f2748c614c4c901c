// Raw API JSON → the lean types of types.ts, once, at ingest. Only declared
// fields are copied (managedFields, status conditions, container specs,
// unread annotations ... never enter the cache), repeated strings are
// interned, and endpoint `conditions` objects are shared (there are only 27
// combinations) and frozen. `apiVersion`/`kind` are not kept: the store a
// controller reads from already says which kind it holds.
//
// A malformed object (no metadata.name, a field of the wrong type) throws an
// ObjectError naming `Kind ns/name` and the field path; the reflector logs,
// counts and skips it.

import { ObjectError } from '../errors.js';
import { interner } from './intern.js';
import {
  FieldError,
  asObj,
  iStrEl,
  isObj,
  nested,
  optArr,
  optBool,
  optIStr,
  optIntOrStr,
  optNum,
  optStr,
  optStrMap,
  reqStr,
  slimMeta,
  slimSelector,
  strEl,
  type Raw,
} from './slim-read.js';
import type {
  ContainerPort,
  Endpoint,
  EndpointConditions,
  EndpointPort,
  EndpointSlice,
  KindMap,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Node,
  Pod,
  Protocol,
  ResourceKind,
  Service,
  ServicePort,
} from './types.js';

type Mut<T> = { -readonly [K in keyof T]: T[K] };

// ---- EndpointSlice ----

const conditionCache = new Map<number, EndpointConditions>();

function tri(v: boolean | undefined): number {
  return v === undefined ? 0 : v ? 1 : 2;
}

/** One shared frozen object per (ready, serving, terminating) combination. */
function sharedConditions(c: Raw): EndpointConditions {
  const ready = optBool(c, 'ready');
  const serving = optBool(c, 'serving');
  const terminating = optBool(c, 'terminating');
  const key = tri(ready) * 9 + tri(serving) * 3 + tri(terminating);
  let hit = conditionCache.get(key);
  if (hit === undefined) {
    const o: EndpointConditions = {};
    if (ready !== undefined) o.ready = ready;
    if (serving !== undefined) o.serving = serving;
    if (terminating !== undefined) o.terminating = terminating;
    hit = Object.freeze(o);
    conditionCache.set(key, hit);
  }
  return hit;
}

function slimTargetRef(r: Raw): NonNullable<Endpoint['targetRef']> {
  const kind = optIStr(r, 'kind');
  const namespace = optIStr(r, 'namespace');
  const name = optStr(r, 'name');
  // One literal for the usual shape: its properties live in-object (no
  // out-of-object property array as incremental assignment would create).
  if (kind !== undefined && namespace !== undefined && name !== undefined) return { kind, namespace, name };
  const out: NonNullable<Endpoint['targetRef']> = {};
  if (kind !== undefined) out.kind = kind;
  if (namespace !== undefined) out.namespace = namespace;
  if (name !== undefined) out.name = name;
  return out;
}

function slimHints(h: Raw): NonNullable<Endpoint['hints']> {
  const out: NonNullable<Endpoint['hints']> = {};
  const fz = optArr(h, 'forZones', (z) => ({ name: iStrEl(asObj(z).name) }));
  if (fz !== undefined) out.forZones = fz;
  const fn = optArr(h, 'forNodes', (z) => ({ name: iStrEl(asObj(z).name) }));
  if (fn !== undefined) out.forNodes = fn;
  return out;
}

function slimEndpoint(el: unknown): Endpoint {
  const e = asObj(el);
  const addresses = optArr(e, 'addresses', strEl);
  if (addresses === undefined) throw new FieldError('addresses', 'required');
  const conditions = nested(e, 'conditions', sharedConditions);
  const hostname = optStr(e, 'hostname');
  const nodeName = optIStr(e, 'nodeName');
  const zone = optIStr(e, 'zone');
  const hints = nested(e, 'hints', slimHints);
  const targetRef = nested(e, 'targetRef', slimTargetRef);
  // Endpoints are the bulk of the cache (100,000s): build the common shapes
  // as single literals so every property is stored in-object.
  if (conditions !== undefined && nodeName !== undefined && targetRef !== undefined && hostname === undefined && hints === undefined) {
    if (zone !== undefined) return { addresses, conditions, nodeName, zone, targetRef };
    return { addresses, conditions, nodeName, targetRef };
  }
  const ep: Endpoint = { addresses };
  if (conditions !== undefined) ep.conditions = conditions;
  if (hostname !== undefined) ep.hostname = hostname;
  if (nodeName !== undefined) ep.nodeName = nodeName;
  if (zone !== undefined) ep.zone = zone;
  if (hints !== undefined) ep.hints = hints;
  if (targetRef !== undefined) ep.targetRef = targetRef;
  return ep;
}

function slimEndpointPort(el: unknown): EndpointPort {
  const p = asObj(el);
  const out: EndpointPort = {};
  const name = optIStr(p, 'name');
  if (name !== undefined) out.name = name;
  const protocol = optIStr(p, 'protocol');
  if (protocol !== undefined) out.protocol = protocol as Protocol;
  const port = optNum(p, 'port');
  if (port !== undefined) out.port = port;
  const ap = optIStr(p, 'appProtocol');
  if (ap !== undefined) out.appProtocol = ap;
  return out;
}

export function slimEndpointSlice(raw: Raw): EndpointSlice {
  const metadata = slimMeta(raw);
  const addressType = optIStr(raw, 'addressType');
  if (addressType === undefined) throw new FieldError('addressType', 'required');
  const s: EndpointSlice = {
    metadata,
    addressType: addressType as EndpointSlice['addressType'],
    endpoints: optArr(raw, 'endpoints', slimEndpoint) ?? [],
  };
  const ports = optArr(raw, 'ports', slimEndpointPort);
  if (ports !== undefined) s.ports = ports;
  return s;
}

// ---- Service ----

function slimServicePort(el: unknown): ServicePort {
  const p = asObj(el);
  const port = optNum(p, 'port');
  if (port === undefined) throw new FieldError('port', 'required');
  const out: ServicePort = { port };
  const name = optIStr(p, 'name');
  if (name !== undefined) out.name = name;
  const protocol = optIStr(p, 'protocol');
  if (protocol !== undefined) out.protocol = protocol as Protocol;
  const tp = optIntOrStr(p, 'targetPort');
  if (tp !== undefined) out.targetPort = tp;
  const np = optNum(p, 'nodePort');
  if (np !== undefined) out.nodePort = np;
  const ap = optIStr(p, 'appProtocol');
  if (ap !== undefined) out.appProtocol = ap;
  return out;
}

type ServiceSpec = Mut<Service['spec']>;

function slimServiceSpec(sp: Raw): ServiceSpec {
  const spec: ServiceSpec = {};
  const set = <K extends keyof ServiceSpec>(k: K, v: ServiceSpec[K] | undefined): void => {
    if (v !== undefined) spec[k] = v;
  };
  set('type', optIStr(sp, 'type') as ServiceSpec['type']);
  set('clusterIP', optStr(sp, 'clusterIP'));
  set('clusterIPs', optArr(sp, 'clusterIPs', strEl));
  set('ipFamilies', optArr(sp, 'ipFamilies', iStrEl) as ServiceSpec['ipFamilies']);
  set('ipFamilyPolicy', optIStr(sp, 'ipFamilyPolicy') as ServiceSpec['ipFamilyPolicy']);
  set('ports', optArr(sp, 'ports', slimServicePort));
  set('selector', optStrMap(sp, 'selector'));
  set('externalIPs', optArr(sp, 'externalIPs', strEl));
  set('externalName', optStr(sp, 'externalName'));
  set('externalTrafficPolicy', optIStr(sp, 'externalTrafficPolicy') as ServiceSpec['externalTrafficPolicy']);
  set('internalTrafficPolicy', optIStr(sp, 'internalTrafficPolicy') as ServiceSpec['internalTrafficPolicy']);
  set('healthCheckNodePort', optNum(sp, 'healthCheckNodePort'));
  set('sessionAffinity', optIStr(sp, 'sessionAffinity') as ServiceSpec['sessionAffinity']);
  set(
    'sessionAffinityConfig',
    nested(sp, 'sessionAffinityConfig', (c) => {
      const clientIP = nested(c, 'clientIP', (ci) => {
        const t = optNum(ci, 'timeoutSeconds');
        return t === undefined ? {} : { timeoutSeconds: t };
      });
      return clientIP === undefined ? {} : { clientIP };
    }),
  );
  set('loadBalancerIP', optStr(sp, 'loadBalancerIP'));
  set('loadBalancerSourceRanges', optArr(sp, 'loadBalancerSourceRanges', strEl));
  set('loadBalancerClass', optIStr(sp, 'loadBalancerClass'));
  set('publishNotReadyAddresses', optBool(sp, 'publishNotReadyAddresses'));
  set('trafficDistribution', optIStr(sp, 'trafficDistribution'));
  return spec;
}

export function slimService(raw: Raw): Service {
  const metadata = slimMeta(raw);
  const svc: Service = { metadata, spec: nested(raw, 'spec', slimServiceSpec) ?? {} };
  const ingress = nested(raw, 'status', (st) =>
    nested(st, 'loadBalancer', (lb) =>
      optArr(lb, 'ingress', (el) => {
        const i = asObj(el);
        const out: { ip?: string; hostname?: string; ipMode?: 'VIP' | 'Proxy' } = {};
        const ip = optStr(i, 'ip');
        if (ip !== undefined) out.ip = ip;
        const hn = optStr(i, 'hostname');
        if (hn !== undefined) out.hostname = hn;
        const mode = optIStr(i, 'ipMode');
        if (mode !== undefined) out.ipMode = mode as 'VIP' | 'Proxy';
        return out;
      }),
    ),
  );
  if (ingress !== undefined && ingress.length > 0) svc.status = { loadBalancer: { ingress } };
  return svc;
}

// ---- Node ----

export function slimNode(raw: Raw): Node {
  const metadata = slimMeta(raw);
  const spec: Mut<Node['spec']> = {};
  nested(raw, 'spec', (sp) => {
    const podCIDR = optStr(sp, 'podCIDR');
    if (podCIDR !== undefined) spec.podCIDR = podCIDR;
    const podCIDRs = optArr(sp, 'podCIDRs', strEl);
    if (podCIDRs !== undefined) spec.podCIDRs = podCIDRs;
    const u = optBool(sp, 'unschedulable');
    if (u !== undefined) spec.unschedulable = u;
    const pid = optStr(sp, 'providerID');
    if (pid !== undefined) spec.providerID = pid;
  });
  const node: Node = { metadata, spec };
  const addresses = nested(raw, 'status', (st) =>
    optArr(st, 'addresses', (el) => {
      const a = asObj(el);
      return { type: interner.intern(reqStr(a, 'type')) as 'InternalIP', address: reqStr(a, 'address') };
    }),
  );
  if (addresses !== undefined) node.status = { addresses };
  return node;
}

// ---- Pod ----

function slimContainerPort(el: unknown): ContainerPort {
  const p = asObj(el);
  const containerPort = optNum(p, 'containerPort');
  if (containerPort === undefined) throw new FieldError('containerPort', 'required');
  const out: ContainerPort = { containerPort };
  const name = optIStr(p, 'name');
  if (name !== undefined) out.name = name;
  const protocol = optIStr(p, 'protocol');
  if (protocol !== undefined) out.protocol = protocol as Protocol;
  const hp = optNum(p, 'hostPort');
  if (hp !== undefined) out.hostPort = hp;
  return out;
}

export function slimPod(raw: Raw): Pod {
  const metadata = slimMeta(raw);
  const spec: Mut<Pod['spec']> = { containers: [] };
  nested(raw, 'spec', (sp) => {
    const nodeName = optIStr(sp, 'nodeName');
    if (nodeName !== undefined) spec.nodeName = nodeName;
    const hn = optBool(sp, 'hostNetwork');
    if (hn !== undefined) spec.hostNetwork = hn;
    const tg = optNum(sp, 'terminationGracePeriodSeconds');
    if (tg !== undefined) spec.terminationGracePeriodSeconds = tg;
    spec.containers =
      optArr(sp, 'containers', (el) => {
        const c = asObj(el);
        const out: { name: string; ports?: ContainerPort[] } = { name: interner.intern(reqStr(c, 'name')) };
        const ports = optArr(c, 'ports', slimContainerPort);
        if (ports !== undefined && ports.length > 0) out.ports = ports;
        return out;
      }) ?? [];
  });
  const pod: Pod = { metadata, spec };
  const status = nested(raw, 'status', (st) => {
    const out: Mut<NonNullable<Pod['status']>> = {};
    const phase = optIStr(st, 'phase');
    if (phase !== undefined) out.phase = phase as 'Running';
    const podIP = optStr(st, 'podIP');
    if (podIP !== undefined) out.podIP = podIP;
    const podIPs = optArr(st, 'podIPs', (el) => ({ ip: reqStr(asObj(el), 'ip') }));
    if (podIPs !== undefined) out.podIPs = podIPs;
    const hostIP = optIStr(st, 'hostIP');
    if (hostIP !== undefined) out.hostIP = hostIP;
    return out;
  });
  if (status !== undefined) pod.status = status;
  return pod;
}

// ---- Namespace ----

export function slimNamespace(raw: Raw): Namespace {
  const ns: Namespace = { metadata: slimMeta(raw) };
  const phase = nested(raw, 'status', (st) => optIStr(st, 'phase'));
  if (phase !== undefined) ns.status = { phase: phase as 'Active' };
  return ns;
}

// ---- NetworkPolicy ----

function slimPeer(el: unknown): NetworkPolicyPeer {
  const p = asObj(el);
  const out: NetworkPolicyPeer = {};
  const ps = nested(p, 'podSelector', slimSelector);
  if (ps !== undefined) out.podSelector = ps;
  const nss = nested(p, 'namespaceSelector', slimSelector);
  if (nss !== undefined) out.namespaceSelector = nss;
  const ib = nested(p, 'ipBlock', (b) => {
    const block: { cidr: string; except?: string[] } = { cidr: reqStr(b, 'cidr') };
    const except = optArr(b, 'except', strEl);
    if (except !== undefined) block.except = except;
    return block;
  });
  if (ib !== undefined) out.ipBlock = ib;
  return out;
}

function slimPolicyPort(el: unknown): NetworkPolicyPort {
  const p = asObj(el);
  const out: NetworkPolicyPort = {};
  const protocol = optIStr(p, 'protocol');
  if (protocol !== undefined) out.protocol = protocol as Protocol;
  const port = optIntOrStr(p, 'port');
  if (port !== undefined) out.port = port;
  const end = optNum(p, 'endPort');
  if (end !== undefined) out.endPort = end;
  return out;
}

export function slimNetworkPolicy(raw: Raw): NetworkPolicy {
  const metadata = slimMeta(raw);
  const spec: Mut<NetworkPolicy['spec']> = { podSelector: {} };
  nested(raw, 'spec', (sp) => {
    spec.podSelector = nested(sp, 'podSelector', slimSelector) ?? {};
    const pt = optArr(sp, 'policyTypes', iStrEl);
    if (pt !== undefined) spec.policyTypes = pt as ('Ingress' | 'Egress')[];
    const ingress = optArr(sp, 'ingress', (el) => {
      const r = asObj(el);
      const rule: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] } = {};
      const from = optArr(r, 'from', slimPeer);
      if (from !== undefined) rule.from = from;
      const ports = optArr(r, 'ports', slimPolicyPort);
      if (ports !== undefined) rule.ports = ports;
      return rule;
    });
    if (ingress !== undefined) spec.ingress = ingress;
    const egress = optArr(sp, 'egress', (el) => {
      const r = asObj(el);
      const rule: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] } = {};
      const to = optArr(r, 'to', slimPeer);
      if (to !== undefined) rule.to = to;
      const ports = optArr(r, 'ports', slimPolicyPort);
      if (ports !== undefined) rule.ports = ports;
      return rule;
    });
    if (egress !== undefined) spec.egress = egress;
  });
  return { metadata, spec };
}

// ---- entry point ----

const SLIMMERS: { [K in ResourceKind]: (raw: Raw) => KindMap[K] } = {
  Service: slimService,
  EndpointSlice: slimEndpointSlice,
  Node: slimNode,
  Pod: slimPod,
  Namespace: slimNamespace,
  NetworkPolicy: slimNetworkPolicy,
};

/** `Kind ns/name` of a raw object, as far as it can be read (for messages). */
export function describeRaw(kind: ResourceKind, raw: unknown): string {
  const m = isObj(raw) && isObj(raw.metadata) ? raw.metadata : undefined;
  const name = m && typeof m.name === 'string' ? m.name : '<no name>';
  const ns = m && typeof m.namespace === 'string' && m.namespace !== '' ? `${m.namespace}/` : '';
  return `${kind} ${ns}${name}`;
}

/** Slims one raw object of `kind`; throws ObjectError when it is malformed. */
export function slim<K extends ResourceKind>(kind: K, raw: unknown): KindMap[K] {
  try {
    if (!isObj(raw)) throw new FieldError('', `expected an object`);
    return SLIMMERS[kind](raw) as KindMap[K];
  } catch (err) {
    if (err instanceof FieldError) throw new ObjectError(describeRaw(kind, raw), err.field || '.', err.message);
    throw err;
  }
}
