// The supervisor's own control routes (all under /v1, bearer token):
//   GET  /v1/status                 phase, ready, timings, nodes, agents, components
//   POST /v1/exec                   {target, argv, input?, timeoutMs?, env?} -> {code, signal, stdout, stderr, ms}
//   POST /v1/exec/stream            same body -> JSON lines {type:'stdout'|'stderr', data} ... {type:'exit', code}
//   GET  /v1/kubeconfig?server=URL  {kubeconfig} (YAML text for kubectl)
//   GET  /v1/agents                 [AgentStatus]
//   POST /v1/agents/start           {node, args?, wait?: 'running'|'exit'} -> {code}
//   POST /v1/agents/stop            {node, signal?: 'TERM'|'KILL'} -> {code, signal}
//   POST /v1/agents/restart         {node, signal?}
//   POST /v1/apiserver/restart      {downForMs}
//   GET  /v1/events                 JSON lines of supervisor events until the client leaves
//   POST /v1/shutdown               stops everything; the guest powers off

import { parseTarget } from '../topology/types.js';
import type { GuestContext, Phase, SupervisorEvent } from './context.js';
import { ControlError } from './control.js';
import { execCollect, execEvents, parseExecRequest } from './exec.js';

export interface SupervisorState {
  phase: Phase;
  error?: string;
  components: Record<string, string>;
}

/** Resolves the exec target; a node or pod needs the topology to be up. */
function argvAt(ctx: GuestContext, state: SupervisorState, target: string, argv: string[]): string[] {
  const t = parseTarget(target);
  if (t.kind === 'root') return argv;
  if (ctx.topology === undefined) throw new ControlError(503, `the topology is not up yet (phase ${state.phase})`);
  try {
    return ctx.topology.argvFor(t, argv);
  } catch (e) {
    throw new ControlError(404, (e as Error).message);
  }
}

function nodeArg(ctx: GuestContext, body: unknown): string {
  if (ctx.agents === undefined) throw new ControlError(503, 'the agents are not set up yet');
  const node = (body as { node?: unknown } | undefined)?.node;
  if (typeof node !== 'string') throw new ControlError(400, 'node is required');
  ctx.topology.node(node);
  return node;
}

function signalArg(body: unknown): 'TERM' | 'KILL' {
  const s = (body as { signal?: unknown } | undefined)?.signal;
  if (s === undefined || s === 'TERM' || s === 'SIGTERM') return 'TERM';
  if (s === 'KILL' || s === 'SIGKILL') return 'KILL';
  throw new ControlError(400, `signal must be TERM or KILL, got ${String(s)}`);
}

export function registerRoutes(
  ctx: GuestContext,
  state: SupervisorState,
  subscribe: (fn: (ev: SupervisorEvent) => void) => () => void,
  shutdown: () => void,
): void {
  const c = ctx.control;
  c.route('GET', '/v1/status', async () => ({
    phase: state.phase,
    ready: state.phase === 'ready',
    error: state.error,
    timings: ctx.timings,
    components: state.components,
    nodes: ctx.topology?.nodes.map((n) => ({ name: n.name, ip: n.ip, subnet: n.subnet })) ?? [],
    router: ctx.topology?.router,
    agents: ctx.agents?.list() ?? [],
  }));
  c.route('POST', '/v1/exec', async (req) => {
    const r = parseExecRequest(req.body);
    return execCollect(argvAt(ctx, state, r.target, r.argv), r);
  });
  c.route('POST', '/v1/exec/stream', async (req) => {
    const r = parseExecRequest(req.body);
    return execEvents(argvAt(ctx, state, r.target, r.argv), r, req.signal);
  });
  c.route('GET', '/v1/kubeconfig', async (req) => {
    if (ctx.api === undefined) throw new ControlError(503, 'the lab API server is not running');
    return { kubeconfig: ctx.api.kubeconfig(req.query.get('server') ?? undefined) };
  });
  c.route('GET', '/v1/agents', async () => ctx.agents.list());
  c.route('POST', '/v1/agents/start', async (req) => {
    const node = nodeArg(ctx, req.body);
    const b = req.body as { args?: unknown; wait?: unknown };
    const args = Array.isArray(b.args) ? b.args.map(String) : [];
    const code = await ctx.agents.start(node, args, b.wait === 'exit' ? 'exit' : 'running');
    return { code };
  });
  c.route('POST', '/v1/agents/stop', async (req) => (await ctx.agents.stop(nodeArg(ctx, req.body), signalArg(req.body))) ?? { code: null, signal: null, notRunning: true });
  c.route('POST', '/v1/agents/restart', async (req) => {
    await ctx.agents.restart(nodeArg(ctx, req.body), signalArg(req.body));
    return { ok: true };
  });
  c.route('POST', '/v1/apiserver/restart', async (req) => {
    const ms = Number((req.body as { downForMs?: unknown } | undefined)?.downForMs ?? 0);
    await ctx.api.stop();
    await new Promise((r) => setTimeout(r, ms));
    await ctx.api.start();
    return { ok: true };
  });
  c.route('GET', '/v1/events', async (req) => {
    const queue: SupervisorEvent[] = [{ at: new Date().toISOString(), type: 'phase', phase: state.phase }];
    let wake: (() => void) | undefined;
    const unsubscribe = subscribe((ev) => {
      queue.push(ev);
      wake?.();
    });
    req.signal.addEventListener('abort', () => wake?.());
    return (async function* () {
      try {
        while (!req.signal.aborted) {
          while (queue.length > 0) yield queue.shift();
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        unsubscribe();
      }
    })();
  });
  c.route('POST', '/v1/shutdown', async () => {
    setTimeout(shutdown, 50);
    return { ok: true };
  });
}
