// The demo's checks, pure: from what was collected (kubectl JSON and tables,
// each node's script output with its /healthz body, the scenario runner's
// lines) to a list of checks, each PASS, FAIL or NOT BUILT YET with what was
// expected and what was seen. A check that depends on a controller the
// agent's /healthz lists with running:false is NOT BUILT YET instead of
// FAIL; once the controller runs, the same expectation decides PASS or FAIL.

import {
  inCidr,
  nodesFrom,
  parseGobgpNeighbors,
  parseHealth,
  parseIpvs,
  podsFrom,
  routeDestinations,
  servicesFrom,
  slicesFrom,
  type ControllerName,
  type NodeHealth,
  type NodeInfo,
  type PodInfo,
  type Section,
  type ServiceInfo,
} from './demo-parse.js';
import { CLIENT_POD, CLUSTERIP_SERVICE, DEMO_NODES, NODEPORT_SERVICE, PROBE_CHECKS, WEB_PODS, WEB_PORT, type PhaseName, type ProbeCheckPlan } from './demo-plan.js';

export interface KubectlObs {
  /** `-o json` output, parsed. */
  json?: unknown;
  /** The table kubectl prints (shown under the check). */
  table: string;
  error?: string;
}

export interface NodeObs {
  node: string;
  sections: Record<string, Section>;
  /** The exec itself failed. */
  error?: string;
}

/** One scenario file run through the guest's runner: its JSON lines as objects. */
export interface ScenarioRun {
  lines: Record<string, unknown>[];
  error?: string;
}

export interface DemoObservations {
  nodes: KubectlObs;
  pods: KubectlObs;
  services: KubectlObs;
  slices: KubectlObs;
  perNode: NodeObs[];
  deploy: ScenarioRun;
  /** Absent when the deploy part failed and the policy part was not run. */
  policy?: ScenarioRun;
}

export type Verdict = 'pass' | 'fail' | 'not-built' | 'not-enabled';

export interface DemoCheck {
  section: string;
  title: string;
  verdict: Verdict;
  /** The controllers that are missing (not-built / not-enabled). */
  blocked?: ControllerName[];
  expected: string;
  seen: string;
  /** Raw output shown indented under the check. */
  raw?: string;
}

/** The verdict of a check that held (ok) or not, given the controllers it needs on the nodes concerned. */
export function gate(ok: boolean, needs: readonly ControllerName[], health: readonly NodeHealth[]): { verdict: Verdict; blocked?: ControllerName[] } {
  const missing = (state: 'not-built' | 'disabled'): ControllerName[] => needs.filter((c) => health.some((h) => h.controllers[c].state === state));
  const notBuilt = missing('not-built');
  if (notBuilt.length > 0) return { verdict: 'not-built', blocked: notBuilt };
  const disabled = missing('disabled');
  if (disabled.length > 0) return { verdict: 'not-enabled', blocked: disabled };
  return { verdict: ok ? 'pass' : 'fail' };
}

interface Ctx {
  obs: DemoObservations;
  health: NodeHealth[];
  nodes: NodeInfo[];
  pods: PodInfo[];
  services: ServiceInfo[];
}

const check = (section: string, title: string, ok: boolean, expected: string, seen: string, raw?: string): DemoCheck => ({
  section,
  title,
  verdict: ok ? 'pass' : 'fail',
  expected,
  seen,
  raw,
});

function gated(c: Ctx, base: Omit<DemoCheck, 'verdict' | 'blocked'>, ok: boolean, needs: readonly ControllerName[], nodes?: readonly string[]): DemoCheck {
  const health = nodes === undefined ? c.health : c.health.filter((h) => nodes.includes(h.node));
  return { ...base, ...gate(ok, needs, health) };
}

function kubectlProblem(k: KubectlObs): string | undefined {
  return k.error ?? (k.json === undefined ? 'no JSON from kubectl' : undefined);
}

export function healthOf(obs: DemoObservations): NodeHealth[] {
  return obs.perNode.map((n) => parseHealth(n.node, n.sections.health?.output));
}

function agentsCheck(c: Ctx): DemoCheck {
  const seen = c.health.map((h) => {
    const exec = c.obs.perNode.find((n) => n.node === h.node)?.error;
    if (!h.answered) return `${h.node}: no /healthz answer${exec ? ` (${exec})` : ''}`;
    return `${h.node}: ${h.healthy ? 'healthy' : `unhealthy (${h.reason ?? '?'})`}`;
  });
  const raw = c.health
    .map((h) => `${h.node} controllers: ${(['routing', 'proxy', 'firewall'] as const).map((n) => `${n} ${describeState(h, n)}`).join(', ')}`)
    .join('\n');
  const ok = c.health.length === DEMO_NODES.length && c.health.every((h) => h.answered && h.healthy === true);
  return check('agents', 'the agent answers /healthz on every node', ok, 'node1..node3 healthy (informer cache synced)', seen.join('; '), raw);
}

