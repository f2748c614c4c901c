// The CNI side of the lab kubelet: finds the node's network config the way
// kubelet/libcni does (first *.conf, *.conflist or *.json in lexical order),
// installs the cni/ template with the node's podCIDR when there is none (as
// kube-router's DaemonSet init container does), and runs a plugin chain
// (ADD in order passing prevResult, DEL in reverse) per the CNI spec.

import { readFile } from 'node:fs/promises';
import { KubeRouterError } from '../../../errors.js';
import { describeFailure, type NodeRunner } from './runner.js';

export interface CniPluginConf {
  type: string;
  name?: string;
  cniVersion?: string;
  capabilities?: Record<string, boolean>;
  ipam?: { type?: string; ranges?: unknown[][]; dataDir?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface CniConfList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
  [k: string]: unknown;
}

export interface LoadedCniConfig {
  /** File name inside the conf dir. */
  file: string;
  list: CniConfList;
}

export interface CniRuntime {
  containerID: string;
  /** Path of the pod's netns in the node's mount view, /run/netns/<name>. */
  netnsPath: string;
  ifName: string;
  binDir: string;
  /** `ns/name` for error messages and CNI_ARGS. */
  pod: { namespace: string; name: string };
  /** Capability arguments (runtimeConfig), e.g. portMappings. */
  capabilityArgs?: Record<string, unknown>;
}

export const CNI_CONF_EXTENSIONS = ['.conf', '.conflist', '.json'];

/** A config file's JSON as a list (a single-plugin .conf becomes a one-plugin list). */
export function toConfList(file: string, json: unknown): CniConfList {
  const o = json as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') throw new KubeRouterError('KR_ERR_CONFIG', `CNI config ${file} is not a JSON object`);
  if (Array.isArray(o.plugins)) {
    if (typeof o.name !== 'string') throw new KubeRouterError('KR_ERR_CONFIG', `CNI config list ${file} has no name`);
    return { ...o, cniVersion: String(o.cniVersion ?? '0.3.0'), name: o.name, plugins: o.plugins as CniPluginConf[] };
  }
  if (typeof o.type !== 'string') throw new KubeRouterError('KR_ERR_CONFIG', `CNI config ${file} has neither plugins nor type`);
  return { cniVersion: String(o.cniVersion ?? '0.3.0'), name: String(o.name ?? ''), plugins: [o as CniPluginConf] };
}

/** Reads the node's CNI config (undefined when the directory has none). */
export async function loadCniConfig(runner: NodeRunner, confDir: string): Promise<LoadedCniConfig | undefined> {
  // One command prints the first matching file name (C-locale order, as Go's sort.Strings) and its content.
  const script =
    'cd "$1" 2>/dev/null || exit 0; for f in $(LC_ALL=C ls -1); do case "$f" in *.conf|*.conflist|*.json) ' +
    '[ -f "$f" ] || continue; echo "$f"; cat "$f"; exit 0;; esac; done';
  const r = await runner.exec(['sh', '-c', script, 'sh', confDir]);
  if (r.code !== 0) throw new KubeRouterError('KR_ERR_LAB', `reading CNI config dir ${confDir} failed: ${describeFailure(r)}`);
  const nl = r.stdout.indexOf('\n');
  if (nl < 0) return undefined;
  const file = r.stdout.slice(0, nl);
  let json: unknown;
  try {
    json = JSON.parse(r.stdout.slice(nl + 1));
  } catch (err) {
    throw new KubeRouterError('KR_ERR_CONFIG', `CNI config ${confDir}/${file} is not valid JSON`, { value: file }, { cause: err });
  }
  return { file, list: toConfList(file, json) };
}

/**
 * The template with the node's podCIDRs as the bridge plugin's host-local
 * ranges (one range set per CIDR), as the agent's routing controller writes them.
 */
export function fillTemplate(template: unknown, podCIDRs: string[], ipamDataDir?: string): Record<string, unknown> {
  const copy = structuredClone(template) as Record<string, unknown>;
  const plugins = Array.isArray(copy.plugins) ? (copy.plugins as CniPluginConf[]) : [copy as CniPluginConf];
  const bridge = plugins.find((p) => p.type === 'bridge');
  if (!bridge) throw new KubeRouterError('KR_ERR_CONFIG', 'CNI template has no bridge plugin');
  const ipam = { ...(bridge.ipam ?? { type: 'host-local' }) };
  delete ipam.subnet;
  ipam.ranges = podCIDRs.map((subnet) => [{ subnet }]);
  if (ipamDataDir) ipam.dataDir = ipamDataDir;
  bridge.ipam = ipam;
  return copy;
}

/** Writes the filled template into the node's conf dir (temp file + mv), unless a config appeared meanwhile. */
export async function installCniTemplate(
  runner: NodeRunner,
  confDir: string,
  templatePath: string,
  podCIDRs: string[],
  ipamDataDir?: string,
): Promise<string> {
  const template = JSON.parse(await readFile(templatePath, 'utf8')) as unknown;
  const file = templatePath.split('/').pop() ?? '10-kuberouter.conflist';
  const content = JSON.stringify(fillTemplate(template, podCIDRs, ipamDataDir), null, 2) + '\n';
  const script = 'mkdir -p "$1" && [ ! -e "$1/$2" ] || exit 0; cat > "$1/.$2.tmp" && mv "$1/.$2.tmp" "$1/$2"';
  const r = await runner.exec(['sh', '-c', script, 'sh', confDir, file], { input: content });
  if (r.code !== 0) throw new KubeRouterError('KR_ERR_LAB', `installing CNI config ${confDir}/${file} failed: ${describeFailure(r)}`);
  return file;
}

function versionAtLeast(v: string, want: [number, number, number]): boolean {
  const parts = v.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    if ((parts[i] ?? 0) !== want[i]) return (parts[i] ?? 0) > want[i];
  }
  return true;
}

