// Paged lists (`limit` + `continue`) that stay consistent at the first
// page's resourceVersion: later pages are cut from the state rolled back
// through the history to that version, as etcd serves a revision.

import type { LabKind, StoredObject } from './types.js';
import type { History } from './history.js';
import { StatusError, badRequest, expired } from './status.js';

export interface ContinueToken {
  rv: number;
  /** List from keys >= start. */
  start: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  try {
    const raw: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof raw === 'object' && raw !== null) {
      const r = raw as { v?: unknown; rv?: unknown; start?: unknown };
      if (r.v === 'meta.k8s.io/v1' && typeof r.rv === 'number' && typeof r.start === 'string' && Number.isInteger(r.rv)) {
        return { rv: r.rv, start: r.start };
      }
    }
  } catch {
    // fall through to the 400 below
  }
  throw badRequest(`continue key is not valid: ${token}`);
}

export const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** The objects of `kind` as they were at `rv` (current state when rv is the current version). */
export function snapshotAt(
  current: ReadonlyMap<string, StoredObject>,
  kind: LabKind,
  rv: number,
  currentRV: number,
  history: History,
  onExpired: () => StatusError,
): Map<string, StoredObject> {
  const state = new Map(current);
  if (rv >= currentRV) return state;
  if (rv < history.compactedRV) throw onExpired();
  for (const e of history.newestFirstAfter(rv)) {
    if (e.kind !== kind) continue;
    if (e.type === 'ADDED') state.delete(e.key);
    else if (e.prev !== undefined) state.set(e.key, e.prev);
  }
  return state;
}

export interface Page {
  items: StoredObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** Sorted keys >= start, filtered, cut at `limit`. */
export function cutPage(
  state: Map<string, StoredObject>,
  rv: number,
  filter: (o: StoredObject) => boolean,
  limit: number | undefined,
  start: string | undefined,
  countRemaining: boolean,
): Page {
  const keys = [...state.keys()].sort();
  const items: StoredObject[] = [];
  let i = 0;
  if (start !== undefined) {
    while (i < keys.length && keys[i] < start) i++;
  }
  for (; i < keys.length; i++) {
    const o = state.get(keys[i]) as StoredObject;
    if (!filter(o)) continue;
    if (limit !== undefined && limit > 0 && items.length >= limit) {
      // More matching objects remain.
      const page: Page = { items, resourceVersion: String(rv), continue: encodeContinue({ rv, start: `${keys[i - 1] ?? ''}\u0000` }) };
      if (countRemaining) {
        let n = 0;
        for (let j = i; j < keys.length; j++) if (filter(state.get(keys[j]) as StoredObject)) n++;
        page.remainingItemCount = n;
      }
      return page;
    }
    items.push(o);
  }
  return { items, resourceVersion: String(rv) };
}

export function continueExpired(): StatusError {
  return expired(CONTINUE_EXPIRED);
}
