// Informer memory/time benchmark (a script, not a test):
//   node dist/bench/informer.js [--services 10000] [--slices 1000] [--endpoints 100] [--baseline-first] [--seed-file]
//
// Starts the lab API server in a CHILD process (seeded with N Services and M
// EndpointSlices x E endpoints, realistic fields including managedFields;
// created over HTTP, or with --seed-file through `apiserver --seed`, which
// parses YAML and takes about a minute at full size), so
// this process holds only the agent side. Then measures, in this process:
//   cache:    createSharedCache(Service+EndpointSlice) → waitForSync
//   baseline: the same paged GETs (same transport) + JSON.parse, keeping the
//             parsed items (what an unslimmed informer holds at minimum)
// and prints time, retained heap (after a full GC) and RSS growth, bytes per
// endpoint and the cache/baseline ratios, as a table and one JSON line.
// Each side runs twice (cold, then warm); ratios use the warm runs. RSS
// growth is only clean for whichever runs first (V8 keeps pages it mapped).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadApiConnection } from '../src/informers/kubeconfig.js';
import { createSharedCache } from '../src/informers/shared-cache.js';
import { createHttpTransport, type Transport } from '../src/informers/transport.js';
import { RESOURCES } from '../src/informers/types.js';
import { seedDocuments } from './informer-seed.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const SERVICES = arg('services', 10_000);
const SLICES = arg('slices', 1_000);
const ENDPOINTS = arg('endpoints', 100);
const BASELINE_FIRST = process.argv.includes('--baseline-first');

interface Sample {
  ms: number;
  heapBytes: number;
  rssBytes: number;
  objects: number;
}

function fullGc(): void {
  for (let i = 0; i < 3; i++) gc();
}