function describeState(h: NodeHealth, name: ControllerName): string {
  const s = h.controllers[name];
  switch (s.state) {
    case 'running':
      return s.healthy ? 'running' : `running, unhealthy${s.note ? ` (${s.note})` : ''}`;
    case 'not-built':
      return 'NOT BUILT YET';
    case 'disabled':
      return 'disabled';
    case 'unknown':
      return 'unknown';
  }
}

function nodesCheck(c: Ctx): DemoCheck {
  const problem = kubectlProblem(c.obs.nodes);
  const seen = problem ?? (c.nodes.map((n) => `${n.name} ${n.internalIP ?? 'no InternalIP'} ${n.podCIDR ?? 'no podCIDR'}`).join('; ') || 'no nodes');
  const ok = problem === undefined && DEMO_NODES.every((name) => c.nodes.some((n) => n.name === name && n.internalIP !== undefined && n.podCIDR !== undefined));
  return check('cluster', 'nodes registered', ok, 'node1..node3, each with an InternalIP and a podCIDR', seen, c.obs.nodes.table);
}

function stepLine(run: ScenarioRun | undefined, kind: string, nth = 0): Record<string, unknown> | undefined {
  return run?.lines.filter((l) => l.kind === kind)[nth];
}

function stepsCheck(section: string, title: string, run: ScenarioRun | undefined, kinds: string[]): DemoCheck {
  const seen: string[] = [];
  let ok = run !== undefined;
  const counts = new Map<string, number>();
  for (const kind of kinds) {
    const nth = counts.get(kind) ?? 0;
    counts.set(kind, nth + 1);
    const l = stepLine(run, kind, nth);
    if (l === undefined) {
      ok = false;
      seen.push(`${kind}: no result${run?.error ? ` (${run.error})` : ''}`);
      continue;
    }
    if (l.ok !== true) ok = false;
    const detail = l.ok === true ? (typeof l.ms === 'number' ? `${(l.ms / 1000).toFixed(1)} s` : 'ok') : String(l.error ?? JSON.stringify(l.pending ?? 'failed'));
    seen.push(`${kind} ${l.ok === true ? 'ok' : 'FAILED'} (${detail})`);
  }
  if (run === undefined) seen.unshift('not run (an earlier part failed)');
  return check(section, title, ok, `${kinds.join(', ')} succeed`, seen.join('; '));
}

function podsCheck(c: Ctx): DemoCheck {
  const problem = kubectlProblem(c.obs.pods);
  const want: { name: string; node: string }[] = [...WEB_PODS.map((p, i) => ({ name: p, node: DEMO_NODES[i] })), { name: CLIENT_POD, node: 'node1' }];
  let ok = problem === undefined;
  const seen = want.map((w) => {
    const p = c.pods.find((x) => x.name === w.name);
    if (p === undefined) {
      ok = false;
      return `${w.name}: missing`;
    }
    const cidr = c.nodes.find((n) => n.name === p.nodeName)?.podCIDR;
    const good = p.phase === 'Running' && p.nodeName === w.node && p.podIP !== undefined && cidr !== undefined && inCidr(p.podIP, cidr);
    if (!good) ok = false;
    return `${w.name} ${p.phase ?? 'no phase'} ${p.podIP ?? 'no IP'} on ${p.nodeName ?? '?'} (${cidr ?? 'no podCIDR'})${good ? '' : ' <-'}`;
  });
  return check('pods', 'pods Running with IPs from their node\'s podCIDR', ok, 'web-1..3 on node1..3 and client on node1, Running, IP in the node\'s podCIDR', problem ?? seen.join('; '), c.obs.pods.table);
}

function webIPs(c: Ctx): string[] {
  return WEB_PODS.map((n) => c.pods.find((p) => p.name === n)?.podIP).filter((ip): ip is string => ip !== undefined);
}

