// The Dockerfile installs exactly what is needed: every binary the agent runs
// (found by scanning the exec/spawn call sites in src/), every binary the
// image's entrypoint and the manifests' init container run, and the operator
// tools docs/troubleshooting.md runs in the pod; and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { binariesFor } from '../../src/kernel/iptables/backend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

/** Binaries (or files, for the CNI plugins) of each Debian package the Dockerfile may install. */
const PROVIDES: Readonly<Record<string, readonly string[]>> = {
  iptables: [
    'iptables', 'ip6tables', 'iptables-save', 'ip6tables-save',
    ...(['nft', 'legacy'] as const).flatMap((b) => (['ipv4', 'ipv6'] as const).flatMap((f) => {
      const x = binariesFor(b, f);
      return [x.save, x.restore];
    })),
  ],
  ipset: ['ipset'],
  iproute2: ['ip'],
  kmod: ['modprobe'],
  gobgpd: ['gobgpd', 'gobgp'],
  ipvsadm: ['ipvsadm'],
  conntrack: ['conntrack'],
  'containernetworking-plugins': ['/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/portmap', '/usr/lib/cni/loopback'],
};

/** In node:20-bookworm-slim already (essential packages: util-linux has nsenter; and node itself). */
const BASE = new Set(['sh', 'cat', 'cp', 'mv', 'grep', 'update-alternatives', 'node', 'npm', 'nsenter']);

// ---- the agent's call sites ----

/**
 * Files whose exec/spawn call sites take argv[0] from a variable: the
 * binaries they run. Each listed name must appear as a literal in the file,
 * except the iptables save/restore names, which come from binariesFor().
 */
