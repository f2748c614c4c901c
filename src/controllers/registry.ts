// Which controller implementation serves each ControllerName, and which are
// enabled by the --run-* flags. Later issues add their factory to
// BUILT_IN_FACTORIES; until then an enabled controller without a factory is
// reported by the agent ("enabled but not built yet") and does nothing.

import type { AgentOptions } from '../cmd/options/types.js';
import { CONTROLLER_FLAGS, CONTROLLER_ORDER, type ControllerFactory, type ControllerName } from './controller.js';
import { firewallFactory } from './firewall/factory.js';
import { lballocFactory } from './lballoc/factory.js';
import { proxyFactory } from './proxy/factory.js';
import { routingFactory } from './routing/factory.js';

export type ControllerFactories = Partial<Record<ControllerName, ControllerFactory>>;

/** The controllers this build implements (each controller's factory.ts says whether it is built). */
export const BUILT_IN_FACTORIES: ControllerFactories = Object.fromEntries(
  (
    [
      ['routing', routingFactory],
      ['proxy', proxyFactory],
      ['firewall', firewallFactory],
      ['lballoc', lballocFactory],
    ] as const
  ).filter((entry): entry is readonly [ControllerName, ControllerFactory] => entry[1] !== undefined),
);

type RunFlags = Pick<AgentOptions, 'runRouter' | 'runServiceProxy' | 'runFirewall'> & Partial<Pick<AgentOptions, 'runLoadbalancer'>>;

/** Enabled controllers in start order (routing, proxy, firewall, lballoc). */
export function enabledControllers(options: RunFlags): ControllerName[] {
  const enabled: Record<ControllerName, boolean> = {
    routing: options.runRouter,
    proxy: options.runServiceProxy,
    firewall: options.runFirewall,
    lballoc: options.runLoadbalancer === true,
  };
  return CONTROLLER_ORDER.filter((name) => enabled[name]);
}

export interface ControllerPlan {
  /** Enabled and implemented, in start order. */
  build: { name: ControllerName; factory: ControllerFactory }[];
  /** Enabled but without an implementation. */
  missing: { name: ControllerName; flag: string }[];
}

export function planControllers(
  options: RunFlags,
  factories: ControllerFactories = BUILT_IN_FACTORIES,
): ControllerPlan {
  const plan: ControllerPlan = { build: [], missing: [] };
  for (const name of enabledControllers(options)) {
    const factory = factories[name];
    if (factory) plan.build.push({ name, factory });
    else plan.missing.push({ name, flag: CONTROLLER_FLAGS[name] });
  }
  return plan;
}

/** The warning logged once per enabled controller that is not built yet. */
export function notBuiltMessage(name: ControllerName, flag: string): string {
  return `controller ${name} is enabled (${flag}) but not built yet; it does nothing`;
}
