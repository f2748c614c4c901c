// The shell script run once inside a new node's network namespace and fresh
// mount + UTS namespaces (unshare --propagation unchanged, so /run/netns stays
// a peer of the guest root's and pod namespaces created later show up here).
// Static busybox applets: an exec of a dynamically linked tool costs far more
// under software emulation.

export const BUSYBOX = '/bin/busybox';

export function nodeSetupScript(name: string): string {
  const keep = `/tmp/.lab-keep-netns-${name}`;
  const bb = BUSYBOX;
  return [
    `${bb} hostname ${name}`,
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
    `${bb} mount -t tmpfs -o mode=0755 tmpfs /etc/cni/net.d`,
    `${bb} mount -t tmpfs -o mode=0755 tmpfs /var/lib/cni`,
    `${bb} mkdir -p ${keep}`,
    `${bb} mount -o rbind /run/netns ${keep}`,
    `${bb} mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run`,
    `${bb} mkdir -p /run/netns /run/lock /run/lab`,
    `${bb} mount -o move ${keep} /run/netns`,
    `${bb} rmdir ${keep}`,
    // sysfs shows the network devices of the namespace that mounts it.
    `${bb} mount -t sysfs sysfs /sys`,
    `${bb} mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true`,
    `echo ${name} > /run/lab/node-name`,
  ].join('\n');
}

/** argv that creates the node's pinned mount and UTS namespaces inside its netns and runs the setup. */
export function nodeSetupArgv(name: string, netnsPath: string, mntPin: string, utsPin: string): string[] {
  // util-linux unshare: busybox's cannot leave propagation unchanged.
  return ['nsenter', `--net=${netnsPath}`, 'unshare', `--mount=${mntPin}`, `--uts=${utsPin}`, '--propagation', 'unchanged', BUSYBOX, 'sh', '-ec', nodeSetupScript(name)];
}