function serviceChecks(c: Ctx): DemoCheck[] {
  const problem = kubectlProblem(c.obs.services);
  const web = c.services.find((s) => s.name === CLUSTERIP_SERVICE);
  const np = c.services.find((s) => s.name === NODEPORT_SERVICE);
  const cipOk = web?.clusterIP !== undefined && inCidr(web.clusterIP, '10.96.0.0/12');
  const nodePort = np?.ports[0]?.nodePort;
  const npOk = np?.type === 'NodePort' && nodePort !== undefined && nodePort >= 30000 && nodePort <= 32767 && np.clusterIP !== undefined;
  return [
    check('services', 'Service demo/web got a ClusterIP', problem === undefined && cipOk, 'a ClusterIP in 10.96.0.0/12, port 80/TCP', problem ?? (web ? `${web.type ?? '?'} ${web.clusterIP ?? 'no ClusterIP'} ports ${web.ports.map((p) => `${p.port}/${p.protocol}`).join(',')}` : 'no Service demo/web'), c.obs.services.table),
    check('services', 'Service demo/web-np got a NodePort', problem === undefined && npOk, 'type NodePort, a nodePort in 30000-32767 and a ClusterIP', problem ?? (np ? `${np.type ?? '?'} ${np.clusterIP ?? 'no ClusterIP'} nodePort ${nodePort ?? 'none'}` : 'no Service demo/web-np')),
  ];
}

function slicesCheck(c: Ctx): DemoCheck {
  const problem = kubectlProblem(c.obs.slices);
  const slices = slicesFrom(c.obs.slices.json);
  const want = [...webIPs(c)].sort();
  let ok = problem === undefined && want.length === WEB_PODS.length;
  const seen = [CLUSTERIP_SERVICE, NODEPORT_SERVICE].map((svc) => {
    const eps = slices.filter((s) => s.service === svc).flatMap((s) => s.endpoints);
    const ready = eps.filter((e) => e.ready !== false).flatMap((e) => e.addresses).sort();
    const same = ready.length === want.length && ready.every((a, i) => a === want[i]);
    if (!same) ok = false;
    return `${svc}: ${ready.length > 0 ? ready.join(',') : 'no ready endpoints'}${same ? '' : ' <-'}`;
  });
  return check('services', 'EndpointSlices list the web pods', ok, `both Services: the web pods' IPs, ready (${want.join(',') || 'web pods have no IPs'})`, problem ?? seen.join('; '), c.obs.slices.table);
}

function ipvsCheck(c: Ctx, node: NodeObs): DemoCheck {
  const sec = node.sections.ipvs;
  const info = c.nodes.find((n) => n.name === node.node);
  const web = c.services.find((s) => s.name === CLUSTERIP_SERVICE);
  const np = c.services.find((s) => s.name === NODEPORT_SERVICE);
  const reals = webIPs(c).map((ip) => `${ip}:${WEB_PORT}`);
  const wantVs: string[] = [];
  if (web?.clusterIP) wantVs.push(`TCP ${web.clusterIP}:${WEB_PORT}`);
  if (np?.clusterIP) wantVs.push(`TCP ${np.clusterIP}:${WEB_PORT}`);
  const nodePort = np?.ports[0]?.nodePort;
  if (info?.internalIP && nodePort !== undefined) wantVs.push(`TCP ${info.internalIP}:${nodePort}`);
  const table = parseIpvs(sec?.output ?? '');
  const missing: string[] = [];
  for (const vs of wantVs) {
    const rs = table.get(vs);
    if (rs === undefined) missing.push(vs);
    else for (const r of reals) if (!rs.includes(r)) missing.push(`${vs} -> ${r}`);
  }
  let seen: string;
  if (sec === undefined) seen = `no output${node.error ? ` (${node.error})` : ''}`;
  else if (sec.code !== 0) seen = `ipvsadm exit ${sec.code ?? '?'}: ${firstLine(sec.output)}`;
  else if (table.size === 0) seen = 'no virtual servers';
  else seen = `${table.size} virtual server(s)${missing.length > 0 ? `; missing ${missing.join(', ')}` : ', all expected present'}`;
  const ok = sec?.code === 0 && wantVs.length === 3 && reals.length === WEB_PODS.length && missing.length === 0;
  return gated(
    c,
    { section: 'service proxy (IPVS)', title: `${node.node}: ipvsadm -Ln`, expected: `${wantVs.join(', ') || 'the Services\' virtual servers'}, each -> the 3 web pods :${WEB_PORT}`, seen, raw: sec?.output },
    ok,
    ['proxy'],
    [node.node],
  );
}

function otherNodes(c: Ctx, node: string): NodeInfo[] {
  return c.nodes.filter((n) => n.name !== node && (DEMO_NODES as readonly string[]).includes(n.name));
}

function gobgpCheck(c: Ctx, node: NodeObs): DemoCheck {
  const sec = node.sections.gobgp;
  const peers = parseGobgpNeighbors(sec?.output ?? '');
  const want = otherNodes(c, node.node).map((n) => n.internalIP ?? `${n.name}?`);
  const states = want.map((ip) => `${ip} ${peers.get(ip) ?? 'absent'}`);
  const ok = sec?.code === 0 && want.length === DEMO_NODES.length - 1 && want.every((ip) => peers.get(ip) === 'Establ');
  const seen = sec === undefined ? `no output${node.error ? ` (${node.error})` : ''}` : sec.code !== 0 ? `gobgp exit ${sec.code ?? '?'}: ${firstLine(sec.output)}` : states.join(', ');
  return gated(c, { section: 'routing (BGP)', title: `${node.node}: gobgp neighbor`, expected: `${want.join(', ')} Established (iBGP full mesh)`, seen, raw: sec?.output }, ok, ['routing'], [node.node]);
}

