// The supervisor's phases after the API server and the topology: the
// controller-manager, the kubelets, the scenario routes and one agent per node.

import { performance } from 'node:perf_hooks';
import { UNDERLAY } from '../topology/types.js';
import { AgentManager } from './agents.js';
import type { GuestContext, PhaseRunner } from './context.js';
import { registerScenarioRoutes, startControllerManager, startKubelets } from './integrations.js';
import type { SupervisorState } from './routes.js';

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

  const cm = await phase('controller-manager', () => startControllerManager(ctx));
  ctx.components.set('controller-manager', cm);
  ctx.cm = cm;
  state.components['controller-manager'] = `running (admission hooks ${cm.admissionInstalled ? 'installed' : 'not installed: allocation from its watch'})`;
  const kubelets = await phase('kubelets', () => startKubelets(ctx));
  for (const [name, k] of kubelets) ctx.components.set(name, k);
  state.components.kubelet = `running on ${kubelets.size - 1} nodes (with the scheduler)`;
  registerScenarioRoutes(ctx);
  state.components.scenario = 'routes registered';

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
