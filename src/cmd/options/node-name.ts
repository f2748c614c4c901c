// The node this agent runs on, looked up as kube-router does
// (pkg/utils/node.go): --hostname-override, then $NODE_NAME, then the hostname.
import type { AgentOptions } from './types.js';

export function resolveNodeName(
  options: Pick<AgentOptions, 'hostnameOverride'>,
  env: Readonly<Record<string, string | undefined>>,
  hostname: string,
): string {
  if (options.hostnameOverride !== '') return options.hostnameOverride;
  const fromEnv = env.NODE_NAME;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return hostname;
}
