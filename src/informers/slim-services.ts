// Slimming of the service-proxy kinds: Service and EndpointSlice (the bulk
// of the cache: endpoints are built as single literals so their properties
// live in-object, and conditions objects are shared). See slim.ts.

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
  optStrMap,
  slimMeta,
  strEl,
  type Raw,
} from './slim-read.js';
import type { Endpoint, EndpointConditions, EndpointPort, EndpointSlice, Protocol, Service, ServicePort } from './types.js';

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

