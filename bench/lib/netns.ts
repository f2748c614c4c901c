// Runs a bench inside throwaway network namespaces of the lab guest, so the
// IPVS table, kube-dummy-if, ipsets and iptables it writes start empty and
// vanish afterwards (nothing of the lab's own nodes is touched).
//
// The outer process (started by `kube-router-lab exec`) loads the modules,
// then re-runs the same script with `--in-netns NAME` for each namespace it
// is asked for; `freshNetns` gives the inner process more namespaces (the
// S1 baseline restores the same state into a second, empty one).

import { spawnSync } from 'node:child_process';

/** This node's address in every bench namespace (the Node object says the same). */
export const BENCH_NODE_IP = '192.168.1.10';
export const BENCH_NODE_CIDR = `${BENCH_NODE_IP}/24`;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${(r.stderr ?? '').trim()}`);
}

/**
 * Creates an empty namespace with lo up and `eth0` holding the node IP: a
 * dummy link, or one end of a veth pair where the kernel has no `dummy` (the
 * development host; enough for the firewall benches, which need no IPVS).
 */
export function freshNetns(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  if (spawnSync('ip', ['-n', name, 'link', 'add', 'eth0', 'type', 'dummy']).status !== 0) {
    sh('ip', ['-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
  }
  sh('ip', ['-n', name, 'addr', 'add', BENCH_NODE_CIDR, 'dev', 'eth0']);
  sh('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
}

export function deleteNetns(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
}

/** `--in-netns NAME` from argv, or undefined in the outer process. */
export function innerNetns(argv: readonly string[] = process.argv): string | undefined {
  const i = argv.indexOf('--in-netns');
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * The outer process: loads ip_vs and friends, runs `script` again inside a
 * fresh namespace with `args`, deletes the namespace, returns the exit code.
 */
export function runInFreshNetns(script: string, args: readonly string[], extraNodeArgs: readonly string[] = [], stdio: 'inherit' | 'ignore' = 'inherit'): number {
  for (const m of ['ip_vs', 'ip_vs_rr', 'dummy', 'ip_set', 'xt_set', 'xt_ipvs']) spawnSync('modprobe', [m]);
  const ns = `kr-bench-${process.pid}`;
  freshNetns(ns);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...extraNodeArgs, script, '--in-netns', ns, ...args], { stdio });
    return r.status ?? 1;
  } finally {
    deleteNetns(ns);
  }
}

/** As runInFreshNetns, the inner process's output captured (and echoed): for an outer process that sums up several runs. */
export function runInFreshNetnsCaptured(script: string, args: readonly string[]): { status: number; stdout: string } {
  for (const m of ['ip_vs', 'ip_vs_rr', 'dummy', 'ip_set', 'xt_set', 'xt_ipvs']) spawnSync('modprobe', [m]);
  const ns = `kr-bench-${process.pid}`;
  freshNetns(ns);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, script, '--in-netns', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    process.stdout.write(r.stdout ?? '');
    return { status: r.status ?? 1, stdout: r.stdout ?? '' };
  } finally {
    deleteNetns(ns);
  }
}

/** Runs `cmd` inside namespace `ns` (the baseline tools), stdin from `input`; throws on failure. */
export function inNetns(ns: string, cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns}: exit ${r.status}: ${(r.stderr ?? '').trim().slice(0, 500)}`);
  return r.stdout;
}

/** Key facts about the machine, printed with every result. */
export function environment(): string {
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  const cpu = /model name\s*:\s*(.*)/.exec(spawnSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
  const ipvsadm = (spawnSync('ipvsadm', ['--version'], { encoding: 'utf8' }).stdout ?? '').trim();
  const ipset = (spawnSync('ipset', ['version'], { encoding: 'utf8' }).stdout ?? '').trim().split('\n')[0];
  const nproc = spawnSync('nproc', [], { encoding: 'utf8' }).stdout.trim();
  return `kernel ${kernel}; ${nproc} cpu ${cpu}; node ${process.version}; ${ipvsadm}; ${ipset}`;
}
