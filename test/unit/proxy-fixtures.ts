// Builders of Service / EndpointSlice fixtures and of expected IPVS state for
// the proxy compiler tests.

import type { EndpointSlice, Endpoint, EndpointPort, Service, ServicePort } from '../../src/informers/types.js';
import { createCompileContext, type CompileContext } from '../../src/controllers/proxy/compile-context.js';
import type { NodeInfo, ProxyFlags } from '../../src/controllers/proxy/model.js';
import type { CompiledService, VirtualService } from '../../src/controllers/proxy/model.js';
import { ipvsDestination, ipvsService, type IpvsProtocol } from '../../src/kernel/ipvs/types.js';
import { SvcFlag } from '../../src/kernel/ipvs/attrs.js';

export const NODE = 'node-a';
export const NODE_IP = '192.168.1.10';
export const NODE_IP6 = 'fd00:1::10';

export function flags(over: Partial<ProxyFlags> = {}): ProxyFlags {
  return {
    serviceClusterIpRange: ['10.96.0.0/12', 'fd00:96::/112'],
    serviceExternalIpRange: ['203.0.113.0/24', '2001:db8:e::/64'],
    loadbalancerIpRange: ['198.51.100.0/24'],
    strictExternalIpValidation: true,
    nodeportBindonAllIp: false,
    hairpinMode: false,
    masqueradeAll: false,
    clusterCidrs: ['10.244.0.0/16'],
    ipFamilies: ['IPv4', 'IPv6'],
    ...over,
  };
}

export function node(over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    name: NODE,
    zone: '',
    primaryIPs: { IPv4: NODE_IP, IPv6: NODE_IP6 },
    nodeIPs: { IPv4: [NODE_IP], IPv6: [NODE_IP6] },
    localIPs: [NODE_IP, '172.16.0.10', NODE_IP6],
    ...over,
  };
}

export function ctx(f: Partial<ProxyFlags> = {}, n: Partial<NodeInfo> = {}): CompileContext {
  return createCompileContext(node(n), flags(f));
}

export interface SvcInit {
  ns?: string;
  name?: string;
  type?: Service['spec']['type'];
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  spec?: Partial<Service['spec']>;
  status?: Service['status'];
  resourceVersion?: string;
}

export function svc(init: SvcInit = {}): Service {
  const clusterIP = init.clusterIP ?? '10.96.0.10';
  return {
    metadata: {
      name: init.name ?? 'web',
      namespace: init.ns ?? 'default',
      resourceVersion: init.resourceVersion ?? '1',
      ...(init.annotations ? { annotations: init.annotations } : {}),
      ...(init.labels ? { labels: init.labels } : {}),
    },
    spec: {
      type: init.type ?? 'ClusterIP',
      clusterIP,
      clusterIPs: init.clusterIPs ?? [clusterIP],
      ports: init.ports ?? [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      selector: { app: 'web' },
      ...init.spec,
    },
    ...(init.status ? { status: init.status } : {}),
  };
}

export interface EpInit {
  ip: string | string[];
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  /** hints.forZones names (topology). */
  forZones?: string[];
  /** hints.forNodes names (topology). */
  forNodes?: string[];
  /** targetRef Pod `name` (namespace of the slice). */
  pod?: string;
}

export function ep(ip: string, node = NODE, cond: Omit<EpInit, 'ip' | 'node'> = {}): EpInit {
  return { ip, node, ...cond };
}

export interface SliceInit {
  ns?: string;
  service?: string;
  name?: string;
  addressType?: EndpointSlice['addressType'];
  ports?: EndpointPort[];
  endpoints?: EpInit[];
  resourceVersion?: string;
}

export function slice(init: SliceInit = {}): EndpointSlice {
  const service = init.service ?? 'web';
  const endpoints: Endpoint[] = (init.endpoints ?? []).map((e) => {
    const conditions: Endpoint['conditions'] = {};
    if (e.ready !== undefined) conditions.ready = e.ready;
    if (e.serving !== undefined) conditions.serving = e.serving;
    if (e.terminating !== undefined) conditions.terminating = e.terminating;
    return {
      addresses: Array.isArray(e.ip) ? e.ip : [e.ip],
      conditions: Object.keys(conditions).length ? conditions : { ready: true },
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', namespace: init.ns ?? 'default', name: e.pod } } : {}),
      ...(e.forZones || e.forNodes
        ? {
            hints: {
              ...(e.forZones ? { forZones: e.forZones.map((name) => ({ name })) } : {}),
              ...(e.forNodes ? { forNodes: e.forNodes.map((name) => ({ name })) } : {}),
            },
          }
        : {}),
    };
  });
  return {
    metadata: {
      name: init.name ?? `${service}-abcde`,
      namespace: init.ns ?? 'default',
      resourceVersion: init.resourceVersion ?? '1',
      labels: { 'kubernetes.io/service-name': service },
    },
    addressType: init.addressType ?? 'IPv4',
    endpoints,
    ports: init.ports ?? [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

// ---- expected IPVS state ----

export interface VsInit {
  kind?: VirtualService['kind'];
  portName?: string;
  protocol?: IpvsProtocol;
  scheduler?: string;
  flags?: number;
  timeout?: number;
}

/** `vs('10.96.0.10', 80, ['10.244.1.5:8080'])` */
export function vs(address: string, port: number, dests: string[], init: VsInit = {}): VirtualService {
  return {
    kind: init.kind ?? 'ClusterIP',
    portName: init.portName ?? 'http',
    service: ipvsService({
      protocol: init.protocol ?? 'TCP',
      address,
      port,
      scheduler: init.scheduler ?? 'rr',
      flags: init.flags ?? 0,
      timeout: init.timeout ?? 0,
    }),
    destinations: dests.map((d) => {
      const i = d.lastIndexOf(':');
      const addr = d.slice(0, i).replace(/^\[|\]$/g, '');
      return ipvsDestination({ address: addr, port: Number(d.slice(i + 1)) });
    }),
  };
}

export const PERSISTENT = SvcFlag.PERSISTENT;

/** Compact rendering of the virtual services, for readable assertion failures. */
export function render(c: CompiledService): string[] {
  return c.services.map(
    (v) =>
      `${v.kind} ${v.service.protocol} ${v.service.address}:${v.service.port} ${v.service.scheduler}` +
      `${v.service.flags ? ` f=${v.service.flags}` : ''}${v.service.timeout ? ` t=${v.service.timeout}` : ''}` +
      ` -> ${v.destinations.map((d) => `${d.address}:${d.port}`).join(',')}`,
  );
}

/** Messages of the warnings, for assertions. */
export function warningFields(c: CompiledService): string[] {
  return c.warnings.map((w) => `${String(w.context.object)} ${String(w.context.field)}`);
}

/** Deterministic shuffle (a fixed permutation seed), for order-independence tests. */
export function permute<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
