// The lab kubelet: makes the Pods bound to one node real. For each pod: a
// network namespace, the node's real CNI plugin chain, a native responder on
// every declared containerPort, and the Pod's status (IPs, Running, Ready).
// Deleting a pod kills the responder, runs CNI DEL, removes the netns and
// then the API object (grace 0). Work is per pod, level-triggered: every
// event marks the pod dirty and one reconcile brings the node in line with
// the latest object, so events can arrive in any order and any number.

import type { StoredObject, WatchEvent } from '../../apiserver/types.js';
import { KubeRouterError, errorMessage } from '../../../errors.js';
import { ensureNativeTools, type NativeTools } from '../../native/build.js';
import { cniAdd, cniDel, resultIPs } from './cni.js';
import { cniRuntimeFor, nodeCniConfig, specOf } from './node-cni.js';
import { podContainerID, podKey, podNetnsName } from './naming.js';
import { runProbes, startHolder, type HoldHandle, type ProbeResult, type ProbeSpec } from './probe.js';
import { killResponder, responderAlive, responderPorts, startResponder } from './responder.js';
import { describeFailure, execInNodeRunner, inNetns, prefixRunner, type ExecResult, type NodeRunner } from './runner.js';
import { PodRecordStore, type PodRecord } from './state.js';
import { pendingMessage, pendingStatus, runningStatus, statusIsRunning } from './status.js';
import { silentLogger, type Kubelet, type KubeletOptions, type LabLogger, type LabSandbox, type PodLocation } from './types.js';

const RESYNC_MS = 10000;
const MAX_BACKOFF_MS = 10000;
const DEL_ATTEMPTS = 3;

interface WorkState {
  running: boolean;
  dirty: boolean;
  failures: number;
  retry?: NodeJS.Timeout;
}

export class LabKubelet implements Kubelet {
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly runner: NodeRunner;
  /** Creates and deletes pod netns (see KubeletOptions.netnsRunner). */
  private readonly netnsRunner: NodeRunner;
  private readonly log: LabLogger;
  private readonly cniBinDir: string;
  private readonly state: PodRecordStore;
  private readonly pods = new Map<string, StoredObject>();
  private readonly records = new Map<string, PodRecord>();
  private readonly work = new Map<string, WorkState>();
  private readonly delFailures = new Map<string, number>();
  private tools!: NativeTools;
  private stopWatch?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  private stopped = false;
  private slots: number;
  private readonly slotWaiters: (() => void)[] = [];

  constructor(private readonly opts: KubeletOptions) {
    this.nodeName = opts.nodeName;
    this.nodeIP = opts.nodeIP;
    this.log = opts.logger ?? silentLogger;
    this.slots = opts.concurrency ?? 4;
    const base = opts.runner ?? (opts.nodeCommandPrefix ? prefixRunner(opts.nodeCommandPrefix) : undefined);
    if (!base) throw new KubeRouterError('KR_ERR_LAB', `kubelet ${opts.nodeName}: give runner or nodeCommandPrefix to reach the node`);
    this.runner = opts.execInNode ? execInNodeRunner(opts.execInNode, base) : base;
    this.netnsRunner = opts.netnsRunner ?? prefixRunner([]);
    this.cniBinDir = opts.cniBinDir ?? '/usr/lib/cni';
    this.state = new PodRecordStore(opts.stateDir ?? `/run/kube-router-lab/kubelet/${opts.nodeName}`);
  }