function mem(): { heap: number; rss: number } {
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

const SEED_FILE = process.argv.includes('--seed-file');

/** POSTs every seed object (16 in flight) to the child API server. */
async function createOverHttp(kubeconfig: string): Promise<void> {
  const conn = await loadApiConnection({ kubeconfig });
  const server = new URL(conn.server);
  const base: https.RequestOptions = { headers: {} };
  await conn.applyTo(base);
  const agent = new https.Agent({ keepAlive: true, ca: conn.caData, maxSockets: 16 });
  const post = (p: string, body: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        { ...base, agent, hostname: server.hostname, port: server.port, method: 'POST', path: p, headers: { ...base.headers, 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 || res.statusCode === 200 ? resolve() : reject(new Error(`POST ${p}: HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const pathOf = (o: Record<string, unknown>): string => {
    const md = o.metadata as { namespace?: string };
    if (o.kind === 'Namespace') return RESOURCES.Namespace.path;
    const info = o.kind === 'Service' ? RESOURCES.Service : RESOURCES.EndpointSlice;
    return info.path.replace(`/${info.plural}`, `/namespaces/${md.namespace}/${info.plural}`);
  };
  const docs = [...seedDocuments(SERVICES, SLICES, ENDPOINTS)];
  const namespaces = docs.filter((d) => d.kind === 'Namespace');
  for (const d of namespaces) await post(pathOf(d), JSON.stringify(d));
  const rest = docs.filter((d) => d.kind !== 'Namespace');
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < rest.length) {
        const d = rest[next++];
        await post(pathOf(d), JSON.stringify(d));
      }
    }),
  );
  agent.destroy();
}

async function startChildApiServer(dir: string): Promise<{ child: ChildProcess; kubeconfig: string; seedMs: number }> {
  const seedArgs: string[] = [];
  if (SEED_FILE) {
    const seedFile = path.join(dir, 'seed.yaml');
    const out = fs.createWriteStream(seedFile);
    for (const doc of seedDocuments(SERVICES, SLICES, ENDPOINTS)) out.write(`---\n${JSON.stringify(doc)}\n`);
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    seedArgs.push('--seed', seedFile);
  }
  const kubeconfig = path.join(dir, 'kubeconfig');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const cli = path.resolve(here, '../src/cmd/kube-router-lab.js');
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--max-old-space-size=4096', cli, 'apiserver', '--port', '0', '--kubeconfig-out', kubeconfig, ...seedArgs], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`lab API server exited with ${code}`))));
  const ready = (async (): Promise<void> => {
    while (!fs.existsSync(kubeconfig) || fs.statSync(kubeconfig).size === 0) await new Promise((r) => setTimeout(r, 100));
    if (!SEED_FILE) await createOverHttp(kubeconfig);
  })();
  await Promise.race([ready, exited]);
  return { child, kubeconfig, seedMs: Date.now() - t0 };
}

async function measureCache(kubeconfig: string): Promise<Sample> {
  fullGc();
  const before = mem();
  const t0 = performance.now();
  const cache = createSharedCache({
    kubeConfig: await loadApiConnection({ kubeconfig }),
    kinds: ['Service', 'EndpointSlice'],
    logger: pino({ level: 'warn' }),
    metrics: new Registry(),
  });
  await cache.start();
  await cache.waitForSync(300_000);
  const ms = performance.now() - t0;
  fullGc();
  const after = mem();
  const objects = cache.store('Service').size() + cache.store('EndpointSlice').size();
  await cache.stop();
  return { ms, heapBytes: after.heap - before.heap, rssBytes: after.rss - before.rss, objects };
}

async function pagedList(transport: Transport, p: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let cont = '';
  do {
    const q = new URLSearchParams({ limit: '500' });
    if (cont) q.set('continue', cont);
    const res = await transport.get(p, q, new AbortController().signal);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    const page = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items: unknown[]; metadata: { continue?: string } };
    for (const it of page.items) items.push(it);
    cont = page.metadata.continue ?? '';
  } while (cont);
  return items;
}

let keep: unknown[][] = [];

async function measureBaseline(kubeconfig: string): Promise<Sample & { jsonBytes: number }> {
  fullGc();
  const before = mem();
  const t0 = performance.now();
  const transport = createHttpTransport(await loadApiConnection({ kubeconfig }));
  keep = [await pagedList(transport, RESOURCES.Service.path), await pagedList(transport, RESOURCES.EndpointSlice.path)];
  const ms = performance.now() - t0;
  transport.close();
  fullGc();
  const after = mem();
  const objects = keep[0].length + keep[1].length;
  const jsonBytes = keep.flat().reduce<number>((n, o) => n + JSON.stringify(o).length, 0);
  keep = [];
  return { ms, heapBytes: after.heap - before.heap, rssBytes: after.rss - before.rss, objects, jsonBytes };
}

const MiB = (b: number): string => (b / 1048576).toFixed(1);

async function settle(): Promise<void> {
  // Sockets of a stopped cache release their last references asynchronously.
  await new Promise((r) => setTimeout(r, 1000));
  fullGc();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kr-bench-informer-'));
  const { child, kubeconfig, seedMs } = await startChildApiServer(dir);
  try {
    fullGc();
    const start = mem();
    // Cold run of one side first: its RSS growth is the only clean one; its
    // heap includes one-time costs (compiled code, TLS context, interner).
    let coldCache: Sample | undefined;
    let coldBase: Sample | undefined;
    if (BASELINE_FIRST) coldBase = await measureBaseline(kubeconfig);
    else coldCache = await measureCache(kubeconfig);
    await settle();
    if (BASELINE_FIRST) coldCache = await measureCache(kubeconfig);
    else coldBase = await measureBaseline(kubeconfig);
    await settle();
    // Warm runs: per-object cost only.
    const cache = await measureCache(kubeconfig);
    await settle();
    const base = await measureBaseline(kubeconfig);
    const endpoints = SLICES * ENDPOINTS;
    const first = BASELINE_FIRST ? coldBase! : coldCache!;
    const rows: [string, string, string, string][] = [
      ['', 'cache (slimmed)', 'baseline (JSON.parse)', 'ratio'],
      ['time to sync (ms)', cache.ms.toFixed(0), base.ms.toFixed(0), (cache.ms / base.ms).toFixed(2)],
      ['retained heap (MiB)', MiB(cache.heapBytes), MiB(base.heapBytes), (cache.heapBytes / base.heapBytes).toFixed(3)],
      ['heap bytes / endpoint', (cache.heapBytes / endpoints).toFixed(0), (base.heapBytes / endpoints).toFixed(0), ''],
      ['cold: time (ms)', coldCache!.ms.toFixed(0), coldBase!.ms.toFixed(0), ''],
      ['cold: heap (MiB)', MiB(coldCache!.heapBytes), MiB(coldBase!.heapBytes), ''],
      [
        'cold first: RSS growth',
        BASELINE_FIRST ? '' : `${MiB(first.rssBytes)} MiB`,
        BASELINE_FIRST ? `${MiB(first.rssBytes)} MiB` : '',
        '',
      ],
      ['objects', String(cache.objects), String(base.objects), ''],
    ];
    process.stdout.write(
      `informer bench: ${SERVICES} Services, ${SLICES} EndpointSlices x ${ENDPOINTS} endpoints (${endpoints} endpoints), ` +
        `list JSON ${MiB(base.jsonBytes)} MiB, child API server ready in ${seedMs} ms; ` +
        `process heap ${MiB(start.heap)} MiB / RSS ${MiB(start.rss)} MiB before; warm figures unless marked cold\n`,
    );
    for (const r of rows) process.stdout.write(`${r[0].padEnd(24)}${r[1].padStart(18)}${r[2].padStart(24)}${r[3].padStart(10)}\n`);
    fullGc();
    const end = mem();
    process.stdout.write(
      `${JSON.stringify({
        bench: 'informer',
        services: SERVICES,
        slices: SLICES,
        endpoints,
        listJsonBytes: base.jsonBytes,
        heapBeforeBytes: start.heap,
        rssBeforeBytes: start.rss,
        heapEndBytes: end.heap,
        rssEndBytes: end.rss,
        cache: { syncMs: Math.round(cache.ms), heapBytes: cache.heapBytes, heapBytesPerEndpoint: Math.round(cache.heapBytes / endpoints), coldSyncMs: Math.round(coldCache!.ms), coldHeapBytes: coldCache!.heapBytes },
        baseline: { ms: Math.round(base.ms), heapBytes: base.heapBytes, heapBytesPerEndpoint: Math.round(base.heapBytes / endpoints), coldMs: Math.round(coldBase!.ms), coldHeapBytes: coldBase!.heapBytes },
        coldFirst: { side: BASELINE_FIRST ? 'baseline' : 'cache', rssGrowthBytes: first.rssBytes },
        ratios: { time: +(cache.ms / base.ms).toFixed(3), heap: +(cache.heapBytes / base.heapBytes).toFixed(4) },
      })}\n`,
    );
  } finally {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/informer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
