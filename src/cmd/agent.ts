// Placeholder: the agent wiring (cache, controllers, health, metrics, shutdown) lands here.
import type { Logger } from 'pino';
import type { AgentOptions } from './options/types.js';

export interface RunAgentParams {
  options: AgentOptions;
  logger: Logger;
}

export async function runAgent(params: RunAgentParams): Promise<number> {
  params.logger.error('agent not built yet');
  return 1;
}