  async start(): Promise<void> {
    this.tools = await ensureNativeTools();
    await this.state.init();
    for (const rec of await this.state.loadAll()) this.records.set(podKey(rec.namespace, rec.name), rec);
    const { items, resourceVersion } = this.opts.store.list('Pod');
    for (const pod of items) if (specOf(pod).nodeName === this.nodeName) this.pods.set(this.keyOf(pod), pod);
    for (const key of new Set([...this.pods.keys(), ...this.records.keys()])) this.enqueue(key);
    this.stopWatch = this.opts.store.watch('Pod', resourceVersion, {}, (ev) => this.onEvent(ev));
    this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncIntervalMs ?? RESYNC_MS);
    this.resyncTimer.unref();
    this.log.info({ node: this.nodeName, adopted: this.records.size, pods: this.pods.size }, 'kubelet started');
  }

  private keyOf(pod: StoredObject): string {
    return podKey(pod.metadata.namespace ?? 'default', pod.metadata.name);
  }

  private onEvent(ev: WatchEvent): void {
    if (ev.type === 'BOOKMARK') return;
    const key = this.keyOf(ev.object);
    if (ev.type === 'DELETED') {
      if (this.pods.delete(key) || this.records.has(key)) this.enqueue(key);
      return;
    }
    if (specOf(ev.object).nodeName === this.nodeName) {
      this.pods.set(key, ev.object);
      this.enqueue(key);
    } else if (this.pods.delete(key) || this.records.has(key)) {
      this.enqueue(key);
    }
  }

  /** Relists (a safety net for missed events) and re-checks every pod's responder. */
  private resync(): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const pod of this.opts.store.list('Pod').items) {
      if (specOf(pod).nodeName !== this.nodeName) continue;
      const key = this.keyOf(pod);
      seen.add(key);
      this.pods.set(key, pod);
    }
    for (const key of [...this.pods.keys()]) if (!seen.has(key)) this.pods.delete(key);
    for (const key of new Set([...this.pods.keys(), ...this.records.keys()])) this.enqueue(key);
  }

  private enqueue(key: string): void {
    if (this.stopped) return;
    let w = this.work.get(key);
    if (!w) {
      w = { running: false, dirty: false, failures: 0 };
      this.work.set(key, w);
    }
    w.dirty = true;
    if (w.running || w.retry) return;
    void this.drain(key, w);
  }

  private async drain(key: string, w: WorkState): Promise<void> {
    w.running = true;
    while (w.dirty && !this.stopped) {
      w.dirty = false;
      try {
        await this.reconcile(key);
        w.failures = 0;
      } catch (err) {
        w.failures++;
        const delay = Math.min(500 * 2 ** (w.failures - 1), MAX_BACKOFF_MS);
        this.log.warn({ pod: key, node: this.nodeName, err: errorMessage(err), retryInMs: delay }, 'pod sync failed');
        this.reportFailure(key, err);
        w.retry = setTimeout(() => {
          w.retry = undefined;
          this.enqueue(key);
        }, delay);
        break;
      }
    }
    w.running = false;
    if (!w.dirty && !w.retry && !this.records.has(key) && !this.pods.has(key)) this.work.delete(key);
  }

  private async reconcile(key: string): Promise<void> {
    const pod = this.pods.get(key);
    let rec = this.records.get(key);
    const terminating = !!pod?.metadata.deletionTimestamp;
    const want = !!pod && !terminating;
    if (rec && (!want || rec.uid !== pod?.metadata.uid || !rec.complete)) {
      await this.teardown(key, rec);
      rec = undefined;
    }
    if (pod && terminating) {
      this.deleteObject(pod);
      return;
    }
    if (!pod) return;
    if (!rec) await this.withSlot(() => this.setup(key, pod));
    else await this.ensure(key, pod, rec);
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.slots === 0) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.slots--;
    try {
      return await fn();
    } finally {
      this.slots++;
      this.slotWaiters.shift()?.();
    }
  }

  private deleteObject(pod: StoredObject): void {
    const ns = pod.metadata.namespace ?? 'default';
    try {
      const current = this.opts.store.get('Pod', ns, pod.metadata.name);
      if (current && current.metadata.uid === pod.metadata.uid) {
        this.opts.store.delete('Pod', ns, pod.metadata.name, { gracePeriodSeconds: 0 });
        this.log.info({ pod: `${ns}/${pod.metadata.name}`, node: this.nodeName }, 'pod removed');
      }
    } catch (err) {
      if (this.opts.store.get('Pod', ns, pod.metadata.name)) throw err;
    }
  }

  private async checked(runner: NodeRunner, what: string, argv: string[]): Promise<ExecResult> {
    const r = await runner.exec(argv);
    if (r.code !== 0) {
      throw new KubeRouterError('KR_ERR_LAB', `${what} failed on node ${this.nodeName}: ${describeFailure(r)}`, {
        call: argv.join(' '),
        stderr: r.stderr,
      });
    }
    return r;
  }

  private async setup(key: string, pod: StoredObject): Promise<void> {
    if (this.stopped || this.pods.get(key) !== pod) return; // superseded while waiting for a slot: the next pass handles it
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name;
    const spec = specOf(pod);
    const hostNetwork = !!spec.hostNetwork;
    const uid = pod.metadata.uid ?? `${namespace}/${name}`;
    const rec: PodRecord = {
      namespace,
      name,
      uid,
      hostNetwork,
      ...(hostNetwork ? {} : { netns: podNetnsName(this.nodeName, namespace, name) }),
      containerID: podContainerID(this.nodeName, namespace, name, uid),
      ips: hostNetwork ? [this.nodeIP] : [],
      ports: responderPorts((spec.containers ?? []).flatMap((c) => c.ports ?? [])),
      startTime: new Date().toISOString(),
      restartCount: 0,
      complete: false,
    };
    // Recorded before anything is created, so a crash mid-way leaves a trace to clean up.
    await this.state.save(rec);
    try {
      if (rec.netns) {
        await this.checked(this.netnsRunner, `pod ${key}: creating netns ${rec.netns}`, [
          'sh',
          '-c',
          '{ ip netns add "$1" 2>/dev/null || [ -e "/run/netns/$1" ]; } && ip -n "$1" link set lo up',
          'sh',
          rec.netns,
        ]);
        const conf = await nodeCniConfig({
          runner: this.runner,
          store: this.opts.store,
          nodeName: this.nodeName,
          confDir: this.opts.cniConfDir ?? '/etc/cni/net.d',
          templatePath: this.opts.cniTemplatePath,
          ipamDataDir: this.opts.cniIpamDataDir,
          podCIDRs: this.opts.podCIDRs,
          pod: key,
          log: this.log,
        });
        rec.cni = { file: conf.file, list: conf.list };
        await this.state.save(rec);
        rec.cni.result = await cniAdd(this.runner, conf.list, cniRuntimeFor(rec, this.cniBinDir, pod));
        rec.ips = resultIPs(rec.cni.result);
        if (rec.ips.length === 0) {
          throw new KubeRouterError('KR_ERR_LAB', `pod ${key}: CNI ADD (${conf.file}) returned no IP`, { object: `Pod ${key}` });
        }
      }
      await this.startResponder(key, rec);
      rec.complete = true;
      await this.state.save(rec);
    } catch (err) {
      await this.teardown(key, rec).catch((e: unknown) =>
        this.log.warn({ pod: key, err: errorMessage(e) }, 'cleanup after failed setup failed'),
      );
      throw err;
    }
    this.records.set(key, rec);
    this.log.info({ pod: key, node: this.nodeName, ips: rec.ips, netns: rec.netns }, 'pod running');
    this.writeStatus(key, rec);
  }

  private async startResponder(key: string, rec: PodRecord): Promise<void> {
    const { pid, child } = await startResponder(this.runner, this.tools.responder, rec.netns, key, rec.ports);
    rec.responderPid = pid;
    child.on('exit', (code, signal) => {
      const current = this.records.get(key);
      if (current !== rec || rec.responderPid !== pid || this.stopped) return;
      this.log.warn({ pod: key, code, signal }, 'responder exited; restarting it');
      rec.responderPid = undefined;
      this.enqueue(key);
    });
  }

  /** An existing (possibly adopted) pod: responder alive, status current. */
  private async ensure(key: string, pod: StoredObject, rec: PodRecord): Promise<void> {
    if (!(await responderAlive(rec.responderPid, key))) {
      rec.restartCount++;
      await this.startResponder(key, rec);
      await this.state.save(rec);
    }
    if (!statusIsRunning(pod, rec, this.nodeIP)) this.writeStatus(key, rec);
  }

  private writeStatus(key: string, rec: PodRecord): void {
    const pod = this.opts.store.get('Pod', rec.namespace, rec.name);
    if (!pod || pod.metadata.uid !== rec.uid) return;
    this.opts.store.patch('Pod', rec.namespace, rec.name, { status: runningStatus(pod, rec, this.nodeIP) }, { subresource: 'status' });
  }

  private reportFailure(key: string, err: unknown): void {
    const pod = this.pods.get(key);
    if (!pod || pod.metadata.deletionTimestamp || this.records.has(key)) return;
    const message = errorMessage(err);
    try {
      const current = this.opts.store.get('Pod', pod.metadata.namespace, pod.metadata.name);
      if (!current || pendingMessage(current) === message) return;
      this.opts.store.patch(
        'Pod',
        current.metadata.namespace,
        current.metadata.name,
        { status: pendingStatus(current, this.nodeIP, message) },
        { subresource: 'status' },
      );
    } catch (e) {
      this.log.debug({ pod: key, err: errorMessage(e) }, 'could not report pod failure');
    }
  }

  /** Kill the responder, CNI DEL, delete the netns, forget the record. */
  private async teardown(key: string, rec: PodRecord): Promise<void> {
    if (this.records.get(key) === rec) this.records.delete(key);
    const pid = rec.responderPid;
    rec.responderPid = undefined;
    await killResponder(pid, key);
    if (rec.netns) {
      if (rec.cni) {
        try {
          await cniDel(this.runner, rec.cni.list, cniRuntimeFor(rec, this.cniBinDir), rec.cni.result);
          this.delFailures.delete(key);
        } catch (err) {
          const n = (this.delFailures.get(key) ?? 0) + 1;
          this.delFailures.set(key, n);
          if (n < DEL_ATTEMPTS) {
            this.records.set(key, { ...rec, complete: false });
            throw err;
          }
          this.delFailures.delete(key);
          this.log.error({ pod: key, err: errorMessage(err) }, `CNI DEL failed ${n} times; removing the netns anyway`);
        }
      }
      const r = await this.netnsRunner.exec(['ip', 'netns', 'del', rec.netns]);
      if (r.code !== 0 && !/No such file/.test(r.stderr)) {
        this.records.set(key, { ...rec, complete: false });
        throw new KubeRouterError('KR_ERR_LAB', `pod ${key}: ip netns del ${rec.netns} failed: ${describeFailure(r)}`, {
          call: `ip netns del ${rec.netns}`,
          stderr: r.stderr,
        });
      }
    }
    await this.state.remove(rec);
    this.log.info({ pod: key, node: this.nodeName }, 'pod torn down');
  }

  // ---- access for the exec helper and the scenario runner ----

  podNetns(namespace: string, name: string): string | undefined {
    return this.records.get(podKey(namespace, name))?.netns;
  }

  locate(namespace: string, name: string): PodLocation | undefined {
    const rec = this.records.get(podKey(namespace, name));
    if (!rec) return undefined;
    return { node: this.nodeName, netns: rec.netns ?? '', ...(rec.hostNetwork ? { hostNetwork: true } : {}) };
  }

  owns(source: string): boolean {
    return source === this.nodeName || this.records.has(source);
  }

  sandboxes(): LabSandbox[] {
    const out: LabSandbox[] = [];
    for (const rec of this.records.values()) {
      out.push({
        id: rec.containerID ?? podContainerID(this.nodeName, rec.namespace, rec.name, rec.uid),
        namespace: rec.namespace,
        name: rec.name,
        uid: rec.uid,
        ready: rec.complete,
        hostNetwork: rec.hostNetwork,
        createdAtNs: Date.parse(rec.startTime) * 1e6,
        netnsPath: rec.netns ? `/run/netns/${rec.netns}` : undefined,
        pid: rec.responderPid,
        ips: [...rec.ips],
      });
    }
    return out;
  }

  private sourceNetns(source: string): string | undefined {
    if (source === this.nodeName) return undefined;
    const rec = this.records.get(source);
    if (!rec) throw new KubeRouterError('KR_ERR_LAB', `${source} is neither node ${this.nodeName} nor a pod running on it`, { value: source });
    return rec.netns;
  }

  async execInPod(namespace: string, name: string, argv: string[], input?: string): Promise<ExecResult> {
    const netns = this.sourceNetns(podKey(namespace, name));
    return this.runner.exec(inNetns(netns, argv), input !== undefined ? { input } : {});
  }

  probeFrom(source: string, probes: ProbeSpec[]): Promise<ProbeResult[]> {
    return runProbes(this.runner, this.sourceNetns(source), probes);
  }

  hold(source: string, ip: string, port: number): Promise<HoldHandle> {
    return startHolder(this.runner, this.sourceNetns(source), ip, port);
  }

  async idle(timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const busy = [...this.work.entries()].filter(([, w]) => w.running || (w.dirty && !w.retry));
      if (busy.length === 0) return;
      if (Date.now() > deadline) {
        throw new KubeRouterError('KR_ERR_LAB', `kubelet ${this.nodeName}: pods still syncing after ${timeoutMs} ms: ${busy.map(([k]) => k).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(opts: { teardownPods?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopWatch?.();
    clearInterval(this.resyncTimer);
    for (const w of this.work.values()) clearTimeout(w.retry);
    while ([...this.work.values()].some((w) => w.running)) await new Promise((r) => setTimeout(r, 25));
    if (opts.teardownPods) {
      for (const [key, rec] of [...this.records.entries()]) {
        this.delFailures.set(key, DEL_ATTEMPTS); // one try, then clean up regardless
        await this.teardown(key, rec).catch((err: unknown) => this.log.warn({ pod: key, err: errorMessage(err) }, 'teardown failed'));
      }
    }
    this.log.info({ node: this.nodeName }, 'kubelet stopped');
  }
}

/** Starts a kubelet for one node; resolves once it is watching (pods set up in the background: see idle()). */
export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const k = new LabKubelet(opts);
  await k.start();
  return k;
}
