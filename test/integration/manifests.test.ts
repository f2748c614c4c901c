// Every manifest in daemonset/ is checked three ways:
//  1. each object against the Kubernetes API types: the models
//     @kubernetes/client-node generates from the Kubernetes OpenAPI spec give
//     every field's JSON name and type (attributeTypeMap) and which fields
//     are required (non-optional properties in the .d.ts): unknown fields,
//     wrong types and missing required fields fail;
//  2. the real kubectl: `kubectl create --dry-run=server -f FILE` against the
//     lab API server (REST mapping of every kind, server-side validation);
//  3. structure: container args go through the agent's own flag parser (a
//     misspelt flag fails), and the mounts, capabilities, probes, RBAC rules
//     and CNI conf the enabled controllers need are there, and no more RBAC
//     or privilege than they need.
// A deliberately broken copy of a manifest must fail each check.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseFlags, type AgentOptions } from '../../src/cmd/options/index.js';
import { RESOURCES } from '../../src/informers/types.js';
import { loadApiConnection } from '../../src/informers/kubeconfig.js';
import { createHttpTransport } from '../../src/informers/transport.js';
import type { ResourceKind } from '../../src/informers/types.js';
import { startLabApiServer, type RunningLabApiServer } from '../../src/lab/apiserver/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DAEMONSET_DIR = path.join(ROOT, 'daemonset');
const MANIFESTS = fs.readdirSync(DAEMONSET_DIR).filter((f) => f.endsWith('.yaml')).sort();
const MODELS_DIR = path.join(ROOT, 'node_modules/@kubernetes/client-node/dist/gen/models');

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The YAML documents of a manifest text (parse errors throw). */
function parseManifest(text: string, name: string): Json[] {
  const out: Json[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${name}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (!isObj(v)) throw new Error(`${name}: a document is not an object`);
    out.push(v);
  }
  return out;
}

// ---------------------------------------------------------------- 1. schema

interface Attr {
  name: string;
  baseName: string;
  type: string;
  format: string;
}
interface ModelClass {
  getAttributeTypeMap(): Attr[];
}

let models: Record<string, unknown> | undefined;
const requiredCache = new Map<string, Set<string>>();

async function loadModels(): Promise<Record<string, unknown>> {
  // client-node is imported only here (it is slow to load); its generated models are the schema.
  models ??= (await import('@kubernetes/client-node')) as unknown as Record<string, unknown>;
  return models;
}

function model(name: string): ModelClass | undefined {
  const m = models?.[name] as Partial<ModelClass> | undefined;
  return m && typeof m.getAttributeTypeMap === 'function' ? (m as ModelClass) : undefined;
}

/** Required properties of a model: the non-optional ones of its generated .d.ts. */
function requiredOf(name: string): Set<string> {
  let r = requiredCache.get(name);
  if (!r) {
    const dts = fs.readFileSync(path.join(MODELS_DIR, `${name}.d.ts`), 'utf8');
    r = new Set([...dts.matchAll(/^\s+'(\w+)': /gm)].map((m) => m[1]));
    requiredCache.set(name, r);
  }
  return r;
}

/** The model of a top-level object: `V1` + kind for every group's v1. */
function topModel(o: Json): string | undefined {
  const av = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const version = av.split('/').pop() ?? '';
  const kind = typeof o.kind === 'string' ? o.kind : '';
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return model(name) ? name : undefined;
}

function checkValue(v: unknown, type: string, format: string, at: string, errs: string[]): void {
  const arr = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (arr) {
    if (!Array.isArray(v)) errs.push(`${at}: expected an array (${type}), got ${JSON.stringify(v)}`);
    else v.forEach((x, i) => checkValue(x, arr[1], '', `${at}[${i}]`, errs));
  } else if (map) {
    if (!isObj(v)) errs.push(`${at}: expected a map (${type}), got ${JSON.stringify(v)}`);
    else for (const [k, x] of Object.entries(v)) checkValue(x, map[1], '', `${at}.${k}`, errs);
  } else if (type === 'string' || type === 'Date') {
    if (typeof v !== 'string') errs.push(`${at}: expected a string, got ${JSON.stringify(v)}`);
  } else if (type === 'number') {
    if (typeof v !== 'number' || ((format === 'int32' || format === 'int64') && !Number.isInteger(v))) {
      errs.push(`${at}: expected ${format || 'a number'}, got ${JSON.stringify(v)}`);
    }
  } else if (type === 'boolean') {
    if (typeof v !== 'boolean') errs.push(`${at}: expected a boolean, got ${JSON.stringify(v)}`);
  } else if (type === 'IntOrString') {
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) errs.push(`${at}: expected an int or a string, got ${JSON.stringify(v)}`);
  } else if (type === 'any' || type === 'object') {
    // free-form (e.g. RawExtension)
  } else {
    checkObject(v, type, at, errs);
  }
}

