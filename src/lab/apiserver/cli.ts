// `kube-router-lab apiserver`: the lab API server alone, in the foreground,
// on this host. Writes a kubeconfig for kubectl and the agent, logs one line
// per request at debug (-v 2), exits 0 on SIGTERM or SIGINT.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { startLabApiServer } from './server.js';
import { parseSeedYaml } from './seed.js';
import type { StoredObject } from './types.js';
import { parseGoDuration } from '../../cmd/options/duration.js';
import { createLogger } from '../../log/logger.js';
import { errorMessage } from '../../errors.js';

const USAGE = `usage: kube-router-lab apiserver --kubeconfig-out FILE [options]

  --port P                 listen port (default 6443; 0 picks a free one)
  --host ADDR              listen address (default 127.0.0.1)
  --kubeconfig-out FILE    where to write the kubeconfig (mode 0600)
  --kubeconfig-server URL  server URL written into the kubeconfig (default https://HOST:PORT)
  --seed FILE.yaml         objects to preload (multi-document YAML)
  --cert-host NAME|IP      extra serving-certificate SAN (repeatable)
  --bookmark-interval D    watch bookmark period, Go duration (default 1s)
  --history-limit N        events kept for watch resumption (default 10000)
  -v N                     verbosity: 2 logs every request
`;

function fail(msg: string): number {
  process.stderr.write(`kube-router-lab apiserver: ${msg}\n${USAGE}`);
  return 2;
}

export async function runApiServerCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv.map((a) => (/^-v=/.test(a) ? `-v${a.slice(3)}` : a)),
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'kubeconfig-out': { type: 'string' },
        'kubeconfig-server': { type: 'string' },
        seed: { type: 'string' },
        'cert-host': { type: 'string', multiple: true },
        'bookmark-interval': { type: 'string' },
        'history-limit': { type: 'string' },
        v: { type: 'string', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail(errorMessage(err));
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const port = Number(str('port') ?? '6443');
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`invalid --port "${str('port')}"`);
  const out = str('kubeconfig-out');
  if (out === undefined) return fail('--kubeconfig-out is required');
  const bookmarkIntervalMs = parseGoDuration(str('bookmark-interval') ?? '1s');
  if (bookmarkIntervalMs === undefined || bookmarkIntervalMs <= 0) return fail(`invalid --bookmark-interval "${str('bookmark-interval')}"`);
  const historyLimit = Number(str('history-limit') ?? '10000');
  if (!Number.isInteger(historyLimit) || historyLimit < 1) return fail(`invalid --history-limit "${str('history-limit')}"`);
  const verbosity = Number(str('v') ?? '0');
  if (!Number.isInteger(verbosity) || verbosity < 0) return fail(`invalid -v "${str('v')}"`);
  const log = createLogger({ verbosity });

  let seed: StoredObject[] = [];
  const seedFile = str('seed');
  if (seedFile !== undefined) {
    try {
      seed = parseSeedYaml(fs.readFileSync(seedFile, 'utf8'), seedFile);
    } catch (err) {
      process.stderr.write(`kube-router-lab apiserver: --seed ${seedFile}: ${errorMessage(err)}\n`);
      return 1;
    }
  }

  const server = await startLabApiServer({
    port,
    host: str('host') ?? '127.0.0.1',
    certHosts: (values['cert-host'] as string[] | undefined) ?? [],
    seed,
    bookmarkIntervalMs,
    historyLimit,
    onRequest: (r) => log.debug({ method: r.method, url: r.url, code: r.code, ms: r.ms, watch: r.watch, userAgent: r.userAgent }, 'request'),
  });
  fs.writeFileSync(out, server.kubeconfig(str('kubeconfig-server')), { mode: 0o600 });
  log.info({ url: server.url, kubeconfig: out, objects: seed.length }, 'lab API server listening');

  return new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      log.info({ signal }, 'lab API server stopping');
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err: errorMessage(err) }, 'close failed');
          resolve(1);
        },
      );
    };
    const onTerm = (): void => shutdown('SIGTERM');
    const onInt = (): void => shutdown('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}
