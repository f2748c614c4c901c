// The operator tools, subcommands of the agent binary:
//   kube-router dump | plan | explain [tool flags] [agent flags]
// Tool flags are taken out first (args.ts); the rest goes through the
// agent's own flag parser, so --kubeconfig, --hostname-override, the --run-*
// flags and the ranges mean what they mean to the agent.
// Exit status: 0; dump 3 when some controller is out of sync; 2 bad flags;
// 1 any other failure.

import pino, { type Logger } from 'pino';
import { KubeRouterError, errorMessage } from '../../errors.js';
import { enabledControllers } from '../../controllers/registry.js';
import { resolveNodeName } from '../options/node-name.js';
import { parseFlags } from '../options/parse.js';
import type { AgentOptions } from '../options/types.js';
import { splitToolArgs, type ToolName, type ToolOptions } from './args.js';
import type { ToolKernel } from './kernel.js';
import type { ControllerReport, ToolReport } from './report.js';
import type { SharedCache } from '../../informers/cache.js';

export { TOOL_NAMES, toolsUsage, type ToolName } from './args.js';

export const EXIT_OUT_OF_SYNC = 3;

export interface ToolDeps {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  hostname: string;
  /** Default: the API server or -f (snapshot.ts). */
  loadCache?: (options: AgentOptions, filename: string | undefined, logger: Logger) => Promise<SharedCache>;
  /** Default: the Linux kernel of this node. */
  kernel?: (options: AgentOptions) => Promise<ToolKernel>;
}

/** Everything `dump` reports on, for tests and the CLI. */
export async function dumpReport(cache: SharedCache, options: AgentOptions, nodeName: string, kernel: ToolKernel): Promise<ToolReport> {
  const controllers: ControllerReport[] = [];
  for (const name of enabledControllers(options)) {
    if (name === 'proxy') controllers.push(await (await import('./dump-proxy.js')).dumpProxy(cache, options, nodeName, kernel));
    else if (name === 'routing') controllers.push(await (await import('./dump-routing.js')).dumpRouting(cache, options, nodeName, kernel));
    else controllers.push(await (await import('./dump-firewall.js')).dumpFirewall(cache, options, nodeName, kernel));
  }
  return { tool: 'dump', node: nodeName, controllers };
}

// Each tool imports only what it uses (explain needs no kernel module, plan no netlink).
async function run(name: ToolName, tool: ToolOptions, options: AgentOptions, nodeName: string, deps: ToolDeps, logger: Logger): Promise<number> {
  const loadCache = deps.loadCache ?? (await import('./snapshot.js')).loadSnapshot;
  const cache = await loadCache(options, name === 'dump' ? undefined : tool.filename, logger);
  if (name === 'explain') {
    const [{ explainFromCache }, { explainText }] = await Promise.all([import('./explain.js'), import('./explain-eval.js')]);
    const e = explainFromCache(cache, options, nodeName, tool);
    deps.stdout.write(tool.output === 'json' ? `${JSON.stringify(e, null, 2)}\n` : explainText(e));
    return 0;
  }
  const { renderJson, renderText } = await import('./report.js');
  let report: ToolReport;
  if (name === 'plan') report = (await import('./plan.js')).planReport(cache, options, nodeName, tool);
  else {
    const gobgp = options.runRouter ? `${options.gobgpAdminAddress || '127.0.0.1'}:${options.gobgpAdminPort}` : undefined;
    const linux = async (): Promise<ToolKernel> => (await import('./kernel.js')).linuxToolKernel(gobgp);
    const kernel = await (deps.kernel ?? linux)(options);
    try {
      report = await dumpReport(cache, options, nodeName, kernel);
    } finally {
      kernel.close();
    }
  }
  deps.stdout.write(tool.output === 'json' ? renderJson(report) : renderText(report));
  return name === 'dump' && report.controllers.some((c) => c.inSync === false) ? EXIT_OUT_OF_SYNC : 0;
}

/** Runs one tool; returns the exit status. */
export async function runTool(name: ToolName, argv: readonly string[], deps: ToolDeps): Promise<number> {
  let tool: ToolOptions;
  let options: AgentOptions;
  try {
    const split = splitToolArgs(name, argv);
    tool = split.tool;
    options = parseFlags(split.agentArgv).options;
  } catch (err) {
    const usage = err instanceof KubeRouterError && err.code === 'KR_ERR_FLAG';
    deps.stderr.write(`kube-router ${name}: ${errorMessage(err).replace(/\s*\n\s*/g, ' ')}${usage ? ' (see kube-router --help)' : ''}\n`);
    return usage ? 2 : 1;
  }
  const nodeName = resolveNodeName(options, deps.env, deps.hostname).trim();
  // Diagnostics on stderr, at --v: stdout is the report.
  const logger = pino({ level: options.v >= 2 ? 'debug' : 'warn' }, pino.destination(2));
  try {
    return await run(name, tool, options, nodeName, deps, logger);
  } catch (err) {
    const usage = err instanceof KubeRouterError && err.code === 'KR_ERR_FLAG';
    deps.stderr.write(`kube-router ${name}: ${errorMessage(err).replace(/\s*\n\s*/g, ' ')}\n`);
    return usage ? 2 : 1;
  }
}