function checkObject(v: unknown, modelName: string, at: string, errs: string[]): void {
  const m = model(modelName);
  if (!m) {
    errs.push(`${at}: no model ${modelName}`);
    return;
  }
  if (!isObj(v)) {
    errs.push(`${at}: expected an object (${modelName}), got ${JSON.stringify(v)}`);
    return;
  }
  const attrs = new Map(m.getAttributeTypeMap().map((a) => [a.baseName, a]));
  for (const [k, x] of Object.entries(v)) {
    const a = attrs.get(k);
    if (!a) errs.push(`${at}.${k}: unknown field in ${modelName}`);
    else checkValue(x, a.type, a.format, `${at}.${k}`, errs);
  }
  const byName = new Map(m.getAttributeTypeMap().map((a) => [a.name, a.baseName]));
  for (const req of requiredOf(modelName)) {
    const key = byName.get(req) ?? req;
    if (!(key in v)) errs.push(`${at}.${key}: required by ${modelName}`);
  }
}

/** Schema errors of every object of a manifest (empty: valid). */
async function schemaErrors(docs: readonly Json[]): Promise<string[]> {
  await loadModels();
  const errs: string[] = [];
  docs.forEach((o, i) => {
    const at = `${String(o.kind)}/${String(isObj(o.metadata) ? o.metadata.name : i)}`;
    const name = topModel(o);
    if (!name) errs.push(`${at}: unknown apiVersion/kind ${String(o.apiVersion)}/${String(o.kind)}`);
    else checkObject(o, name, at, errs);
  });
  return errs;
}

// ---------------------------------------------------------------- 3. structure

/** Kinds each controller watches, read from its source (`kinds` / `KINDS` array literal). */
function controllerKinds(dir: 'proxy' | 'routing' | 'firewall' | 'lballoc'): ResourceKind[] {
  const src = fs.readFileSync(path.join(ROOT, 'src/controllers', dir, 'controller.ts'), 'utf8');
  const m = /(?:const KINDS: readonly ResourceKind\[\] =|readonly kinds(?:: readonly ResourceKind\[\])? =)\s*\[([^\]]*)\]/.exec(src);
  if (!m) throw new Error(`src/controllers/${dir}/controller.ts: no kinds array found`);
  const kinds = [...m[1].matchAll(/'(\w+)'/g)].map((x) => x[1]);
  for (const k of kinds) if (!(k in RESOURCES)) throw new Error(`${dir}: unknown kind ${k}`);
  return kinds as ResourceKind[];
}

function get(o: unknown, ...keys: (string | number)[]): unknown {
  let cur: unknown = o;
  for (const k of keys) {
    if (typeof k === 'number') cur = Array.isArray(cur) ? cur[k] : undefined;
    else cur = isObj(cur) ? cur[k] : undefined;
  }
  return cur;
}
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObj) : []);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

const HEALTH_PORT = 20244;

