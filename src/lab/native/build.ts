// Compiles the lab's small native tools (responder, prober, holder) from the
// C sources next to this file on first use. Node takes seconds to start in the
// software-emulated guest, so every per-pod process is one of these instead.
//
// Output is cached under a directory keyed by a hash of the sources and the
// compiler command, so the host can build once before booting the guest and
// the guest (read-only host root) finds the binaries already there:
//   node dist/src/lab/native/build.js      prints the three paths as JSON.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KubeRouterError, errorMessage } from '../../errors.js';

export const NATIVE_TOOLS = ['responder', 'prober', 'holder'] as const;
export type NativeToolName = (typeof NATIVE_TOOLS)[number];

export interface NativeTools {
  responder: string;
  prober: string;
  holder: string;
  /** Directory holding the three binaries. */
  dir: string;
}

export interface NativeBuildOptions {
  /** Cache root (default: $KUBE_ROUTER_LAB_NATIVE_DIR, else <repo>/.lab/native, else <tmp>/kube-router-lab-native). */
  buildDir?: string;
  /** C compiler (default: $CC or gcc). */
  cc?: string;
}

const CFLAGS = ['-O2', '-Wall', '-Wextra', '-std=c11'];

/** Finds src/lab/native/ of this checkout, from either src/ or dist/src/. */
export function nativeSourceDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'src', 'lab', 'native');
    if (existsSync(join(candidate, 'responder.c'))) return candidate;
    if (existsSync(join(dir, 'responder.c'))) return dir;
    dir = dirname(dir);
  }
  throw new KubeRouterError('KR_ERR_LAB', 'cannot find the native tool sources (src/lab/native/*.c) of this checkout', {
    value: fileURLToPath(import.meta.url),
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && typeof e.code === 'string') {
        resolvePromise({ code: -1, stdout, stderr, spawnError: e });
        return;
      }
      resolvePromise({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function writableDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function toolPaths(dir: string): NativeTools {
  return { responder: join(dir, 'responder'), prober: join(dir, 'prober'), holder: join(dir, 'holder'), dir };
}

async function sourceHash(srcDir: string, cc: string): Promise<string> {
  const h = createHash('sha256');
  h.update([cc, ...CFLAGS, process.arch].join(' '));
  for (const tool of NATIVE_TOOLS) h.update(await readFile(join(srcDir, `${tool}.c`)));
  return h.digest('hex').slice(0, 16);
}

async function compileOne(cc: string, srcDir: string, out: string, tool: NativeToolName): Promise<void> {
  const final = join(out, tool);
  if (existsSync(final)) return;
  // Build to a private name, then rename: concurrent builders never see half a binary.
  const tmp = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const r = await run(cc, [...CFLAGS, '-o', tmp, join(srcDir, `${tool}.c`)]);
  if (r.spawnError) {
    await rm(tmp, { force: true });
    const missing = r.spawnError.code === 'ENOENT';
    throw new KubeRouterError(
      'KR_ERR_LAB',
      missing
        ? `C compiler "${cc}" not found: the lab builds its native tools (src/lab/native/*.c) with it; install gcc (apt-get install gcc)`
        : `cannot run the C compiler "${cc}": ${errorMessage(r.spawnError)}`,
      { call: `${cc} ${tool}.c` },
    );
  }
  if (r.code !== 0) {
    await rm(tmp, { force: true });
    throw new KubeRouterError('KR_ERR_LAB', `compiling ${tool}.c failed (exit ${r.code}): ${r.stderr.trim()}`, {
      call: `${cc} ${[...CFLAGS, '-o', final, join(srcDir, `${tool}.c`)].join(' ')}`,
      stderr: r.stderr,
    });
  }
  await rename(tmp, final);
}

async function build(opts: NativeBuildOptions): Promise<NativeTools> {
  const cc = opts.cc ?? process.env.CC ?? 'gcc';
  const srcDir = nativeSourceDir();
  const hash = await sourceHash(srcDir, cc);
  const repoCache = resolve(srcDir, '..', '..', '..', '.lab', 'native');
  const roots = opts.buildDir
    ? [opts.buildDir]
    : [process.env.KUBE_ROUTER_LAB_NATIVE_DIR, repoCache, join(tmpdir(), 'kube-router-lab-native')].filter(
        (d): d is string => !!d,
      );
  // Already built somewhere (e.g. on the host before the guest booted)?
  for (const root of roots) {
    const tools = toolPaths(join(root, hash));
    if (NATIVE_TOOLS.every((t) => existsSync(tools[t]))) return tools;
  }
  let root: string | undefined;
  for (const r of roots) {
    if (await writableDir(r)) {
      root = r;
      break;
    }
  }
  if (!root) throw new KubeRouterError('KR_ERR_LAB', `no writable directory to build the native tools in: ${roots.join(', ')}`);
  const out = join(root, hash);
  await mkdir(out, { recursive: true });
  // The three compile in parallel (the guest has 2 vCPUs and gcc is slow under emulation).
  await Promise.all(NATIVE_TOOLS.map((tool) => compileOne(cc, srcDir, out, tool)));
  return toolPaths(out);
}

let cached: Promise<NativeTools> | undefined;

/** Paths of the compiled native tools, compiling them first if needed (once per process). */
export function ensureNativeTools(opts: NativeBuildOptions = {}): Promise<NativeTools> {
  if (opts.buildDir || opts.cc) return build(opts);
  if (!cached) {
    cached = build(opts);
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  ensureNativeTools().then(
    (tools) => console.log(JSON.stringify(tools)),
    (err: unknown) => {
      console.error(errorMessage(err));
      process.exit(1);
    },
  );
}
