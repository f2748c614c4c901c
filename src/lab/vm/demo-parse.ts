// Pure parsers for what the demo collects: the sections of the per-node shell
// script (demo-plan.ts), the agent's /healthz body, `ipvsadm -Ln`,
// `gobgp neighbor`, `ip route`, and the kubectl JSON it reads (nodes, pods,
// Services, EndpointSlices), narrowed from `unknown` to the few fields used.

export const CONTROLLERS = ['routing', 'proxy', 'firewall'] as const;
export type ControllerName = (typeof CONTROLLERS)[number];

/** running; listed by /healthz with running:false (not built yet); absent from /healthz (disabled by a flag); no body. */
export type ControllerState = 'running' | 'not-built' | 'disabled' | 'unknown';

export interface NodeHealth {
  node: string;
  /** The body parsed as the agent's health report. */
  answered: boolean;
  healthy?: boolean;
  cacheSynced?: boolean;
  reason?: string;
  controllers: Record<ControllerName, { state: ControllerState; note?: string; healthy?: boolean }>;
}

/** One command's output in the node script: text (stdout and stderr merged) and exit status. */
export interface Section {
  output: string;
  code: number | null;
}

export const SECTION_BEGIN = '@@demo-begin ';
export const SECTION_END = '@@demo-end ';

/** Splits the node script's output into its sections (a section without an end marker has code null). */
export function parseSections(text: string): Record<string, Section> {
  const out: Record<string, Section> = {};
  let name: string | undefined;
  let lines: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(SECTION_BEGIN)) {
      if (name !== undefined) out[name] = { output: lines.join('\n'), code: null };
      name = line.slice(SECTION_BEGIN.length).trim();
      lines = [];
    } else if (line.startsWith(SECTION_END) && name !== undefined) {
      const [, code] = line.slice(SECTION_END.length).trim().split(/\s+/);
      const n = Number.parseInt(code ?? '', 10);
      out[name] = { output: lines.join('\n'), code: Number.isInteger(n) ? n : null };
      name = undefined;
      lines = [];
    } else if (name !== undefined) lines.push(line);
  }
  if (name !== undefined) out[name] = { output: lines.join('\n'), code: null };
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The agent's /healthz body (src/health/evaluate.ts HealthReport) to controller states. */
export function parseHealth(node: string, body: string | undefined): NodeHealth {
  const unknownAll = (): NodeHealth['controllers'] => ({ routing: { state: 'unknown' }, proxy: { state: 'unknown' }, firewall: { state: 'unknown' } });
  const parsed = body === undefined ? undefined : parseJson(body.trim());
  if (!isRecord(parsed) || !Array.isArray(parsed.controllers)) return { node, answered: false, controllers: unknownAll() };
  const controllers: NodeHealth['controllers'] = { routing: { state: 'disabled' }, proxy: { state: 'disabled' }, firewall: { state: 'disabled' } };
  for (const c of parsed.controllers) {
    if (!isRecord(c) || typeof c.name !== 'string' || !(CONTROLLERS as readonly string[]).includes(c.name)) continue;
    const name = c.name as ControllerName;
    const note = typeof c.reason === 'string' ? c.reason : undefined;
    controllers[name] = c.running === true ? { state: 'running', healthy: c.healthy === true, note } : { state: 'not-built', note };
  }
  return {
    node,
    answered: true,
    healthy: parsed.healthy === true,
    cacheSynced: parsed.cacheSynced === true,
    reason: typeof parsed.reason === 'string' ? parsed.reason : undefined,
    controllers,
  };
}

/** `ipvsadm -Ln`: virtual services (`TCP 10.96.0.10:80`) to their real servers (`10.244.1.2:80`). */
export function parseIpvs(text: string): Map<string, string[]> {
  const services = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const vs = /^(TCP|UDP|SCTP|FWM)\s+(\S+)/.exec(line);
    if (vs) {
      current = [];
      services.set(`${vs[1]} ${vs[2]}`, current);
      continue;
    }
    const rs = /^\s+->\s+(\S+)/.exec(line);
    if (rs && current !== undefined && rs[1] !== 'RemoteAddress:Port') current.push(rs[1]);
  }
  return services;
}