/** Structural problems of a manifest (empty: fine). Throws the flag parser's error on a bad flag. */
function structureErrors(docs: readonly Json[]): string[] {
  const errs: string[] = [];
  const find = (kind: string): Json[] => docs.filter((d) => d.kind === kind);
  const [ds] = find('DaemonSet');
  const [sa] = find('ServiceAccount');
  const [role] = find('ClusterRole');
  const [binding] = find('ClusterRoleBinding');
  if (!ds || !sa || !role || !binding) return ['needs a DaemonSet, a ServiceAccount, a ClusterRole and a ClusterRoleBinding'];
  const saName = get(sa, 'metadata', 'name');
  const saNs = get(sa, 'metadata', 'namespace');
  if (get(ds, 'metadata', 'namespace') !== saNs) errs.push('the DaemonSet and its ServiceAccount are in different namespaces');
  if (get(binding, 'roleRef', 'name') !== get(role, 'metadata', 'name') || get(binding, 'roleRef', 'kind') !== 'ClusterRole') errs.push('the binding does not name the ClusterRole');
  if (!arr(get(binding, 'subjects')).some((s) => s.kind === 'ServiceAccount' && s.name === saName && s.namespace === saNs)) errs.push('the binding does not name the ServiceAccount');

  const pod = get(ds, 'spec', 'template', 'spec');
  if (get(pod, 'serviceAccountName') !== saName) errs.push('the pod does not run as the ServiceAccount');
  if (get(pod, 'hostNetwork') !== true) errs.push('hostNetwork must be true');
  if (!arr(get(pod, 'tolerations')).some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined)) errs.push('needs a toleration of every taint (operator: Exists)');
  const sel = get(ds, 'spec', 'selector', 'matchLabels');
  const labels = get(ds, 'spec', 'template', 'metadata', 'labels');
  if (!isObj(sel) || !isObj(labels) || !Object.entries(sel).every(([k, v]) => labels[k] === v)) errs.push('the selector does not match the template labels');

  const containers = arr(get(pod, 'containers'));
  const agent = containers.find((c) => c.name === 'kube-router');
  if (!agent) return [...errs, 'no kube-router container'];
  const { options: o } = parseFlags(strs(agent.args)); // throws on an unknown flag or a bad value
  const volumes = new Map(arr(get(pod, 'volumes')).map((v) => [String(v.name), v]));
  const mounts = arr(agent.volumeMounts);
  const mountAt = (p: string): Json | undefined => mounts.find((m) => m.mountPath === p);
  const hostPathOf = (m: Json | undefined): string | undefined => (m ? (get(volumes.get(String(m.name)), 'hostPath', 'path') as string | undefined) : undefined);
  const sc = isObj(agent.securityContext) ? agent.securityContext : {};
  const privileged = sc.privileged === true;
  const caps = strs(get(sc, 'capabilities', 'add'));

  // Health, readiness, metrics.
  if (o.healthPort !== HEALTH_PORT) errs.push(`--health-port must be ${HEALTH_PORT}`);
  if (get(agent, 'livenessProbe', 'httpGet', 'path') !== '/healthz' || get(agent, 'livenessProbe', 'httpGet', 'port') !== o.healthPort) errs.push('livenessProbe must GET /healthz on the health port');
  if (!['/healthz', '/readyz'].includes(String(get(agent, 'readinessProbe', 'httpGet', 'path'))) || get(agent, 'readinessProbe', 'httpGet', 'port') !== o.healthPort) errs.push('readinessProbe must GET /readyz or /healthz on the health port');
  if (o.metricsPort === 0) errs.push('--metrics-port must be set');
  else if (!arr(agent.ports).some((p) => p.containerPort === o.metricsPort)) errs.push('the metrics port is not declared in ports');
  if (typeof get(agent, 'resources', 'requests', 'cpu') !== 'string' || typeof get(agent, 'resources', 'requests', 'memory') !== 'string') errs.push('needs cpu and memory requests');

  // Mounts every mode needs, and those the enabled controllers need.
  const lock = mountAt('/run/xtables.lock');
  if (hostPathOf(lock) !== '/run/xtables.lock' || get(volumes.get(String(lock?.name)), 'hostPath', 'type') !== 'FileOrCreate') errs.push('needs the host /run/xtables.lock (FileOrCreate) at /run/xtables.lock');
  const modules = mountAt('/lib/modules');
  if (caps.includes('SYS_MODULE') || privileged) {
    if (hostPathOf(modules) !== '/lib/modules' || modules?.readOnly !== true) errs.push('modprobe needs the host /lib/modules read-only at /lib/modules');
  }
  const cni = o.runRouter && o.enableCni;
  if (cni) {
    const conf = mountAt('/etc/cni/net.d');
    if (hostPathOf(conf) !== '/etc/cni/net.d') errs.push('the CNI conf needs the host /etc/cni/net.d');
    const env = arr(agent.env).find((e) => e.name === 'KUBE_ROUTER_CNI_CONF_FILE');
    if (env && !String(env.value).startsWith('/etc/cni/net.d/')) errs.push('KUBE_ROUTER_CNI_CONF_FILE is not under /etc/cni/net.d');
    const init = arr(get(pod, 'initContainers')).find((c) => strs(c.command).join(' ').includes('10-kuberouter.conflist'));
    if (!init) errs.push('needs an init container installing 10-kuberouter.conflist');
    else if (!arr(init.volumeMounts).some((m) => m.mountPath === '/etc/cni/net.d' && hostPathOf(m) === '/etc/cni/net.d')) errs.push('the init container needs the host /etc/cni/net.d');
    const cfg = find('ConfigMap').find((c) => isObj(c.data) && typeof c.data['cni-conf.json'] === 'string');
    const template: unknown = JSON.parse(fs.readFileSync(path.join(ROOT, 'cni/10-kuberouter.conflist'), 'utf8'));
    if (!cfg) errs.push('needs the kube-router-cfg ConfigMap with cni-conf.json');
    else assert.deepEqual(JSON.parse(String(get(cfg, 'data', 'cni-conf.json'))), template, 'cni-conf.json must be cni/10-kuberouter.conflist');
  } else if (mountAt('/etc/cni/net.d')) errs.push('mounts /etc/cni/net.d without the CNI enabled');
  if (o.kubeconfig !== '') {
    const m = mounts.find((x) => o.kubeconfig.startsWith(`${String(x.mountPath)}/`));
    if (!m) errs.push(`--kubeconfig ${o.kubeconfig} is not on a mounted volume`);
    const cm = m ? get(volumes.get(String(m.name)), 'configMap', 'name') : undefined;
    if (typeof cm === 'string' && cm !== 'kube-proxy' && !find('ConfigMap').some((c) => get(c, 'metadata', 'name') === cm)) errs.push(`the kubeconfig ConfigMap ${cm} is neither kubeadm's kube-proxy nor in the file`);
  }
  // DSR (--runtime-endpoint set): the runtime's socket mounted at that path, and the
  // host PID namespace so /proc/<sandbox pid>/ns/net is the pod's (src/cri/).
  if (o.runtimeEndpoint !== '') {
    const sock = o.runtimeEndpoint.replace(/^unix:(\/\/)?/, '');
    if (hostPathOf(mountAt(sock)) !== sock || get(volumes.get(String(mountAt(sock)?.name)), 'hostPath', 'type') !== 'Socket') errs.push(`--runtime-endpoint needs the host ${sock} (type Socket) mounted at ${sock}`);
    if (get(pod, 'hostPID') !== true) errs.push('--runtime-endpoint (DSR) needs hostPID: true to enter pod namespaces through /proc/<pid>/ns/net');
  }
  // The service proxy cannot reach the API through the `kubernetes` Service: it IS the proxy.
  if (o.runServiceProxy && o.kubeconfig === '' && o.master === '') errs.push('with the service proxy on, the API server address must come from --kubeconfig or --master');

  // Privilege: exactly when a sysctl the enabled controllers need must be written.
  const needsSysctl = o.runServiceProxy || (o.runRouter && (o.enableCni || o.runFirewall));
  if (needsSysctl && !privileged) errs.push('privileged is needed: /proc/sys is read-only otherwise');
  if (!needsSysctl && privileged) errs.push('privileged is not needed by the enabled controllers');
  if (!privileged) {
    for (const c of ['NET_ADMIN', 'NET_RAW']) if (!caps.includes(c)) errs.push(`needs capability ${c}`);
    if (o.runRouter && o.bgpPort < 1024 && !caps.includes('NET_BIND_SERVICE')) errs.push('gobgpd on a port < 1024 needs NET_BIND_SERVICE');
    if (!strs(get(sc, 'capabilities', 'drop')).includes('ALL')) errs.push('an unprivileged agent should drop ALL other capabilities');
  } else if (!caps.includes('NET_ADMIN')) errs.push('list the capabilities the agent needs (NET_ADMIN ...) even when privileged');

  // RBAC: list+watch of exactly the kinds the enabled controllers watch.
  errs.push(...rbacErrors(role, o));
  return errs;
}

