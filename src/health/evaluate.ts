// Pure health evaluation for /healthz and /readyz: from the cache state and
// each enabled controller's ControllerHealth at time `now`, decide whether the
// agent is alive and build the JSON body (which always lists every enabled
// controller, so the lab can read lastSyncResourceVersion from it).
//
// A running controller is healthy when its last successful sync is at most
// periodMs old, or when a sync is running and has started or reported
// progress within progressTimeoutMs (a long firewall sync on a big cluster
// must not get the agent killed: kube-router issue #945). Before its first
// successful sync a controller is unhealthy. Controllers that are enabled but
// not running (not built yet) are listed but do not decide the status.

import type { ControllerHealth } from '../controllers/controller.js';

export interface HealthEntry {
  name: string;
  /** false for an enabled controller that has no implementation yet. */
  running: boolean;
  /** Why it is not running (when running is false). */
  note?: string;
  /** The kinds the controller watches (reported so the lab knows which changes it must apply). */
  kinds?: readonly string[];
  health?: ControllerHealth;
}

export interface HealthInputs {
  now: number;
  cacheSynced: boolean;
  resourceVersion: string;
  controllers: HealthEntry[];
}

export interface ControllerReport {
  name: string;
  running: boolean;
  healthy: boolean;
  reason?: string;
  /** The kinds it watches (running controllers). */
  kinds?: string[];
  /** RFC 3339 time of the end of the last successful sync. */
  lastSyncAt?: string;
  lastSyncResourceVersion?: string;
  periodSeconds?: number;
  syncingSince?: string;
  lastProgressAt?: string;
  lastError?: string;
}

export interface HealthReport {
  status: 'ok' | 'unhealthy';
  /** Liveness (/healthz). */
  healthy: boolean;
  /** Readiness (/readyz): cache synced and every running controller synced once. */
  ready: boolean;
  /** Set when not healthy; names the stale controllers. */
  reason?: string;
  cacheSynced: boolean;
  resourceVersion: string;
  controllers: ControllerReport[];
}

function rfc3339(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Healthy or not, and why not. */
export function judgeController(h: ControllerHealth, now: number): { healthy: boolean; reason?: string } {
  const progressTimeout = h.progressTimeoutMs ?? h.periodMs;
  const syncing = h.syncingSince !== undefined;
  const lastSign = syncing ? Math.max(h.syncingSince ?? 0, h.lastProgressAt ?? 0) : undefined;
  const errorNote = h.lastError !== undefined ? `; last error: ${h.lastError}` : '';
  if (h.lastSyncAt === undefined) {
    if (syncing) return { healthy: false, reason: `first sync still running (for ${seconds(now - (h.syncingSince ?? now))})` };
    return { healthy: false, reason: `no successful sync yet${errorNote}` };
  }
  const age = now - h.lastSyncAt;
  if (age <= h.periodMs) return { healthy: true };
  if (lastSign !== undefined && now - lastSign <= progressTimeout) return { healthy: true };
  if (lastSign !== undefined) {
    return {
      healthy: false,
      reason: `sync running for ${seconds(now - (h.syncingSince ?? now))} without progress for ${seconds(now - lastSign)} (allowed ${seconds(progressTimeout)}); last success ${seconds(age)} ago`,
    };
  }
  return { healthy: false, reason: `last successful sync ${seconds(age)} ago (expected within ${seconds(h.periodMs)})${errorNote}` };
}

export function evaluateHealth(input: HealthInputs): HealthReport {
  const reports: ControllerReport[] = [];
  const stale: string[] = [];
  let ready = input.cacheSynced;
  for (const entry of input.controllers) {
    if (!entry.running || entry.health === undefined) {
      reports.push({ name: entry.name, running: false, healthy: false, reason: entry.note ?? 'not running' });
      continue;
    }
    const h = entry.health;
    const verdict = judgeController(h, input.now);
    if (h.lastSyncAt === undefined) ready = false;
    if (!verdict.healthy) stale.push(`${entry.name} (${verdict.reason ?? 'unhealthy'})`);
    reports.push({
      name: entry.name,
      running: true,
      healthy: verdict.healthy,
      reason: verdict.reason,
      kinds: entry.kinds ? [...entry.kinds] : undefined,
      lastSyncAt: rfc3339(h.lastSyncAt),
      lastSyncResourceVersion: h.lastSyncResourceVersion,
      periodSeconds: h.periodMs / 1000,
      syncingSince: rfc3339(h.syncingSince),
      lastProgressAt: rfc3339(h.lastProgressAt),
      lastError: h.lastError,
    });
  }
  const reasons: string[] = [];
  if (!input.cacheSynced) reasons.push('informer cache not synced yet');
  if (stale.length > 0) reasons.push(`unhealthy controllers: ${stale.join(', ')}`);
  const healthy = reasons.length === 0;
  return {
    status: healthy ? 'ok' : 'unhealthy',
    healthy,
    ready,
    reason: healthy ? undefined : reasons.join('; '),
    cacheSynced: input.cacheSynced,
    resourceVersion: input.resourceVersion,
    controllers: reports,
  };
}
