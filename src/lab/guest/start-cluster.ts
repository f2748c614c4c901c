// The supervisor's phases after the API server and the topology: the
// controller-manager, the kubelets, the scenario routes and one agent per node.

import { performance } from 'node:perf_hooks';
import { UNDERLAY } from '../topology/types.js';
import { AgentManager } from './agents.js';
import type { GuestContext, PhaseRunner } from './context.js';
import { ComponentLoadError, registerScenarioRoutes, startControllerManager, startKubelets } from './integrations.js';
import type { SupervisorState } from './routes.js';

/** A component that cannot load is reported ("not available: ...") instead of failing the boot. */
export async function optional<T>(fn: () => Promise<T>): Promise<T | string> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ComponentLoadError) return `not available: ${e.message}`;
    throw e;
  }
}

export async function startCluster(ctx: GuestContext, state: SupervisorState, phase: PhaseRunner): Promise<void> {
  const { config, timings } = ctx;
  ctx.agents = new AgentManager({
    topology: ctx.topology,
    checkout: config.checkout,
    nodeBinary: config.nodeBinary,
    logsDir: config.logsDir,
    kubeconfig: ctx.api.kubeconfig(`https://${UNDERLAY.bridgeIp}:${config.apiPort}`),
    baseArgs: config.agentArgs,
    onEvent: (ev) => ctx.emit(ev),
  });

  const cm = await phase('controller-manager', () => optional(() => startControllerManager(ctx)));
  if (typeof cm === 'string') state.components['controller-manager'] = cm;
  else {
    ctx.components.set('controller-manager', cm);
    ctx.cm = cm;
    state.components['controller-manager'] = 'running';
  }
  const kubelets = await phase('kubelets', () => optional(() => startKubelets(ctx)));
  if (typeof kubelets === 'string') state.components.kubelet = kubelets;
  else {
    for (const [name, k] of kubelets) ctx.components.set(name, k);
    state.components.kubelet = `running on ${kubelets.size - 1} nodes (with the scheduler)`;
  }
  const scenario = await optional(() => registerScenarioRoutes(ctx));
  state.components.scenario = typeof scenario === 'string' ? scenario : scenario ? 'routes registered' : 'not built yet';

  await phase('agents', async () => {
    if (!config.startAgents) {
      state.components.agents = 'not started (startAgents: false)';
      return;
    }
    if (!ctx.agents.available()) {
      state.components.agents = `not built yet (${ctx.agents.agentPath} missing)`;
      return;
    }
    const t0 = performance.now();
    await Promise.all(ctx.topology.nodes.map((n) => ctx.agents.start(n.name)));
    state.components.agents = `started on ${ctx.topology.nodes.length} nodes (not healthy yet)`;
    // Not awaited: the cluster is ready once the agents run; their start time is reported when known.
    void Promise.all(ctx.topology.nodes.map((n) => ctx.agents.whenHealthy(n.name))).then((ok) => {
      const healthy = ok.filter(Boolean).length;
      if (healthy === ok.length) timings.agentsHealthyMs = Math.round(performance.now() - t0);
      state.components.agents = `started on ${ok.length} nodes, ${healthy} healthy${healthy === ok.length ? ` after ${timings.agentsHealthyMs} ms` : ''}`;
      ctx.log(`supervisor: ${state.components.agents}`);
    });
  });
}