/**
 * The API access of the enabled controllers, `group/resource` -> verbs: list
 * and watch of every kind a controller watches; with --run-loadbalancer also
 * the allocator's Lease (get, create, update) and its Service status patches.
 */
function wantedAccess(o: AgentOptions): Map<string, Set<string>> {
  const want = new Map<string, Set<string>>();
  const add = (res: string, ...verbs: string[]): void => {
    const v = want.get(res) ?? new Set<string>();
    verbs.forEach((x) => v.add(x));
    want.set(res, v);
  };
  const enabled = [o.runServiceProxy && 'proxy', o.runRouter && 'routing', o.runFirewall && 'firewall', o.runLoadbalancer && 'lballoc']
    .filter((x): x is 'proxy' | 'routing' | 'firewall' | 'lballoc' => x !== false);
  for (const c of enabled) for (const k of controllerKinds(c)) add(`${RESOURCES[k].group}/${RESOURCES[k].plural}`, 'list', 'watch');
  if (o.runLoadbalancer) {
    add('coordination.k8s.io/leases', 'get', 'create', 'update');
    add('/services/status', 'patch');
  }
  return want;
}

function rbacErrors(role: Json, o: AgentOptions): string[] {
  const errs: string[] = [];
  const want = wantedAccess(o);
  const have = new Map<string, Set<string>>();
  for (const rule of arr(role.rules)) {
    for (const g of strs(rule.apiGroups)) {
      for (const r of strs(rule.resources)) {
        const v = have.get(`${g}/${r}`) ?? new Set<string>();
        strs(rule.verbs).forEach((x) => v.add(x));
        have.set(`${g}/${r}`, v);
      }
    }
  }
  for (const [res, verbs] of want) {
    const got = have.get(res);
    if (!got) errs.push(`the ClusterRole lacks ${res} (used by an enabled controller)`);
    else for (const v of verbs) if (!got.has(v)) errs.push(`the ClusterRole lacks verb ${v} on ${res}`);
  }
  for (const [res, verbs] of have) {
    const w = want.get(res);
    if (!w) errs.push(`the ClusterRole grants ${res}, which no enabled controller uses`);
    else for (const v of verbs) if (!w.has(v)) errs.push(`the ClusterRole grants verb ${v} on ${res}, which no enabled controller uses`);
  }
  return errs;
}

// ---------------------------------------------------------------- 2. kubectl

function findKubectl(): string | undefined {
  const candidates = [process.env.KUBECTL, '/usr/bin/kubectl', ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'kubectl'))];
  return candidates.find((c): c is string => c !== undefined && c !== '' && fs.existsSync(c));
}
const KUBECTL = findKubectl();

