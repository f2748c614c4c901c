// sysctl through /proc/sys: read, and write only when the value differs
// (a write is a kernel mutation to count and log; most of kube-router's
// sysctls are already right on a restarted node). Keys use dots or slashes:
// `net.ipv4.vs.conntrack` == `net/ipv4/vs/conntrack`. Interface names with
// dots (`eth0.100`) must be given in slash form.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeRouterError } from '../errors.js';

export interface Sysctl {
  /** The value, trimmed (whitespace runs collapsed to one space, e.g. `ip_local_port_range`). */
  get(key: string): Promise<string>;
  /** Writes `value` unless it is already set; returns true when it wrote. */
  ensure(key: string, value: string | number): Promise<boolean>;
}

export function sysctlPath(key: string): string {
  return key.includes('/') ? key.replace(/^\/+/, '') : key.replace(/\./g, '/');
}

const norm = (v: string | number): string => String(v).trim().split(/\s+/).join(' ');

function sysctlError(op: 'read' | 'write', key: string, err: unknown, value?: string): KubeRouterError {
  const e = err as NodeJS.ErrnoException;
  return new KubeRouterError(
    'KR_ERR_KERNEL',
    `sysctl ${op} ${key}${value !== undefined ? `=${value}` : ''}: ${e.code ?? ''} ${e.message ?? String(err)}`.trim(),
    { call: `sysctl ${op}`, field: key, value, errno: typeof e.errno === 'number' ? -Math.abs(e.errno) : undefined },
    { cause: err },
  );
}

export class ProcSysctl implements Sysctl {
  /** `root` is /proc/sys; tests point it at a temporary directory. */
  constructor(private readonly root = '/proc/sys') {}

  async get(key: string): Promise<string> {
    try {
      return norm(await readFile(join(this.root, sysctlPath(key)), 'utf8'));
    } catch (err) {
      throw sysctlError('read', key, err);
    }
  }

  async ensure(key: string, value: string | number): Promise<boolean> {
    const want = norm(value);
    if ((await this.get(key)) === want) return false;
    try {
      await writeFile(join(this.root, sysctlPath(key)), want + '\n');
    } catch (err) {
      throw sysctlError('write', key, err, want);
    }
    return true;
  }
}

/** In-memory sysctl for tests: missing keys fail like a missing /proc file. */
export class FakeSysctl implements Sysctl {
  readonly values = new Map<string, string>();
  readonly writes: [string, string][] = [];

  constructor(initial: Record<string, string | number> = {}) {
    for (const [k, v] of Object.entries(initial)) this.values.set(sysctlPath(k), norm(v));
  }

  async get(key: string): Promise<string> {
    const v = this.values.get(sysctlPath(key));
    if (v === undefined) throw sysctlError('read', key, Object.assign(new Error('no such file or directory'), { code: 'ENOENT', errno: 2 }));
    return v;
  }

  async ensure(key: string, value: string | number): Promise<boolean> {
    const want = norm(value);
    if ((await this.get(key)) === want) return false;
    this.values.set(sysctlPath(key), want);
    this.writes.push([key, want]);
    return true;
  }
}
