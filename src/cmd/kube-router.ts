#!/usr/bin/env node
// `kube-router` entry point: flags in, agent out. See options/cli.ts.
import { runAgent } from './agent.js';
import { processCliDeps, runCli } from './options/cli.js';

process.exitCode = await runCli(process.argv.slice(2), processCliDeps(runAgent));
