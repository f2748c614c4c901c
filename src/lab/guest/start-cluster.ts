// The supervisor's phases after the API server and the topology: the
// controller-manager, the kubelets, the scenario routes and one agent per node.

import { performance } from 'node:perf_hooks';
import { UNDERLAY } from '../topology/types.js';
import { AgentManager } from './agents.js';
import type { GuestContext, PhaseRunner } from './context.js';
import { registerNodesFallback, registerScenarioRoutes, startControllerManager, startKubelets } from './integrations.js';
import type { SupervisorState } from './routes.js';
import { waitFirstOutput } from './wait-log.js';

export async function startCluster(ctx: GuestContext, state: SupervisorState, phase: PhaseRunner): Promise<void> {
  const { config, timings } = ctx;
  ctx.agents = new AgentManager({
    topology: ctx.topology,
    checkout: config.checkout,
    nodeBinary: config.nodeBinary,
    logsDir: config.logsDir,
    kubeconfig: ctx.api.kubeconfig(`https://${UNDERLAY.bridgeIp}:${config.apiPort}`),
    baseArgs: config.agentArgs,
  });

  const cm = await phase('controller-manager', () => startControllerManager(ctx));
  if (cm === 'missing') {
    state.components['controller-manager'] = 'not built yet (Node objects registered by the supervisor)';
    registerNodesFallback(ctx);
  } else {
    ctx.components.set('controller-manager', cm);
    state.components['controller-manager'] = 'running';
  }
  const kubelets = await phase('kubelets', () => startKubelets(ctx));
  if (kubelets === 'missing') state.components.kubelet = 'not built yet';
  else {
    for (const [node, k] of kubelets) ctx.components.set(`kubelet/${node}`, k);
    state.components.kubelet = `running on ${kubelets.size} nodes`;
  }
  state.components.scenario = (await registerScenarioRoutes(ctx)) ? 'routes registered' : 'not built yet';

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
    const first = await Promise.all(ctx.topology.nodes.map((n) => waitFirstOutput(ctx.agents.logPath(n.name), 30_000)));
    if (first.every((t) => t >= 0)) timings.agentFirstOutputMs = Math.round(Math.max(...first) - t0);
    state.components.agents = `started on ${ctx.topology.nodes.length} nodes`;
  });
}