function routesCheck(c: Ctx, node: NodeObs): DemoCheck {
  const sec = node.sections.routes;
  const dests = routeDestinations(sec?.output ?? '');
  const others = otherNodes(c, node.node);
  const found = others.map((n) => (n.podCIDR !== undefined && dests.has(n.podCIDR) ? dests.get(n.podCIDR) ?? '' : `${n.podCIDR ?? `${n.name} podCIDR?`}: no route`));
  const ok = sec?.code === 0 && others.length === DEMO_NODES.length - 1 && others.every((n) => n.podCIDR !== undefined && dests.has(n.podCIDR));
  const expected = others.map((n) => `${n.podCIDR ?? '?'} via ${n.internalIP ?? '?'} (or a tunnel)`).join(', ');
  const seen = sec === undefined ? `no output${node.error ? ` (${node.error})` : ''}` : found.join('; ');
  return gated(c, { section: 'routing (BGP)', title: `${node.node}: ip route has the other nodes' podCIDRs`, expected, seen, raw: sec?.output }, ok, ['routing'], [node.node]);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

function probeSeen(l: Record<string, unknown>): string {
  const parts = [`got ${String(l.got ?? '?')}`];
  if (typeof l.ip === 'string') parts[0] += ` (${l.ip}:${String(l.port ?? '?')})`;
  if (typeof l.body === 'string') parts.push(`reply ${JSON.stringify(l.body)}`);
  const replies = l.replies;
  if (typeof replies === 'object' && replies !== null && Object.keys(replies).length > 0) {
    parts.push(`replies ${Object.entries(replies as Record<string, number>).map(([b, n]) => `${b || '(none)'} x${n}`).join(', ')}`);
  }
  if (typeof l.error === 'string') parts.push(l.error);
  if (l.retried === true) parts.push('after one retry');
  return parts.join('; ');
}

/** The runner's probe line for a planned check. */
export function findProbe(run: ScenarioRun | undefined, p: ProbeCheckPlan): Record<string, unknown> | undefined {
  return run?.lines.find((l) => l.kind === 'probe' && l.from === p.from && l.to === p.to && l.expect === p.expect);
}

function probeChecks(c: Ctx, section: string): DemoCheck[] {
  return PROBE_CHECKS.filter((p) => p.section === section).map((p) => {
    const run = p.phase === 'deploy' ? c.obs.deploy : c.obs.policy;
    const line = findProbe(run, p);
    const base = { section: p.section, title: p.title, expected: `${p.expect}: ${p.expected}` };
    if (line === undefined) return { ...base, verdict: 'fail' as const, seen: `no result (${run === undefined ? 'not run' : run.error ?? 'the scenario stopped before this probe'})` };
    return gated(c, { ...base, seen: probeSeen(line) }, line.ok === true, p.needs);
  });
}

/** Every check, in the order printed. */
export function evaluateDemo(obs: DemoObservations): DemoCheck[] {
  const c: Ctx = {
    obs,
    health: healthOf(obs),
    nodes: nodesFrom(obs.nodes.json),
    pods: podsFrom(obs.pods.json),
    services: servicesFrom(obs.services.json),
  };
  const phase = (p: PhaseName): ScenarioRun | undefined => (p === 'deploy' ? obs.deploy : obs.policy);
  return [
    agentsCheck(c),
    nodesCheck(c),
    stepsCheck('cluster', 'demo objects applied (3 web pods, a client, Services web and web-np) and settled', phase('deploy'), ['apply', 'settle']),
    podsCheck(c),
    ...probeChecks(c, 'pods'),
    ...serviceChecks(c),
    slicesCheck(c),
    ...obs.perNode.map((n) => ipvsCheck(c, n)),
    ...obs.perNode.map((n) => gobgpCheck(c, n)),
    ...obs.perNode.map((n) => routesCheck(c, n)),
    ...probeChecks(c, 'routing (BGP)'),
    ...probeChecks(c, 'service traffic'),
    stepsCheck('network policy', 'NetworkPolicy web-deny-ingress applied, settled, deleted, settled', phase('policy'), ['apply', 'settle', 'delete', 'settle']),
    ...probeChecks(c, 'network policy'),
  ];
}