function kubectl(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL ?? 'kubectl', args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

// ---------------------------------------------------------------- broken copies

const BASE = 'kubeadm-kuberouter-all-features.yaml';
const baseText = (): string => fs.readFileSync(path.join(DAEMONSET_DIR, BASE), 'utf8');
function broken(from: string, to: string): string {
  const t = baseText();
  assert.ok(t.includes(from), `${BASE} contains ${from}`);
  return t.replace(from, to);
}

describe('daemonset/ manifests', () => {
  it('are the six variants, each parsing as YAML', () => {
    assert.deepEqual(MANIFESTS, [
      'generic-kuberouter-all-features-dsr.yaml',
      'generic-kuberouter-all-features.yaml',
      'generic-kuberouter-only-advertise-routes.yaml',
      'kubeadm-kuberouter-all-features.yaml',
      'kubeadm-kuberouter-service-proxy-only.yaml',
      'kubeadm-kuberouter.yaml',
    ]);
    for (const f of MANIFESTS) assert.ok(parseManifest(fs.readFileSync(path.join(DAEMONSET_DIR, f), 'utf8'), f).length >= 4, f);
  });

  for (const f of MANIFESTS) {
    it(`${f}: every object matches the Kubernetes API types`, async () => {
      const docs = parseManifest(fs.readFileSync(path.join(DAEMONSET_DIR, f), 'utf8'), f);
      assert.deepEqual(await schemaErrors(docs), []);
    });
    it(`${f}: args parse with the agent's flag parser; mounts, privileges, probes and RBAC fit the enabled controllers`, () => {
      const docs = parseManifest(fs.readFileSync(path.join(DAEMONSET_DIR, f), 'utf8'), f);
      assert.deepEqual(structureErrors(docs), []);
    });
  }

  it('the variants enable what their names say', () => {
    const opts = (f: string): AgentOptions => {
      const docs = parseManifest(fs.readFileSync(path.join(DAEMONSET_DIR, f), 'utf8'), f);
      const ds = docs.find((d) => d.kind === 'DaemonSet');
      const c = arr(get(ds, 'spec', 'template', 'spec', 'containers')).find((x) => x.name === 'kube-router');
      return parseFlags(strs(c?.args)).options;
    };
    const on = (o: AgentOptions): string => [o.runServiceProxy && 'proxy', o.runRouter && 'router', o.runFirewall && 'firewall'].filter(Boolean).join('+');
    assert.equal(on(opts('kubeadm-kuberouter-all-features.yaml')), 'proxy+router+firewall');
    assert.equal(on(opts('generic-kuberouter-all-features.yaml')), 'proxy+router+firewall');
    assert.equal(on(opts('kubeadm-kuberouter.yaml')), 'router+firewall');
    assert.equal(on(opts('kubeadm-kuberouter-service-proxy-only.yaml')), 'proxy');
    const adv = opts('generic-kuberouter-only-advertise-routes.yaml');
    assert.equal(on(adv), 'router');
    assert.deepEqual([adv.enableCni, adv.enableIbgp, adv.enableOverlay, adv.advertiseClusterIp], [false, false, false, true]);
    assert.equal(adv.peerRouterIps.length, adv.peerRouterAsns.length);
  });

  it('a broken copy fails: a misspelt flag, a wrong field type, an unknown field, excess RBAC, a missing mount', async () => {
    const typo = parseManifest(broken('--run-firewall=true', '--run-firewal=true'), 'typo');
    assert.throws(() => structureErrors(typo), /unknown flag: --run-firewal/);
    const badValue = parseManifest(broken('--metrics-port=20245', '--metrics-port=metrics'), 'badvalue');
    assert.throws(() => structureErrors(badValue), /--metrics-port/);

    const wrongType = parseManifest(broken('hostNetwork: true', 'hostNetwork: "yes"'), 'type');
    assert.deepEqual(await schemaErrors(wrongType), ['DaemonSet/kube-router.spec.template.spec.hostNetwork: expected a boolean, got "yes"']);
    const portString = parseManifest(broken('containerPort: 20245', 'containerPort: "20245"'), 'port');
    assert.match((await schemaErrors(portString)).join('\n'), /containers\[0\]\.ports\[1\]\.containerPort: expected int32, got "20245"/);
    const unknownField = parseManifest(broken('      tolerations:', '      toleration:'), 'field');
    assert.match((await schemaErrors(unknownField)).join('\n'), /spec\.template\.spec\.toleration: unknown field in V1PodSpec/);
    const noApiGroup = parseManifest(broken('roleRef:\n  apiGroup: rbac.authorization.k8s.io\n', 'roleRef:\n'), 'required');
    assert.match((await schemaErrors(noApiGroup)).join('\n'), /ClusterRoleBinding\/kube-router\.roleRef\.apiGroup: required by V1RoleRef/);

    const greedy = parseManifest(broken('verbs: [list, watch]', 'verbs: [get, list, watch, update]'), 'rbac');
    assert.match(structureErrors(greedy).join('\n'), /grants verb get on \/nodes, which no enabled controller uses/);
    const secrets = parseManifest(broken('resources: [nodes, services, pods, namespaces]', 'resources: [nodes, services, pods, namespaces, secrets]'), 'rbac2');
    assert.match(structureErrors(secrets).join('\n'), /grants \/secrets, which no enabled controller uses/);
    const allocator = parseManifest(broken('            - --metrics-port=20245\n', '            - --metrics-port=20245\n            - --run-loadbalancer=true\n'), 'lballoc');
    assert.match(structureErrors(allocator).join('\n'), /lacks coordination\.k8s\.io\/leases/);
    const noLock = parseManifest(broken('            path: /run/xtables.lock\n', '            path: /var/run/other.lock\n'), 'lock');
    assert.match(structureErrors(noLock).join('\n'), /needs the host \/run\/xtables\.lock/);
    const unprivileged = parseManifest(broken('            privileged: true', '            privileged: false'), 'priv');
    assert.match(structureErrors(unprivileged).join('\n'), /privileged is needed/);
    const dsrNoSocket = parseManifest(broken('            - --metrics-port=20245\n', '            - --metrics-port=20245\n            - --runtime-endpoint=unix:///run/containerd/containerd.sock\n'), 'dsr');
    assert.match(structureErrors(dsrNoSocket).join('\n'), /--runtime-endpoint needs the host \/run\/containerd\/containerd\.sock \(type Socket\) mounted/);
    assert.match(structureErrors(dsrNoSocket).join('\n'), /needs hostPID: true/);
  });

  describe('kubectl create --dry-run=server against the lab API server', { skip: KUBECTL ? false : 'kubectl not found' }, () => {
    let server: RunningLabApiServer;
    let tmp: string;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      server = await startLabApiServer({ port: 0 });
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-manifests-'));
      const kc = path.join(tmp, 'kubeconfig');
      fs.writeFileSync(kc, server.kubeconfig());
      env = { ...process.env, KUBECONFIG: kc, HOME: tmp };
    });
    after(async () => {
      await server.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    for (const f of MANIFESTS) {
      it(`${f} is accepted`, async () => {
        const r = await kubectl(['create', '--dry-run=server', '--validate=strict', '-f', path.join(DAEMONSET_DIR, f)], env);
        assert.equal(r.code, 0, r.out);
        const kinds = parseManifest(fs.readFileSync(path.join(DAEMONSET_DIR, f), 'utf8'), f).map((d) => String(d.kind).toLowerCase());
        for (const k of kinds) assert.match(r.out, new RegExp(`^${k}[^ ]*/kube-router[^ ]* created \\(server dry run\\)$`, 'm'), r.out);
      });
    }

    it("the manifests' kubeconfigs (generic ConfigMap, kubeadm's kube-proxy kubeconfig.conf) work with the agent's loader", async () => {
      // The lab's address, CA and token stand in for the pod's service-account files.
      const lab = parseYaml(server.kubeconfig()) as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]; users: { user: { token: string } }[] };
      const sa = path.join(tmp, 'serviceaccount');
      fs.mkdirSync(sa, { recursive: true });
      fs.writeFileSync(path.join(sa, 'ca.crt'), Buffer.from(lab.clusters[0].cluster['certificate-authority-data'], 'base64'));
      fs.writeFileSync(path.join(sa, 'token'), `${lab.users[0].user.token}\n`);
      const generic = parseManifest(fs.readFileSync(path.join(DAEMONSET_DIR, 'generic-kuberouter-all-features.yaml'), 'utf8'), 'generic')
        .find((d) => d.kind === 'ConfigMap' && get(d, 'metadata', 'name') === 'kube-router-kubeconfig');
      // kubeadm's kube-proxy ConfigMap key kubeconfig.conf, as kubeadm writes it.
      const kubeadm = [
        'apiVersion: v1', 'kind: Config', 'clusters:', '- cluster:',
        '    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
        '    server: https://10.0.0.10:6443', '  name: default', 'contexts:', '- context:', '    cluster: default',
        '    namespace: default', '    user: default', '  name: default', 'current-context: default', 'users:',
        '- name: default', '  user:', '    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token', '',
      ].join('\n');
      for (const [name, text] of [['generic', String(get(generic, 'data', 'kubeconfig'))], ['kubeadm', kubeadm]] as const) {
        assert.match(text, /\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token/, name);
        const file = path.join(tmp, `${name}.kubeconfig`);
        fs.writeFileSync(file, text.replaceAll('/var/run/secrets/kubernetes.io/serviceaccount', sa).replace(/server: \S+/, `server: ${lab.clusters[0].cluster.server}`));
        const conn = await loadApiConnection({ kubeconfig: file });
        const transport = createHttpTransport(conn);
        try {
          const res = await transport.get('/api/v1/nodes', new URLSearchParams({ limit: '1' }), new AbortController().signal);
          res.body.resume();
          assert.equal(res.statusCode, 200, `${name}: ${conn.describe()}`);
        } finally {
          transport.close();
        }
      }
    });

    it("docs/migrating.md's one-off pods (kubectl run --overrides) match the Pod type and are accepted", async () => {
      const doc = fs.readFileSync(path.join(ROOT, 'docs/migrating.md'), 'utf8');
      const blocks = [...doc.matchAll(/kubectl -n kube-system run (\S+) --image="\$(\w+)" --restart=Never --overrides='(\{[\s\S]*?\})'\n/g)];
      assert.equal(blocks.length, 3, 'kube-proxy cleanup, flannel cleanup, --cleanup-config');
      for (const [, name, , json] of blocks) {
        const overrides = json.replaceAll("'$NODE'", 'node-a').replace(/'\$\w+'/g, 'registry.example/image:v1');
        const spec = (JSON.parse(overrides) as { spec: Json }).spec;
        await loadModels();
        const errs: string[] = [];
        checkObject(spec, 'V1PodSpec', name, errs);
        assert.deepEqual(errs, [], name);
        assert.equal(arr(spec.containers).length, 1, `${name}: one container`);
        const r = await kubectl(['-n', 'kube-system', 'run', name.replace('$NODE', 'node-a'), '--image=registry.example/image:v1', '--restart=Never',
          '--dry-run=server', `--overrides=${overrides}`, '-o', 'jsonpath={.spec.containers[*].name}'], env);
        assert.equal(r.code, 0, r.out);
        assert.equal(r.out.trim(), 'cleanup', `${name}: kubectl run's generated container is replaced by the override`);
      }
    });

    it('a broken copy is refused: an unserved apiVersion, a selector that does not match the template', async () => {
      const bad = path.join(tmp, 'bad.yaml');
      fs.writeFileSync(bad, broken('apiVersion: apps/v1\nkind: DaemonSet', 'apiVersion: apps/v1beta2\nkind: DaemonSet'));
      const r1 = await kubectl(['create', '--dry-run=server', '-f', bad], env);
      assert.notEqual(r1.code, 0);
      // kubectl's schema lookup (or its REST mapping, with --validate=false) finds no apps/v1beta2.
      assert.match(r1.out, /could not find the requested resource|no matches for kind "DaemonSet" in version "apps\/v1beta2"/);
      assert.doesNotMatch(r1.out, /daemonset\.apps\/kube-router created/);
      fs.writeFileSync(bad, broken('  selector:\n    matchLabels:\n      k8s-app: kube-router', '  selector:\n    matchLabels:\n      k8s-app: kube-routr'));
      const r2 = await kubectl(['create', '--dry-run=server', '-f', bad], env);
      assert.notEqual(r2.code, 0);
      assert.match(r2.out, /`selector` does not match template `labels`/);
    });
  });
});

