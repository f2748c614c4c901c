// Validation of a Service's ports and VIP fields. A bad entry becomes an
// ObjectError naming the Service and the field (`spec.ports[2]`,
// `spec.externalIPs[0]` ...) and is left out; the rest of the Service is
// still compiled.

import { ObjectError } from '../../errors.js';
import type { Protocol, Service } from '../../informers/types.js';
import { serviceRef } from './annotations.js';
import { parseIp, type IpFamilyName } from './validate-ip.js';

const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];

export interface ValidPort {
  index: number;
  name: string;
  protocol: Protocol;
  port: number;
  /** 0 when the port has no node port. */
  nodePort: number;
}

function isPort(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 65535;
}

/** The ports of a Service that can be proxied, in spec order. */
export function validPorts(svc: Service, warnings: ObjectError[]): ValidPort[] {
  const ref = serviceRef(svc);
  const out: ValidPort[] = [];
  const wantNodePort = svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer';
  (svc.spec.ports ?? []).forEach((p, i) => {
    const field = `spec.ports[${i}]`;
    // Objects come from JSON: the declared types are not guaranteed at run time.
    const raw = p as unknown as Record<string, unknown>;
    const protocol = raw.protocol === undefined ? 'TCP' : raw.protocol;
    if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol)) {
      warnings.push(new ObjectError(ref, `${field}.protocol`, 'unknown protocol (expected TCP, UDP or SCTP); port ignored', String(protocol)));
      return;
    }
    if (!isPort(raw.port, 1)) {
      warnings.push(new ObjectError(ref, `${field}.port`, 'not a port number (1-65535); port ignored', String(raw.port)));
      return;
    }
    let nodePort = 0;
    if (wantNodePort && raw.nodePort !== undefined && raw.nodePort !== 0) {
      if (isPort(raw.nodePort, 1)) nodePort = raw.nodePort;
      else warnings.push(new ObjectError(ref, `${field}.nodePort`, 'not a port number (1-65535); no NodePort', String(raw.nodePort)));
    }
    const name = typeof raw.name === 'string' ? raw.name : '';
    out.push({ index: i, name, protocol: protocol as Protocol, port: raw.port, nodePort });
  });
  return out;
}

export interface ValidIp {
  addr: string;
  family: IpFamilyName;
}

/**
 * The addresses of a list field, canonical and deduped (first occurrence
 * kept), each bad entry a warning naming `field[i]`.
 */
export function validIps(
  svc: Service,
  field: string,
  list: readonly unknown[] | undefined,
  warnings: ObjectError[],
  ignore: (raw: unknown) => boolean = () => false,
): ValidIp[] {
  const out: ValidIp[] = [];
  const seen = new Set<string>();
  (list ?? []).forEach((raw, i) => {
    if (ignore(raw)) return;
    const ip = typeof raw === 'string' ? parseIp(raw.trim()) : undefined;
    if (!ip) {
      warnings.push(new ObjectError(serviceRef(svc), `${field}[${i}]`, 'not an IP address; ignored', String(raw)));
      return;
    }
    if (seen.has(ip.addr)) return;
    seen.add(ip.addr);
    out.push(ip);
  });
  return out;
}

/** ClusterIPs: `spec.clusterIPs`, or `spec.clusterIP` when the list is absent (older objects). */
export function clusterIps(svc: Service, warnings: ObjectError[]): ValidIp[] {
  const s = svc.spec;
  if (s.clusterIPs && s.clusterIPs.length > 0) {
    return validIps(svc, 'spec.clusterIPs', s.clusterIPs, warnings, (ip) => ip === '' || ip === 'None');
  }
  if (s.clusterIP && s.clusterIP !== 'None') return validIps(svc, 'spec.clusterIP', [s.clusterIP], warnings);
  return [];
}
