// Slimming of Node, Pod, Namespace and NetworkPolicy. See slim.ts.

import { interner } from './intern.js';
import {
  FieldError,
  asObj,
  iStrEl,
  nested,
  optArr,
  optBool,
  optIStr,
  optIntOrStr,
  optNum,
  optStr,
  reqStr,
  slimMeta,
  slimSelector,
  strEl,
  type Raw,
} from './slim-read.js';
import type { ContainerPort, Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Node, Pod, Protocol } from './types.js';

type Mut<T> = { -readonly [K in keyof T]: T[K] };

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

