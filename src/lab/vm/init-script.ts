// The guest's init, in two stages. Stage 1 (/init, busybox, in the initramfs)
// loads the virtio/9p/overlay modules, mounts the host root read-only over 9p
// under a tmpfs overlay and switch_roots into it. Stage 2 (/lab-stage2.sh, run
// by the host's /bin/sh inside the new root) mounts what iptables, ipset and
// network namespaces need, brings up lo and the user-net NIC, loads the data
// plane modules, starts the guest supervisor and powers off when it ends.
//
// Parameters come on the kernel command line:
//   lab.run=<dir>   the run directory shared read-write (9p tag "labrun"),
//                   mounted at the same absolute path in the guest
//   lab.node=<path> the node binary      lab.sup=<path> supervisor.js
//   lab.cache=<m>   9p cache mode of the host root (loose|mmap|none)

/** Modules stage 1 loads with insmod, in this order (from the host's /lib/modules). */
export const INITRAMFS_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'netfs',
  'fscache',
  '9pnet',
  '9pnet_virtio',
  '9p',
  'overlay',
] as const;

/** Modules stage 2 loads with modprobe once the full root is there. */
export const DATAPLANE_MODULES = [
  'ip_vs',
  'ip_vs_rr',
  'ip_vs_wrr',
  'ip_vs_lc',
  'ip_vs_sh',
  'ip_vs_dh',
  'ip_vs_mh',
  'dummy',
  'ipip',
  'br_netfilter',
  'nf_conntrack',
  'veth',
  'bridge',
] as const;

/** Control port of the guest supervisor inside the guest. */
export const GUEST_CONTROL_PORT = 7070;
export const GUEST_API_PORT = 6443;
export const GUEST_IP = '10.0.2.15';

export const STAGE1 = `#!/bin/busybox sh
fail() { echo "lab-init: FAILED: $*"; echo o > /proc/sysrq-trigger; sleep 30; exit 1; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
CACHE=loose
for arg in $(cat /proc/cmdline); do
  case "$arg" in lab.cache=*) CACHE="\${arg#lab.cache=}" ;; esac
done
for m in $(cat /modules.list); do
  insmod /lib/modules/$m.ko || fail "insmod $m"
done
OPTS=trans=virtio,version=9p2000.L,msize=262144,ro
[ "$CACHE" != none ] && OPTS="$OPTS,cache=$CACHE"
mount -t 9p -o "$OPTS" hostroot /lower || fail "mount 9p hostroot ($OPTS)"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "mount tmpfs /rw"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "mount overlay"
cp /stage2.sh /newroot/lab-stage2.sh || fail "copy stage 2"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/sh /lab-stage2.sh
fail "switch_root"
`;

export function stage2(modules: readonly string[] = DATAPLANE_MODULES): string {
  return `#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
fail() { echo "lab-init: FAILED: $*"; sync; echo o > /proc/sysrq-trigger; sleep 30; exit 1; }
RUN= NODE=/usr/bin/node SUP=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    lab.run=*) RUN="\${arg#lab.run=}" ;;
    lab.node=*) NODE="\${arg#lab.node=}" ;;
    lab.sup=*) SUP="\${arg#lab.sup=}" ;;
  esac
done
[ -n "$RUN" ] && [ -n "$SUP" ] || fail "lab.run= and lab.sup= missing from the kernel command line"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run || fail "mount /run"
mkdir -p /run/lock
# /tmp stays the overlay's (its writes land in the tmpfs upper layer, never on
# the host): a tmpfs over it would hide a checkout or lab directory under the
# host's /tmp, such as a CI clone in /tmp.
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 labrun "$RUN" || fail "mount run share at $RUN"
hostname lab
ip link set lo up || fail "lo up"
modprobe virtio_net || fail "modprobe virtio_net"
ip link set eth0 up && ip addr add ${GUEST_IP}/24 dev eth0 && ip route add default via 10.0.2.2 || fail "user-net NIC eth0"
modprobe -a ${modules.join(' ')} || fail "modprobe ${modules.join(' ')}"
echo "lab-init: root ready at $(cut -d' ' -f1 /proc/uptime) s, starting the supervisor"
"$NODE" "$SUP" --config "$RUN/config.json" --kernel-uptime "$(cut -d' ' -f1 /proc/uptime)" >>"$RUN/logs/supervisor.log" 2>&1
echo "lab-init: supervisor exited with status $?"
sync
echo o > /proc/sysrq-trigger
sleep 30
`;
}