/** `gobgp neighbor`: peer address to its state column (`Establ`, `Active`, ...). */
export function parseGobgpNeighbors(text: string): Map<string, string> {
  const peers = new Map<string, string>();
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || !/^[0-9a-f.:]+$/i.test(cols[0]) || !/^\d+$/.test(cols[1])) continue;
    // Peer AS Up/Down State |#Received Accepted; Up/Down is `never` or a duration.
    peers.set(cols[0], cols[3]);
  }
  return peers;
}

/** `ip route`: the first token (destination) of each line, with the line. */
export function routeDestinations(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const dst = line.trim().split(/\s+/)[0];
    if (dst) out.set(dst, line.trim());
  }
  return out;
}

export function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d+$/.test(p) || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** Whether an IPv4 address lies in an IPv4 CIDR. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base ?? '');
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(a / size) === Math.floor(b / size);
}

// ---- kubectl JSON, narrowed ----

export interface NodeInfo {
  name: string;
  internalIP?: string;
  podCIDR?: string;
  ready?: boolean;
}
export interface PodInfo {
  name: string;
  nodeName?: string;
  phase?: string;
  podIP?: string;
}
export interface ServiceInfo {
  name: string;
  type?: string;
  clusterIP?: string;
  ports: { port: number; nodePort?: number; protocol: string }[];
}
export interface SliceInfo {
  name: string;
  service?: string;
  endpoints: { addresses: string[]; ready?: boolean; target?: string; nodeName?: string }[];
}

function items(list: unknown): Record<string, unknown>[] {
  return isRecord(list) && Array.isArray(list.items) ? list.items.filter(isRecord) : [];
}
function rec(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}
function optStr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function nodesFrom(list: unknown): NodeInfo[] {
  return items(list).map((n) => {
    const status = rec(n.status);
    const addr = arr(status.addresses).map(rec).find((a) => a.type === 'InternalIP');
    const ready = arr(status.conditions).map(rec).find((c) => c.type === 'Ready');
    return {
      name: optStr(rec(n.metadata).name) ?? '?',
      internalIP: optStr(addr?.address),
      podCIDR: optStr(rec(n.spec).podCIDR),
      ready: ready === undefined ? undefined : ready.status === 'True',
    };
  });
}

export function podsFrom(list: unknown): PodInfo[] {
  return items(list).map((p) => ({
    name: optStr(rec(p.metadata).name) ?? '?',
    nodeName: optStr(rec(p.spec).nodeName),
    phase: optStr(rec(p.status).phase),
    podIP: optStr(rec(p.status).podIP),
  }));
}

export function servicesFrom(list: unknown): ServiceInfo[] {
  return items(list).map((s) => {
    const spec = rec(s.spec);
    return {
      name: optStr(rec(s.metadata).name) ?? '?',
      type: optStr(spec.type),
      clusterIP: optStr(spec.clusterIP),
      ports: arr(spec.ports)
        .map(rec)
        .map((p) => ({ port: Number(p.port), nodePort: typeof p.nodePort === 'number' ? p.nodePort : undefined, protocol: optStr(p.protocol) ?? 'TCP' })),
    };
  });
}

export function slicesFrom(list: unknown): SliceInfo[] {
  return items(list).map((s) => ({
    name: optStr(rec(s.metadata).name) ?? '?',
    service: optStr(rec(rec(s.metadata).labels)['kubernetes.io/service-name']),
    endpoints: arr(s.endpoints)
      .map(rec)
      .map((e) => ({
        addresses: arr(e.addresses).filter((a): a is string => typeof a === 'string'),
        ready: typeof rec(e.conditions).ready === 'boolean' ? (rec(e.conditions).ready as boolean) : undefined,
        target: optStr(rec(e.targetRef).name),
        nodeName: optStr(e.nodeName),
      })),
  }));
}
