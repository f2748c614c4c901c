// Pod status as the lab kubelet reports it (status subresource merge patches).

import type { StoredObject } from '../../apiserver/types.js';
import type { PodRecord } from './state.js';

interface PodSpecView {
  containers?: { name: string; image?: string }[];
}

function containersOf(pod: StoredObject): { name: string; image?: string }[] {
  const spec = (pod.spec ?? {}) as PodSpecView;
  return Array.isArray(spec.containers) ? spec.containers : [];
}

function condition(type: string, ok: boolean, now: string, reason?: string, message?: string): Record<string, unknown> {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** status of a pod whose sandbox and responder are up. */
export function runningStatus(pod: StoredObject, rec: PodRecord, hostIP: string, now = new Date().toISOString()): Record<string, unknown> {
  return {
    phase: 'Running',
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: rec.ips[0],
    podIPs: rec.ips.map((ip) => ({ ip })),
    startTime: rec.startTime,
    conditions: [
      condition('PodReadyToStartContainers', true, now),
      condition('Initialized', true, now),
      condition('Ready', true, now),
      condition('ContainersReady', true, now),
      condition('PodScheduled', true, now),
    ],
    containerStatuses: containersOf(pod).map((c) => ({
      name: c.name,
      image: c.image ?? 'kube-router-lab/responder',
      imageID: '',
      containerID: `lab://${rec.containerID ?? rec.uid}`,
      ready: true,
      started: true,
      restartCount: rec.restartCount,
      state: { running: { startedAt: rec.startTime } },
    })),
  };
}

/** status of a pod the kubelet could not set up (yet): Pending, not Ready, with the error. */
export function pendingStatus(pod: StoredObject, hostIP: string, message: string, now = new Date().toISOString()): Record<string, unknown> {
  return {
    phase: 'Pending',
    hostIP,
    hostIPs: [{ ip: hostIP }],
    conditions: [
      condition('Initialized', true, now),
      condition('Ready', false, now, 'ContainersNotReady', message),
      condition('ContainersReady', false, now, 'ContainersNotReady', message),
      condition('PodScheduled', true, now),
    ],
    containerStatuses: containersOf(pod).map((c) => ({
      name: c.name,
      image: c.image ?? 'kube-router-lab/responder',
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: { waiting: { reason: 'ContainerCreating', message } },
    })),
  };
}

interface StatusView {
  phase?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  hostIP?: string;
  conditions?: { type: string; status: string; message?: string }[];
  containerStatuses?: { restartCount?: number }[];
}

/** Whether the pod's current status already says what runningStatus would. */
export function statusIsRunning(pod: StoredObject, rec: PodRecord, hostIP: string): boolean {
  const s = (pod.status ?? {}) as StatusView;
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  return (
    s.phase === 'Running' &&
    s.hostIP === hostIP &&
    s.podIP === rec.ips[0] &&
    (s.podIPs ?? []).map((p) => p.ip).join(',') === rec.ips.join(',') &&
    ready?.status === 'True' &&
    (s.containerStatuses ?? []).every((c) => (c.restartCount ?? 0) === rec.restartCount)
  );
}

/** The message of the pod's current not-Ready condition, if any. */
export function pendingMessage(pod: StoredObject): string | undefined {
  const s = (pod.status ?? {}) as StatusView;
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  return s.phase === 'Pending' && ready?.status === 'False' ? ready.message : undefined;
}
