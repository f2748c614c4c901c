// The aggregate desired state: the per-service compile results keyed by
// `namespace/name`. An event for one Service or EndpointSlice recomputes that
// one Service (`recompute`), and a recompute whose result equals the previous
// one (`equalCompiled`: annotation-only changes, resourceVersion bumps)
// reports no change, so the reconciler does nothing for it (kube-router's
// #1026). The aggregate also indexes which Service owns each IPVS virtual
// service, so two Services claiming the same VIP:port are resolved the same
// way whatever the event order (the lowest `namespace/name` wins).

import type { EndpointSlice, Service } from '../../informers/types.js';
import { destinationEqual, serviceEqual, serviceKey } from '../../kernel/ipvs/types.js';
import type { CompileContext } from './compile-context.js';
import { compileService } from './compile-service.js';
import {
  emptyCompiled,
  SERVICE_SETS,
  type CompiledService,
  type DsrEntry,
  type FamilyEntries,
  type HairpinEntry,
  type VirtualService,
} from './model.js';

function strArrEq(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function famEq(a: FamilyEntries, b: FamilyEntries): boolean {
  return strArrEq(a.inet, b.inet) && strArrEq(a.inet6, b.inet6);
}

function vsEq(a: VirtualService, b: VirtualService): boolean {
  if (a.kind !== b.kind || a.portName !== b.portName || !serviceEqual(a.service, b.service)) return false;
  if (a.destinations.length !== b.destinations.length) return false;
  for (let i = 0; i < a.destinations.length; i++) if (!destinationEqual(a.destinations[i], b.destinations[i])) return false;
  return true;
}

function dsrEq(a: DsrEntry, b: DsrEntry): boolean {
  if (a.family !== b.family || a.vip !== b.vip || a.protocol !== b.protocol || a.port !== b.port || a.fwmark !== b.fwmark) return false;
  if (a.localPods.length !== b.localPods.length) return false;
  for (let i = 0; i < a.localPods.length; i++) if (a.localPods[i].pod !== b.localPods[i].pod || a.localPods[i].ip !== b.localPods[i].ip) return false;
  return true;
}

function hairpinEq(a: HairpinEntry, b: HairpinEntry): boolean {
  return a.family === b.family && a.endpoint === b.endpoint && a.vip === b.vip && a.port === b.port && a.protocol === b.protocol;
}

/**
 * Whether two compile results ask for the same kernel state. Warnings are not
 * compared (they are reported on every compile, not applied). Relies on the
 * compiler's sorted output.
 */
export function equalCompiled(a: CompiledService, b: CompiledService): boolean {
  if (a === b) return true;
  if (a.key !== b.key || a.skipped !== b.skipped || a.hasLocalEndpoints !== b.hasLocalEndpoints) return false;
  if (a.healthCheck?.nodePort !== b.healthCheck?.nodePort) return false;
  if (a.healthCheck?.localEndpoints !== b.healthCheck?.localEndpoints) return false;
  if (!strArrEq(a.addresses, b.addresses)) return false;
  for (const set of SERVICE_SETS) if (!famEq(a.ipsetEntries[set], b.ipsetEntries[set])) return false;
  if (a.services.length !== b.services.length || a.hairpin.length !== b.hairpin.length || a.dsr.length !== b.dsr.length) return false;
  for (let i = 0; i < a.dsr.length; i++) if (!dsrEq(a.dsr[i], b.dsr[i])) return false;
  for (let i = 0; i < a.services.length; i++) if (!vsEq(a.services[i], b.services[i])) return false;
  for (let i = 0; i < a.hairpin.length; i++) if (!hairpinEq(a.hairpin[i], b.hairpin[i])) return false;
  return true;
}

/** What a recompute did to one Service's entry. */
export interface ServiceChange {
  key: string;
  /** undefined when the service was not in the state. */
  previous: CompiledService | undefined;
  /** undefined when the service is gone (deleted, or skipped with nothing to apply). */
  current: CompiledService | undefined;
  /** false when `previous` and `current` ask for the same kernel state. */
  changed: boolean;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The desired proxy state of the node, made of per-service results. */
export class DesiredProxyState {
  private readonly byService = new Map<string, CompiledService>();
  /** serviceKey of a virtual service → the Services that compile it. */
  private readonly owners = new Map<string, Set<string>>();

  get size(): number {
    return this.byService.size;
  }

  get(key: string): CompiledService | undefined {
    return this.byService.get(key);
  }

  /** Service keys in sorted order. */
  keys(): string[] {
    return [...this.byService.keys()].sort(compareKeys);
  }

  /** Every compiled Service, sorted by key. */
  values(): CompiledService[] {
    return this.keys().map((k) => this.byService.get(k) as CompiledService);
  }

  /**
   * The Service that owns an IPVS virtual service (by `serviceKey`): the lowest
   * `namespace/name` among those claiming it, undefined when none does.
   */
  ownerOf(vsKey: string): string | undefined {
    const set = this.owners.get(vsKey);
    if (!set || set.size === 0) return undefined;
    let best: string | undefined;
    for (const k of set) if (best === undefined || k < best) best = k;
    return best;
  }

  /** Virtual-service keys claimed by more than one Service, with their claimants (sorted). */
  conflicts(): { vsKey: string; services: string[] }[] {
    const out: { vsKey: string; services: string[] }[] = [];
    for (const [vsKey, set] of this.owners) if (set.size > 1) out.push({ vsKey, services: [...set].sort(compareKeys) });
    return out.sort((a, b) => compareKeys(a.vsKey, b.vsKey));
  }

  /** Stores the result for its key; returns the change. O(size of this one Service). */
  set(compiled: CompiledService): ServiceChange {
    const previous = this.byService.get(compiled.key);
    if (previous) this.unindex(previous);
    this.byService.set(compiled.key, compiled);
    this.index(compiled);
    const changed = previous ? !equalCompiled(previous, compiled) : !isEmpty(compiled);
    return { key: compiled.key, previous, current: compiled, changed };
  }

  delete(key: string): ServiceChange {
    const previous = this.byService.get(key);
    if (previous) {
      this.unindex(previous);
      this.byService.delete(key);
    }
    return { key, previous, current: undefined, changed: previous !== undefined && !isEmpty(previous) };
  }

  /**
   * Recomputes one Service from its current object (undefined when deleted)
   * and its slices. The only entry point the controller needs per dirty key.
   */
  recompute(key: string, svc: Service | undefined, slices: readonly EndpointSlice[], ctx: CompileContext): ServiceChange {
    if (!svc) return this.delete(key);
    return this.set(compileService(svc, slices, ctx));
  }

  private index(c: CompiledService): void {
    for (const vs of c.services) {
      const k = vsKeyOf(vs);
      let set = this.owners.get(k);
      if (!set) this.owners.set(k, (set = new Set()));
      set.add(c.key);
    }
  }

  private unindex(c: CompiledService): void {
    for (const vs of c.services) {
      const k = vsKeyOf(vs);
      const set = this.owners.get(k);
      if (!set) continue;
      set.delete(c.key);
      if (set.size === 0) this.owners.delete(k);
    }
  }
}

function vsKeyOf(vs: VirtualService): string {
  return serviceKey(vs.service);
}

function isEmpty(c: CompiledService): boolean {
  return equalCompiled(c, emptyCompiled(c.key, c.skipped));
}
