// The qemu command line and launch: software emulation (TCG), the host root
// read-only over virtio-9p, the run directory's `shared` read-write over a
// second 9p share, user-mode networking restricted to two host port forwards
// (API server and control API) on 127.0.0.1, console to a file.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { GUEST_API_PORT, GUEST_CONTROL_PORT } from './init-script.js';
import type { KernelInfo } from './kernel.js';
import { LabError } from './proc.js';

export interface QemuOptions {
  kernel: KernelInfo;
  initramfs: string;
  /** Shared read-write directory (mounted at the same path in the guest). */
  shared: string;
  console: string;
  qemuLog: string;
  hostApiPort: number;
  hostControlPort: number;
  memoryMiB: number;
  cpus: number;
  supervisor: string;
  nodeBinary: string;
  /** 9p cache mode of the host root. */
  cache9p: 'loose' | 'mmap' | 'none';
}

export const QEMU = 'qemu-system-x86_64';

export function qemuArgs(o: QemuOptions): string[] {
  for (const p of [o.shared, o.supervisor, o.nodeBinary]) {
    if (/[\s,]/.test(p)) throw new LabError('qemu', `path ${p} contains a space or comma; the kernel command line and -fsdev cannot carry it`);
  }
  const append = [
    'console=ttyS0',
    'panic=-1',
    ...(process.env.KUBE_ROUTER_LAB_VERBOSE ? ['printk.time=1'] : ['quiet', 'loglevel=4']),
    'edd=off',
    'mitigations=off',
    'tsc=reliable',
    `lab.run=${o.shared}`,
    `lab.node=${o.nodeBinary}`,
    `lab.sup=${o.supervisor}`,
    `lab.cache=${o.cache9p}`,
  ].join(' ');
  return [
    '-accel', 'tcg',
    '-machine', process.env.KUBE_ROUTER_LAB_MACHINE ?? 'q35',
    ...(process.env.KUBE_ROUTER_LAB_BIOS ? ['-bios', process.env.KUBE_ROUTER_LAB_BIOS] : []),
    '-cpu', process.env.KUBE_ROUTER_LAB_CPU ?? 'max',
    '-m', String(o.memoryMiB),
    '-smp', String(o.cpus),
    '-nodefaults',
    '-display', 'none',
    '-vga', 'none',
    '-no-user-config',
    '-no-reboot',
    '-serial', `file:${o.console}`,
    '-kernel', o.kernel.vmlinuz,
    '-initrd', o.initramfs,
    '-append', append,
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=labrun,path=${o.shared},security_model=none,multidevs=remap`,
    '-device', 'virtio-9p-pci,fsdev=labrun,mount_tag=labrun',
    '-nic',
    `user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:${o.hostApiPort}-:${GUEST_API_PORT},hostfwd=tcp:127.0.0.1:${o.hostControlPort}-:${GUEST_CONTROL_PORT}`,
  ];
}

/** Starts qemu detached (it outlives this process); returns its pid. */
export function launchQemu(o: QemuOptions): number {
  const fd = openSync(o.qemuLog, 'a');
  const child = spawn(QEMU, qemuArgs(o), { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new LabError('qemu', `cannot start ${QEMU}`);
  child.on('error', () => undefined);
  child.unref();
  return child.pid;
}

/** Whether pid is a qemu of this run directory (not a recycled pid). */
export function isOurQemu(pid: number, shared: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(QEMU) && cmdline.includes(shared);
  } catch {
    return false;
  }
}
