#!/usr/bin/env node
// `kube-router` entry point: flags in, agent out. See options/cli.ts.
// The agent (Kubernetes client, controllers) is imported only when it runs,
// so --help, --version and flag errors answer at once.
import type { RunAgentParams } from './agent.js';
import { processCliDeps, runCli } from './options/cli.js';

const runAgent = async (params: RunAgentParams): Promise<number> => (await import('./agent.js')).runAgent(params);

process.exitCode = await runCli(process.argv.slice(2), processCliDeps(runAgent));