/** The config one plugin of the list receives on stdin (libcni's buildOneConfig). */
export function pluginConfig(list: CniConfList, plugin: CniPluginConf, rt: CniRuntime, prevResult?: unknown): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, enabled] of Object.entries(plugin.capabilities ?? {})) {
    if (enabled && rt.capabilityArgs && rt.capabilityArgs[cap] !== undefined) runtimeConfig[cap] = rt.capabilityArgs[cap];
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

async function invoke(
  runner: NodeRunner,
  command: 'ADD' | 'DEL',
  list: CniConfList,
  plugin: CniPluginConf,
  rt: CniRuntime,
  prevResult?: unknown,
): Promise<unknown> {
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerID,
    CNI_NETNS: rt.netnsPath,
    CNI_IFNAME: rt.ifName,
    CNI_PATH: rt.binDir,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${rt.pod.namespace};K8S_POD_NAME=${rt.pod.name};K8S_POD_INFRA_CONTAINER_ID=${rt.containerID}`,
  };
  const bin = `${rt.binDir}/${plugin.type}`;
  const input = JSON.stringify(pluginConfig(list, plugin, rt, prevResult));
  const r = await runner.exec([bin], { env, input, timeoutMs: 60000 });
  if (r.code !== 0) {
    let msg = describeFailure(r);
    try {
      const e = JSON.parse(r.stdout) as { code?: number; msg?: string; details?: string };
      if (e.msg) msg = `exit ${r.code}: CNI error ${e.code ?? '?'}: ${e.msg}${e.details ? ` (${e.details})` : ''}`;
    } catch {
      // not a CNI error object: keep the raw output
    }
    throw new KubeRouterError(
      'KR_ERR_LAB',
      `pod ${rt.pod.namespace}/${rt.pod.name}: CNI ${command} ${plugin.type} (network ${list.name}) failed: ${msg}`,
      { object: `Pod ${rt.pod.namespace}/${rt.pod.name}`, call: `CNI_COMMAND=${command} ${bin}`, stderr: r.stderr, stdout: r.stdout },
    );
  }
  if (command === 'DEL' || r.stdout.trim() === '') return undefined;
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch (err) {
    throw new KubeRouterError('KR_ERR_LAB', `pod ${rt.pod.namespace}/${rt.pod.name}: CNI ADD ${plugin.type} printed no JSON result`, {
      call: bin,
      stdout: r.stdout,
    }, { cause: err });
  }
}

/** Runs ADD through every plugin in order; returns the final result. */
export async function cniAdd(runner: NodeRunner, list: CniConfList, rt: CniRuntime): Promise<unknown> {
  let prev: unknown;
  for (const plugin of list.plugins) prev = await invoke(runner, 'ADD', list, plugin, rt, prev);
  return prev;
}

/** Runs DEL through every plugin in reverse; prevResult (the ADD result) is passed from CNI 0.4.0 on, as libcni does. */
export async function cniDel(runner: NodeRunner, list: CniConfList, rt: CniRuntime, addResult?: unknown): Promise<void> {
  const prev = versionAtLeast(list.cniVersion, [0, 4, 0]) ? addResult : undefined;
  let firstError: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await invoke(runner, 'DEL', list, plugin, rt, prev);
    } catch (err) {
      firstError ??= err;
    }
  }
  if (firstError) throw firstError;
}

/** The addresses (without prefix length) a CNI result gives the container, any result version. */
export function resultIPs(result: unknown): string[] {
  const r = (result ?? {}) as {
    ips?: { address?: string; interface?: number }[];
    interfaces?: { sandbox?: string }[];
    ip4?: { ip?: string };
    ip6?: { ip?: string };
  };
  const out: string[] = [];
  if (Array.isArray(r.ips)) {
    for (const ip of r.ips) {
      if (typeof ip.address !== 'string') continue;
      const iface = ip.interface !== undefined && r.interfaces ? r.interfaces[ip.interface] : undefined;
      if (iface && !iface.sandbox) continue; // an address on the host side
      out.push(ip.address.split('/')[0]);
    }
  }
  for (const legacy of [r.ip4, r.ip6]) if (legacy?.ip) out.push(legacy.ip.split('/')[0]);
  // IPv4 first, as the API server orders podIPs for a v4-primary cluster.
  return out.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}
