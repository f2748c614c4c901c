// The shell script run once inside a new node's network namespace and fresh
// mount + UTS namespaces (unshare --propagation unchanged, so /run/netns stays
// a peer of the guest root's and pod namespaces created later show up here).

export function nodeSetupScript(name: string): string {
  const keep = `/tmp/.lab-keep-netns-${name}`;
  return [
    `hostname ${name}`,
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
    'mount -t tmpfs -o mode=0755 tmpfs /etc/cni/net.d',
    'mount -t tmpfs -o mode=0755 tmpfs /var/lib/cni',
    `mkdir -p ${keep}`,
    `mount --rbind /run/netns ${keep}`,
    'mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run',
    'mkdir -p /run/netns /run/lock /run/lab',
    `mount --move ${keep} /run/netns`,
    `rmdir ${keep}`,
    // sysfs shows the network devices of the namespace that mounts it.
    'mount -t sysfs sysfs /sys',
    'mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true',
    `echo ${name} > /run/lab/node-name`,
  ].join('\n');
}
