// The shell script run once inside a new node's network namespace and fresh
// mount + UTS namespaces (unshare --propagation unchanged, so /run/netns stays
// a peer of the guest root's and pod namespaces created later show up here).
// Static busybox applets: an exec of a dynamically linked tool costs far more
// under software emulation.

export const BUSYBOX = '/bin/busybox';

export function nodeSetupScript(name: string): string {
  const keep = `/tmp/.lab-keep-netns-${name}`;
  const keepCri = `/tmp/.lab-keep-cri-${name}`;
  const bb = BUSYBOX;
  return [
    `${bb} hostname ${name}`,
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
    'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding',
    `${bb} mount -t tmpfs -o mode=0755 tmpfs /etc/cni/net.d`,
    `${bb} mount -t tmpfs -o mode=0755 tmpfs /var/lib/cni`,
    `${bb} mkdir -p ${keep}`,
    `${bb} mount -o rbind /run/netns ${keep}`,
    // The lab kubelet's CRI socket for this node (cri-server.ts), seen where containerd's is.
    `${bb} mkdir -p /run/lab-cri/${name} ${keepCri}`,
    `${bb} mount -o bind /run/lab-cri/${name} ${keepCri}`,
    `${bb} mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run`,
    `${bb} mkdir -p /run/netns /run/lock /run/lab /run/containerd`,
    `${bb} mount -o move ${keep} /run/netns`,
    `${bb} mount -o move ${keepCri} /run/containerd`,
    `${bb} rmdir ${keep} ${keepCri}`,
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
