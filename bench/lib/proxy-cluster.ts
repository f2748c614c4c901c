// A synthetic cluster for the proxy benches, in the in-memory SharedCache the
// controller reads (FakeSharedCache: the same stores, index and events as the
// real informer cache): N Services x E endpoints, one EndpointSlice each, in
// the lean shape src/informers/slim*.ts keeps. 1 % of the Services are
// NodePort and 1 % NodePort with externalTrafficPolicy Local, so the node
// address services and the ipsets are exercised
// (performance-anchors.md §9, notes on fixtures).
//
// benchController() builds the real ProxyController over a kernel (see
// counting-kernel.ts) with a logger that hands every 'proxy sync' record to
// waiters: a bench awaits `nextSync()` to know a sync finished.

import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { defaultOptions } from '../../src/cmd/options/index.js';
import { ProxyController } from '../../src/controllers/proxy/controller.js';
import type { ProxyKernel } from '../../src/controllers/proxy/kernel.js';
import { FakeSharedCache } from '../../src/informers/fake-cache.js';
import type { EndpointSlice, Node, Service } from '../../src/informers/types.js';
import { BENCH_NODE_IP } from './netns.js';

export const BENCH_NODE = 'bench-node';
export const BENCH_NS = 'bench';
const OTHER_NODE = 'other-node';

export function clusterIP(i: number): string {
  const n = i + 1;
  return `10.96.${n >> 8}.${n & 255}`;
}

function endpointIP(n: number): string {
  const x = n + 1;
  return `10.${128 + (x >> 16)}.${(x >> 8) & 255}.${x & 255}`;
}

export function serviceName(i: number): string {
  return `svc-${i}`;
}

export function serviceObject(i: number): Service {
  const nodePort = i % 100 === 1 || i % 100 === 2;
  const local = i % 100 === 2;
  return {
    metadata: { name: serviceName(i), namespace: BENCH_NS, resourceVersion: '1' },
    spec: {
      type: nodePort ? 'NodePort' : 'ClusterIP',
      clusterIP: clusterIP(i),
      clusterIPs: [clusterIP(i)],
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, ...(nodePort ? { nodePort: 30000 + 2 * Math.floor(i / 100) + (local ? 1 : 0) } : {}) }],
      selector: { app: serviceName(i) },
      ...(local ? { externalTrafficPolicy: 'Local' as const } : {}),
    },
  };
}

export function sliceObject(i: number, endpoints: number, ips?: readonly string[]): EndpointSlice {
  const local = i % 100 === 2;
  return {
    metadata: { name: `${serviceName(i)}-abcde`, namespace: BENCH_NS, resourceVersion: '1', labels: { 'kubernetes.io/service-name': serviceName(i) } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: endpoints }, (_, e) => ({
      addresses: [ips?.[e] ?? endpointIP(i * endpoints + e)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: local && e === 0 ? BENCH_NODE : OTHER_NODE,
      targetRef: { kind: 'Pod', namespace: BENCH_NS, name: `${serviceName(i)}-${e}` },
    })),
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

export function nodeObject(): Node {
  return {
    metadata: { name: BENCH_NODE, resourceVersion: '1' },
    spec: { podCIDR: '10.255.0.0/24', podCIDRs: ['10.255.0.0/24'] },
    status: { addresses: [{ type: 'InternalIP', address: BENCH_NODE_IP }] },
  };
}

/** A synced cache holding this node and `services` Services x `endpoints` endpoints. */
export async function syntheticCluster(services: number, endpoints: number): Promise<FakeSharedCache> {
  const cache = new FakeSharedCache({ kinds: ['Service', 'EndpointSlice', 'Node'] });
  cache.add('Node', nodeObject());
  for (let i = 0; i < services; i++) {
    cache.add('Service', serviceObject(i));
    cache.add('EndpointSlice', sliceObject(i, endpoints));
  }
  await cache.start();
  await cache.waitForSync(10_000);
  return cache;
}

/**
 * Replaces endpoint 0 of Service i with a fresh address (a pod replaced):
 * one EndpointSlice update event, one destination out and one in.
 */
export function replaceEndpoint(cache: FakeSharedCache, i: number, newIP: string): void {
  const cur = cache.store('EndpointSlice').get(`${BENCH_NS}/${serviceName(i)}-abcde`);
  if (!cur) throw new Error(`bench: no EndpointSlice for ${serviceName(i)}`);
  const endpoints = cur.endpoints.map((e, k) => (k === 0 ? { ...e, addresses: [newIP] } : e));
  cache.update('EndpointSlice', { ...cur, endpoints });
}

/** A 'proxy sync' log record of the controller. */
export interface SyncRecord {
  full: boolean;
  services: number;
  mutations: number;
  ms: number;
  phasesMs: Record<string, number>;
  /** performance.now() when it was logged (right after the sync's kernel writes). */
  at: number;
}

/** Collects the controller's sync records and its warnings/errors. */
export class SyncLog {
  readonly syncs: SyncRecord[] = [];
  readonly problems: string[] = [];
  private waiters: Array<(r: SyncRecord) => void> = [];

  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.line(line);
      }
      cb();
    },
  });

  private line(text: string): void {
    const rec = JSON.parse(text) as { level: number; msg: string } & Partial<SyncRecord>;
    if (rec.msg === 'proxy sync') {
      const r: SyncRecord = { full: rec.full ?? false, services: rec.services ?? 0, mutations: rec.mutations ?? 0, ms: rec.ms ?? 0, phasesMs: rec.phasesMs ?? {}, at: performance.now() };
      this.syncs.push(r);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f(r);
    } else if (rec.level >= 40) {
      this.problems.push(rec.msg);
    }
  }

  /** The next 'proxy sync' record (a sync that mutated something, or a full one). */
  nextSync(timeoutMs: number): Promise<SyncRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: no proxy sync within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }
}

/** The real ProxyController of this node over `kernel`, logging into `log`. */
export function benchController(cache: FakeSharedCache, kernel: ProxyKernel, log: SyncLog): ProxyController {
  // pino.destination would be asynchronous; a Writable in the same process keeps records in order.
  const logger = pino({ level: 'info' }, log.stream);
  const options = { ...defaultOptions(), hostnameOverride: BENCH_NODE, serviceClusterIpRange: ['10.96.0.0/12'], clusterCidr: ['10.128.0.0/9'] };
  return new ProxyController({ cache, options, nodeName: BENCH_NODE, logger, metrics: new Registry() }, kernel);
}