// The manifests' agents really run with what the manifests give them: the
// built binary with a manifest's args, in a throwaway netns, against a lab API
// server in the same netns. The unprivileged variant runs with its bounding
// set cut to the manifest's capabilities and /proc/sys read-only, as a
// container runtime sets them up. (The service proxy variants need ip_vs,
// which this host may lack; the lab VM runs the proxy.)
const BIN = fileURLToPath(new URL('../../src/cmd/kube-router.js', import.meta.url));
const LAB_BIN = fileURLToPath(new URL('../../src/cmd/kube-router-lab.js', import.meta.url));
const has = (cmd: string): boolean => ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => fs.existsSync(path.join(d, cmd)));
const netnsSkip = process.getuid?.() !== 0 ? 'needs root (ip netns)' : !has('gobgpd') || !has('setpriv') || !has('unshare') ? 'needs gobgpd, setpriv, unshare' : false;
/** Capability bit numbers (linux/capability.h) of the capabilities the manifests add. */
const CAP_BITS: Readonly<Record<string, number>> = { NET_BIND_SERVICE: 10, NET_ADMIN: 12, NET_RAW: 13, SYS_MODULE: 16 };

describe('the agent runs with what its manifest gives it', { skip: netnsSkip, timeout: 300_000 }, () => {
  const ns = `krt-caps-${process.pid}`;
  const inNs = (...argv: string[]): string => execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let dir: string;
  let kc: string;
  let api: ReturnType<typeof spawn> | undefined;

  /** Ends everything in the netns but the API server (gobgpd outlives the agent under --bgp-graceful-restart). */
  function killAgents(): void {
    for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\s+/).filter((x) => x !== '')) {
      if (Number(pid) === api?.pid) continue;
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-caps-'));
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'ignore' });
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    inNs('ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'eth0');
    inNs('ip', 'link', 'set', 'eth0', 'up');
    inNs('ip', 'link', 'set', 'eth1', 'up');
    const seed = path.join(dir, 'seed.yaml');
    fs.writeFileSync(seed, ['apiVersion: v1', 'kind: Node', 'metadata: {name: capsnode}', 'spec: {podCIDR: 10.244.5.0/24, podCIDRs: [10.244.5.0/24]}',
      'status: {addresses: [{type: InternalIP, address: 10.99.0.1}], conditions: [{type: Ready, status: "True"}]}', ''].join('\n'));
    kc = path.join(dir, 'kubeconfig');
    api = spawn('ip', ['netns', 'exec', ns, process.execPath, LAB_BIN, 'apiserver', '--port', '16443', '--kubeconfig-out', kc, '--seed', seed], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !fs.existsSync(kc); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(fs.existsSync(kc), 'the lab API server wrote its kubeconfig');
  });
  after(() => {
    killAgents();
    api?.kill('SIGKILL');
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the manifest's agent; resolves once /healthz is 200 with the agent's pid and output. */
  async function runAgent(file: string): Promise<{ pid: number; container: Json; out: () => string }> {
    const docs = parseManifest(fs.readFileSync(path.join(DAEMONSET_DIR, file), 'utf8'), file);
    const c = arr(get(docs.find((d) => d.kind === 'DaemonSet'), 'spec', 'template', 'spec', 'containers')).find((x) => x.name === 'kube-router') ?? {};
    const args = [...strs(c.args).filter((a) => !a.startsWith('--kubeconfig=')), `--kubeconfig=${kc}`, '--hostname-override=capsnode'];
    const privileged = get(c, 'securityContext', 'privileged') === true;
    const caps = strs(get(c, 'securityContext', 'capabilities', 'add')).map((x) => `+${x.toLowerCase()}`).join(',');
    // A container runtime mounts /proc/sys read-only unless privileged, and bounds the capabilities.
    const wrap = privileged ? [] : ['unshare', '--mount', '--', 'sh', '-c', 'mount --bind /proc/sys /proc/sys && mount -o remount,ro,bind /proc/sys && exec "$@"', 'sh',
      'setpriv', `--bounding-set=-all,${caps}`, '--inh-caps=-all', '--'];
    // The install-cni init container's job: the ConfigMap's conf at the agent's CNI conf path.
    const confPath = path.join(dir, `${file}.conflist`);
    const cfg = docs.find((d) => d.kind === 'ConfigMap' && get(d, 'metadata', 'name') === 'kube-router-cfg');
    if (cfg) fs.writeFileSync(confPath, String(get(cfg, 'data', 'cni-conf.json')));
    let out = '';
    const agent = spawn('ip', ['netns', 'exec', ns, ...wrap, process.execPath, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NAME: '', KUBE_ROUTER_CNI_CONF_FILE: confPath },
    });
    agent.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    agent.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    let health = '';
    for (let i = 0; i < 120 && !/^200 /.test(health) && agent.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        health = inNs(process.execPath, '-e', "fetch('http://127.0.0.1:20244/healthz').then(async r => console.log(r.status, await r.text())).catch(e => console.log(0, e.message))");
      } catch {
        health = '';
      }
    }
    assert.match(health, /^200 [\s\S]*"healthy": true/, `${file}: agent output:\n${out.slice(-3000)}`);
    return { pid: agent.pid ?? 0, container: c, out: () => out };
  }

  it('generic-kuberouter-only-advertise-routes.yaml (not privileged): /healthz 200, kube-bridge, gobgpd peer, exactly its capabilities, /proc/sys read-only', async () => {
    try {
      const { pid, container } = await runAgent('generic-kuberouter-only-advertise-routes.yaml');
      const mask = strs(get(container, 'securityContext', 'capabilities', 'add')).reduce((m, x) => m | (1n << BigInt(CAP_BITS[x])), 0n);
      const status = inNs('cat', `/proc/${pid}/status`);
      for (const field of ['CapEff', 'CapBnd']) assert.equal(BigInt(`0x${new RegExp(`${field}:\\s+([0-9a-f]+)`).exec(status)?.[1] ?? ''}`), mask, field);
      assert.match(inNs('cat', `/proc/${pid}/mountinfo`), / \/proc\/sys ro[, ]/);
      assert.match(inNs('ip', '-o', 'link', 'show', 'kube-bridge'), /kube-bridge/);
      assert.match(inNs('gobgp', 'neighbor'), /192\.0\.2\.1/);
    } finally {
      killAgents();
    }
  });

  it('kubeadm-kuberouter.yaml (router + firewall, privileged): /healthz 200, the CNI conf written with the podCIDR, the firewall chains in place', async () => {
    try {
      await runAgent('kubeadm-kuberouter.yaml');
      const conf = JSON.parse(fs.readFileSync(path.join(dir, 'kubeadm-kuberouter.yaml.conflist'), 'utf8')) as { plugins: { ipam?: { ranges?: { subnet: string }[][] } }[] };
      assert.deepEqual(conf.plugins[0].ipam?.ranges, [[{ subnet: '10.244.5.0/24' }]]);
      assert.match(inNs('iptables-save', '-t', 'filter'), /-A FORWARD .*-j KUBE-ROUTER-FORWARD/);
    } finally {
      killAgents();
    }
  });
});