const INDIRECT: Readonly<Record<string, readonly string[]>> = {
  // The generic runner: argv comes from its callers; netnsExec prefixes `ip netns exec` (tests only).
  'src/kernel/exec.ts': ['ip'],
  // The pre-started restore processes: argv comes from the iptables driver (listed below).
  'src/kernel/warm-exec.ts': [],
  'src/kernel/iptables/backend.ts': ['iptables'],
  'src/kernel/iptables/linux.ts': PROVIDES.iptables.filter((b) => b.endsWith('-save') || b.endsWith('-restore')),
  'src/kernel/ipset/linux.ts': ['ipset'],
  'src/controllers/routing/pod-egress.ts': ['iptables', 'ip6tables'],
  'src/bgp/gobgpd.ts': ['gobgpd'],
  'src/controllers/proxy/conntrack.ts': ['conntrack'],
  // DSR: enters an endpoint pod's namespace (util-linux, essential) and runs sh there (which runs ip: iproute2).
  'src/kernel/podtunnel/linux.ts': ['nsenter', 'sh'],
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** A call of the process runner: `spawn(`, a bare `exec(`, `this.exec(` (not RegExp#exec: `re.exec(`). */
const CALL = /(?:^|[^\w.])(?:spawn|execFile|exec)\(|this\.exec\(/;
const LITERAL_HEAD = /(?:exec|spawn)\(\s*\[\s*'([^']+)'/g;

interface AgentBinaries {
  binaries: Set<string>;
  /** Files with a call site whose binary is neither literal nor listed in INDIRECT. */
  unexplained: string[];
}

/** The agent's binaries: src/ minus the lab (a test tool, not in the image) and the fakes. */
function agentBinaries(): AgentBinaries {
  const binaries = new Set<string>();
  const unexplained: string[] = [];
  const files = walk('src').filter((f) => !f.startsWith('src/lab/') && !/fake/.test(f));
  for (const f of files) {
    const text = read(f);
    const calls = text.split('\n').filter((l) => !/^\s*(\/\/|\*)/.test(l) && CALL.test(l));
    if (calls.length === 0) continue;
    const literal = calls.every((l) => /(?:exec|spawn)\(\s*\['/.test(l));
    for (const m of text.matchAll(LITERAL_HEAD)) binaries.add(m[1]);
    const listed = INDIRECT[f];
    if (listed) listed.forEach((b) => binaries.add(b));
    else if (!literal) unexplained.push(f);
  }
  return { binaries, unexplained };
}

// ---- the Dockerfile ----

interface DockerfileFacts {
  finalFrom: string;
  packages: string[];
  entrypointScript: string;
  text: string;
}

function parseDockerfile(text: string): DockerfileFacts {
  const joined = text.replace(/\\\n/g, ' ');
  const lines = joined.split('\n');
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  const finalFrom = (froms[froms.length - 1] ?? '').split(/\s+/)[1] ?? '';
  const finalStart = joined.lastIndexOf('\nFROM ');
  const finalStage = joined.slice(finalStart);
  const packages: string[] = [];
  for (const l of finalStage.split('\n').filter((x) => /^RUN\s/.test(x) && /apt-get\s+install/.test(x))) {
    for (const part of l.split('&&')) {
      const m = /apt-get\s+install\s+(.*)$/.exec(part.trim());
      if (m) packages.push(...m[1].split(/\s+/).filter((w) => w !== '' && !w.startsWith('-')));
    }
  }
  const script = /<<'SCRIPT'[^\n]*\n([\s\S]*?)\nSCRIPT\n/.exec(text)?.[1] ?? '';
  return { finalFrom, packages, entrypointScript: script, text };
}

/** Command names of a shell script that are known binaries (whole words). */
function scriptCommands(script: string): string[] {
  const known = new Set([...Object.values(PROVIDES).flat().filter((b) => !b.includes('/')), ...BASE]);
  return [...known].filter((b) => new RegExp(`(^|[\\s($|;])${b.replace(/[-.]/g, '\\$&')}(?=[\\s;)]|$)`, 'm').test(script));
}

/** What the manifests' init containers run: their commands plus the CNI plugin files they copy. */
function initContainerNeeds(): string[] {
  const out = new Set<string>();
  for (const f of readdirSync(join(ROOT, 'daemonset')).filter((x) => x.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(read(`daemonset/${f}`))) {
      const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { initContainers?: { command?: string[] }[] } } } };
      for (const c of o?.spec?.template?.spec?.initContainers ?? []) {
        const cmd = c.command ?? [];
        out.add((cmd[0] ?? '').split('/').pop() ?? '');
        const script = cmd.join('\n');
        scriptCommands(script).forEach((b) => out.add(b));
        const loop = /for p in ([^;]+); do/.exec(script);
        if (loop && script.includes('/usr/lib/cni/$p')) loop[1].trim().split(/\s+/).forEach((p) => out.add(`/usr/lib/cni/${p}`));
      }
    }
  }
  out.delete('');
  return [...out];
}

/** Tools docs/troubleshooting.md runs inside the agent's pod (`kubectl ... exec ... -- TOOL`). */
function operatorTools(): string[] {
  const doc = read('docs/troubleshooting.md');
  return [...new Set([...doc.matchAll(/kubectl [^\n]*exec [^\n]*?-- (\S+)/g)].map((m) => m[1]))];
}

interface Verdict {
  missing: string[];
  unneeded: string[];
  unknown: string[];
}

function checkPackages(packages: readonly string[], needed: readonly string[], operator: readonly string[]): Verdict {
  const provided = new Set(packages.flatMap((p) => PROVIDES[p] ?? []));
  const missing = [...new Set([...needed, ...operator])].filter((b) => !BASE.has(b) && !provided.has(b)).sort();
  const wanted = new Set([...needed, ...operator]);
  const unknown = packages.filter((p) => PROVIDES[p] === undefined);
  const unneeded = packages.filter((p) => PROVIDES[p] !== undefined && !PROVIDES[p].some((b) => wanted.has(b)));
  return { missing, unneeded, unknown };
}

function neededFor(df: DockerfileFacts): string[] {
  return [...agentBinaries().binaries, ...scriptCommands(df.entrypointScript), ...initContainerNeeds()];
}

test('the scan finds every exec/spawn call site of the agent and what it runs', () => {
  const { binaries, unexplained } = agentBinaries();
  assert.deepEqual(unexplained, [], 'call sites with a computed binary: list what they run in INDIRECT');
  for (const b of ['ip', 'modprobe', 'ipset', 'gobgpd', 'conntrack', 'iptables', 'ip6tables', 'iptables-nft-restore', 'ip6tables-legacy-save']) {
    assert.ok(binaries.has(b), `the agent runs ${b}`);
  }
  for (const [file, names] of Object.entries(INDIRECT)) {
    const text = read(file);
    for (const b of names) {
      if (b.endsWith('-save') || b.endsWith('-restore')) assert.match(text, /binariesFor\(/, `${file} takes ${b} from binariesFor`);
      else assert.ok(text.includes(`'${b}'`), `${file} names '${b}'`);
    }
  }
});

test('the Dockerfile: node:20-bookworm-slim, production dependencies only, the bundled agent and its protos', () => {
  const df = parseDockerfile(read('Dockerfile'));
  assert.equal(df.finalFrom, 'node:20-bookworm-slim');
  assert.match(df.text, /npm ci --omit=dev/);
  assert.match(df.text, /node scripts\/bundle\.mjs/);
  assert.match(df.text, /COPY --from=build \/src\/dist\/kube-router\.mjs \.\/dist\/kube-router\.mjs/);
  assert.match(df.text, /COPY cni \.\/cni/);
  assert.match(df.text, /COPY proto \.\/proto/);
  assert.match(df.entrypointScript, /exec node \/opt\/kube-router-ts\/dist\/kube-router\.mjs "\$@"/);
  for (const ignored of ['node_modules', 'dist', 'test', '.git']) {
    assert.ok(read('.dockerignore').split('\n').includes(ignored), `.dockerignore lists ${ignored}`);
  }
});

test('every binary the agent, the entrypoint and the init container run is installed, and nothing else', () => {
  const df = parseDockerfile(read('Dockerfile'));
  const ops = operatorTools();
  assert.ok(ops.includes('ipvsadm') && ops.includes('gobgp'), `troubleshooting tools found: ${ops.join(' ')}`);
  const v = checkPackages(df.packages, neededFor(df), ops);
  assert.deepEqual(v, { missing: [], unneeded: [], unknown: [] }, `packages: ${df.packages.join(' ')}`);
});

test('a Dockerfile missing a package or installing an unneeded one fails the check', () => {
  const good = read('Dockerfile');
  const withoutIpset = parseDockerfile(good.replace(/ ipset /, ' '));
  assert.deepEqual(checkPackages(withoutIpset.packages, neededFor(withoutIpset), operatorTools()).missing, ['ipset']);
  const withExtra = parseDockerfile(good.replace(/      ipvsadm /, '      ipvsadm curl iputils-ping '));
  assert.deepEqual(checkPackages(withExtra.packages, neededFor(withExtra), operatorTools()).unknown, ['curl', 'iputils-ping']);
  const noOps = checkPackages(parseDockerfile(good).packages, neededFor(parseDockerfile(good)), []);
  assert.deepEqual(noOps.unneeded.sort(), ['ipvsadm'], 'operator-only packages need the doc that uses them');
});

/** The binary on PATH resolves (alternatives, usrmerge symlinks) to a file the package ships. */
function alternativesIn(name: string, files: readonly string[]): boolean {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    try {
      const real = realpathSync(`${dir}/${name}`);
      if (files.includes(real) || files.includes(real.replace(/^\/usr/, ''))) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

test('the package -> binary table matches what Debian installs (dpkg -L on this machine)', (t) => {
  let listing: string;
  for (const [pkg, bins] of Object.entries(PROVIDES)) {
    try {
      listing = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      t.diagnostic(`${pkg} not installed here: not cross-checked`);
      continue;
    }
    const files = listing.split('\n');
    for (const b of bins) {
      const ok = b.includes('/') ? files.includes(b) : files.some((f) => /\/s?bin\/[^/]+$/.test(f) && f.endsWith(`/${b}`));
      // iptables, ip6tables, iptables-save ... are alternatives the package registers, not files it ships.
      assert.ok(ok || alternativesIn(b, files), `dpkg -L ${pkg} holds ${b} (or an alternative for it)`);
    }
  }
});

// The entrypoint picks the iptables backend the host already uses. Its
// detection runs here in throwaway netns holding legacy or nf_tables state.
const netnsSkip = process.getuid?.() !== 0 ? 'needs root (ip netns)' : false;

test('the entrypoint points iptables at the backend holding the host\'s rules', { skip: netnsSkip }, () => {
  const script = parseDockerfile(read('Dockerfile')).entrypointScript
    .split('\n')
    .filter((l) => !l.startsWith('update-alternatives'))
    .map((l) => (l.startsWith('exec node') ? 'echo "$mode"' : l))
    .join('\n');
  assert.match(script, /echo "\$mode"/);
  const cases: [string, string[], string][] = [
    ['empty node', [], 'nft'],
    ['kubelet canary in legacy', ['iptables-legacy -t mangle -N KUBE-KUBELET-CANARY'], 'legacy'],
    ['kubelet hint in nf_tables', ['iptables-nft -t mangle -N KUBE-IPTABLES-HINT', 'iptables-legacy -A INPUT -j ACCEPT', 'iptables-legacy -A INPUT -j ACCEPT'], 'nft'],
    ['no hint, more legacy rules', ['iptables-legacy -A INPUT -j ACCEPT', 'iptables-legacy -A FORWARD -j ACCEPT', 'iptables-nft -A INPUT -j ACCEPT'], 'legacy'],
    ['no hint, more nf_tables rules', ['iptables-nft -A INPUT -j ACCEPT', 'iptables-nft -A FORWARD -j ACCEPT', 'iptables-legacy -A INPUT -j ACCEPT'], 'nft'],
  ];
  for (const [name, setup, want] of cases) {
    const ns = `krt-ep-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'ignore' });
    try {
      for (const cmd of setup) execFileSync('ip', ['netns', 'exec', ns, ...cmd.split(' ')], { stdio: 'ignore' });
      const got = execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      assert.equal(got, want, name);
    } finally {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  }
});
