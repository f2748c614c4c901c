// kube-router's service annotations and labels, read as kube-router v2.11
// reads them (pkg/controllers/proxy/network_services_controller.go; see
// kube-router-reference 2.1). Unknown values become ObjectErrors naming the
// Service and the annotation, and fall back to kube-router's default.

import { ObjectError } from '../../errors.js';
import type { Service } from '../../informers/types.js';
import { SvcFlag } from '../../kernel/ipvs/attrs.js';

export const ANN_SCHEDULER = 'kube-router.io/service.scheduler';
export const ANN_SCHED_FLAGS = 'kube-router.io/service.schedflags';
export const ANN_LOCAL = 'kube-router.io/service.local';
export const ANN_SKIP_LB_IPS = 'kube-router.io/service.skiplbips';
export const ANN_HAIRPIN = 'kube-router.io/service.hairpin';
export const ANN_HAIRPIN_EXTERNAL_IPS = 'kube-router.io/service.hairpin.externalips';
export const ANN_DSR = 'kube-router.io/service.dsr';

export const LABEL_SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const PROXY_NAME = 'kube-router';

/** Annotations whose change can alter the compiled result (the change tracker ignores the others). */
export const PROXY_ANNOTATIONS: readonly string[] = [
  ANN_SCHEDULER,
  ANN_SCHED_FLAGS,
  ANN_LOCAL,
  ANN_SKIP_LB_IPS,
  ANN_HAIRPIN,
  ANN_HAIRPIN_EXTERNAL_IPS,
  ANN_DSR,
];
/** Labels whose change can alter the compiled result. */
export const PROXY_LABELS: readonly string[] = [LABEL_SERVICE_PROXY_NAME, LABEL_HEADLESS];

export const SCHEDULERS = ['rr', 'lc', 'dh', 'sh', 'mh'] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

/** `kube-router.io/service.schedflags` tokens → IPVS_SVC_F_SCHED1/2/3. */
const SCHED_FLAG_BITS: Record<string, number> = {
  'flag-1': SvcFlag.SCHED1, // 0x08, mh-fallback
  'flag-2': SvcFlag.SCHED2, // 0x10, mh-port
  'flag-3': SvcFlag.SCHED3, // 0x20
};

export interface ServiceAnnotations {
  scheduler: Scheduler;
  /** IPVS scheduler flags (only with `mh`, as kube-router). */
  schedFlags: number;
  /** `kube-router.io/service.local: "true"`: external traffic policy Local. */
  local: boolean;
  skipLbIps: boolean;
  hairpin: boolean;
  hairpinExternalIps: boolean;
  /** `kube-router.io/service.dsr: tunnel`: external IPs and LoadBalancer IPs served in DSR mode. */
  dsr: boolean;
}

export function serviceRef(svc: Service): string {
  return `Service ${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
}

function annField(name: string): string {
  return `metadata.annotations[${name}]`;
}

/** Reads the proxy annotations of a Service; `warnings` receives one ObjectError per bad value. */
export function readAnnotations(svc: Service, warnings: ObjectError[]): ServiceAnnotations {
  const ann = svc.metadata.annotations ?? {};
  const ref = serviceRef(svc);

  let scheduler: Scheduler = 'rr';
  const rawSched = ann[ANN_SCHEDULER];
  if (rawSched !== undefined) {
    const v = rawSched.trim();
    if ((SCHEDULERS as readonly string[]).includes(v)) scheduler = v as Scheduler;
    else
      warnings.push(
        new ObjectError(ref, annField(ANN_SCHEDULER), `unknown scheduler (expected one of ${SCHEDULERS.join(', ')}); using rr`, rawSched),
      );
  }

  let schedFlags = 0;
  const rawFlags = ann[ANN_SCHED_FLAGS];
  if (rawFlags !== undefined && rawFlags.trim() !== '') {
    for (const tok of rawFlags.split(',')) {
      const t = tok.trim();
      if (t === '') continue;
      const bit = SCHED_FLAG_BITS[t];
      if (bit === undefined) {
        warnings.push(new ObjectError(ref, annField(ANN_SCHED_FLAGS), 'unknown flag (expected flag-1, flag-2, flag-3); ignored', t));
        continue;
      }
      schedFlags |= bit;
    }
    // kube-router passes the flags to IPVS only for the maglev scheduler.
    if (scheduler !== 'mh') schedFlags = 0;
  }

  // kube-router takes the DSR path for `tunnel` only; any other value leaves the service in NAT mode.
  const rawDsr = ann[ANN_DSR];
  const dsr = rawDsr !== undefined && rawDsr.trim() === 'tunnel';
  if (rawDsr !== undefined && !dsr) {
    warnings.push(new ObjectError(ref, annField(ANN_DSR), "only 'tunnel' is supported; service left in NAT mode", rawDsr));
  }

  return {
    scheduler,
    schedFlags,
    // kube-router compares the value with "true" exactly.
    local: ann[ANN_LOCAL] === 'true',
    // The three below: presence of the key, whatever the value (kube-router's `_, ok := annotations[...]`).
    skipLbIps: ANN_SKIP_LB_IPS in ann,
    hairpin: ANN_HAIRPIN in ann,
    hairpinExternalIps: ANN_HAIRPIN_EXTERNAL_IPS in ann,
    dsr,
  };
}

/**
 * Why the proxy leaves this Service alone, or '' when it proxies it:
 * ExternalName, headless (clusterIP None or the headless label), or another
 * proxy's service (`service.kubernetes.io/service-proxy-name` not kube-router).
 */
export function skipReason(svc: Service): string {
  if (svc.spec.type === 'ExternalName') return 'ExternalName';
  const labels = svc.metadata.labels ?? {};
  const proxyName = labels[LABEL_SERVICE_PROXY_NAME];
  if (proxyName !== undefined && proxyName !== PROXY_NAME) return `service-proxy-name ${proxyName}`;
  if (LABEL_HEADLESS in labels) return 'headless label';
  if (svc.spec.clusterIP === 'None') return 'headless (clusterIP None)';
  return '';
}
