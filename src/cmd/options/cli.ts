// The `kube-router` command: parse flags, answer --help / --version, report
// bad input with exit status 2 and one stderr line, create the logger, log
// each flag warning once, then hand over to the agent.
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import { KubeRouterError, errorMessage } from '../../errors.js';
import { createLogger } from '../../log/logger.js';
import type { RunAgentParams } from '../agent.js';
import { TOOL_NAMES, toolsUsage, type ToolName } from '../tools/args.js';
import { resolveNodeName } from './node-name.js';
import { parseFlags } from './parse.js';
import { usageText } from './usage.js';
import { versionText } from './version.js';

export interface CliDeps {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  hostname: string;
  runAgent: (params: RunAgentParams) => Promise<number>;
  /** Builds the logger; tests pass one writing to a buffer. */
  makeLogger?: (verbosity: number, node: string) => Logger;
  /**
   * Called with the exit status once a one-shot tool (dump, plan, explain)
   * has written its output: the process ends even if a socket lingers.
   */
  toolDone?: (code: number) => void;
}

export const EXIT_USAGE = 2;

/** Runs the command for `argv` (without node and script) and returns the exit status. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  // Operator tools: `kube-router dump|plan|explain ...` (src/cmd/tools/), loaded only when asked for.
  const tool = argv[0] as ToolName;
  if (TOOL_NAMES.includes(tool) && !argv.some((a) => a === '-h' || a === '--help')) {
    const code = await (await import('../tools/index.js')).runTool(tool, argv.slice(1), deps);
    deps.toolDone?.(code);
    return code;
  }
  const flagArgv = TOOL_NAMES.includes(tool) ? argv.slice(1) : argv;
  let parsed;
  try {
    parsed = parseFlags(flagArgv);
  } catch (err) {
    if (err instanceof KubeRouterError && err.code === 'KR_ERR_FLAG') {
      deps.stderr.write(`kube-router: ${oneLine(err.message)} (see kube-router --help)\n`);
      return EXIT_USAGE;
    }
    deps.stderr.write(`kube-router: ${oneLine(errorMessage(err))}\n`);
    return 1;
  }
  const { options, warnings } = parsed;
  if (options.help) {
    deps.stdout.write(usageText() + toolsUsage());
    return 0;
  }
  if (options.version) {
    deps.stdout.write(versionText());
    return 0;
  }

  const node = resolveNodeName(options, deps.env, deps.hostname);
  const logger = deps.makeLogger?.(options.v, node) ?? createLogger({ verbosity: options.v, node });
  for (const warning of warnings) logger.warn(warning);

  if (!options.cleanupConfig && !options.runRouter && !options.runServiceProxy && !options.runFirewall &&
      !options.runLoadbalancer) {
    // Same outcome as kube-router: nothing to run is not an error.
    logger.info('Router, Firewall, Service proxy or Load balancer functionality must be specified. Exiting!');
    return 0;
  }
  return deps.runAgent({ options, logger });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

export function processCliDeps(runAgent: CliDeps['runAgent']): CliDeps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    hostname: osHostname(),
    runAgent,
    // stdout is written synchronously to files and pipes on Linux: exiting shortly after loses nothing.
    toolDone: (code) => setTimeout(() => process.exit(code), 200).unref(),
  };
}
