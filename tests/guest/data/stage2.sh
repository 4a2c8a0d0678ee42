#!/bin/sh
# Set-up of the test guest, run by busybox init (once) in the overlay
# root.  Runs the host's binaries with dash, so `mount -t nfs` reaches the
# real mount.nfs and not busybox's applet.  Failures are collected in
# /run/ceg-setup.failed; the agent reports them in its hello.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^ceg\.$1=//p"; }
mount -t tmpfs -o mode=0755 tmpfs /run
# A checkout under the host's /tmp (a CI clone) must stay visible through
# the guest's own fresh /tmp: carry it across the new mount.
top=$(arg top)
case "$top" in
    /tmp/?*) mkdir -p /run/ceg-top && mount --bind "$top" /run/ceg-top ;;
esac
mount -t tmpfs -o mode=1777 tmpfs /tmp
if mountpoint -q /run/ceg-top 2>/dev/null; then
    mkdir -p "$top" && mount --move /run/ceg-top "$top"
fi
mkdir -p /run/lock /run/lvm /run/rpcbind /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
FAILED=/run/ceg-setup.failed
: > $FAILED
step() {  # step DESCRIPTION CMD...: run it, note a failure
    what=$1; shift
    "$@" >>/run/ceg-setup.log 2>&1 || echo "$what: $* (rc $?)" >> $FAILED
    echo "$(uptime) $*" >> /run/ceg-setup.log
}
uptime() { cut -d' ' -f1 /proc/uptime; }
echo "$(uptime) stage2 start" >> /run/ceg-setup.log
step hostname hostname "$(arg name)"
step loopback ip link set lo up

# crc32c_generic before libcrc32c: dm_thin_pool (via dm-persistent-data)
# and ext4 need a crc32c implementation that TCG's CPU model lacks.
step modules modprobe -a virtio_console virtio_blk crc32c_generic libcrc32c \
    dm_mod dm_thin_pool dm_snapshot loop xfs ext4 nfsd nfs nfsv3 nfsv4

# LVM without udev, daemons or a devices file; only the data disks.
filter=""
for dev in /sys/block/vd*; do
    [ -e "$dev" ] || continue
    case "$(cat $dev/serial 2>/dev/null)" in
        data*) filter="$filter \"a|^/dev/${dev##*/}\$|\"," ;;
    esac
done
mkdir -p /etc/lvm
cat > /etc/lvm/lvm.conf <<EOT
config { checks = 1 }
devices {
    global_filter = [ $filter "r|.*|" ]
    obtain_device_list_from_udev = 0
    use_devicesfile = 0
    external_device_info_source = "none"
}
activation {
    udev_sync = 0
    udev_rules = 0
    verify_udev_operations = 1
    monitoring = 0
}
global {
    use_lvmpolld = 0
    event_activation = 0
    thin_check_executable = "/usr/sbin/thin_check"
}
EOT

# Network only when asked (qemu user networking, restrict=on).
if [ "$(arg net)" = 1 ]; then
    step net modprobe virtio_net
    step net ip link set eth0 up
    step net ip addr add 10.0.2.15/24 dev eth0
    step net ip route add default via 10.0.2.2
fi

# The NFS export: XFS with reflink on the disk with serial "export", made
# on the host (mkfs in TCG takes seconds); made here if it will not mount.
export_dev=""
for dev in /sys/block/vd*; do
    [ "$(cat $dev/serial 2>/dev/null)" = export ] && export_dev=/dev/${dev##*/}
done
if [ -n "$export_dev" ]; then
    mkdir -p /export
    if ! mount -t xfs "$export_dev" /export 2>>/run/ceg-setup.log; then
        step mkfs mkfs.xfs -f -q -K -m reflink=1 "$export_dev"
        step mount mount -t xfs "$export_dev" /export
    fi
    chmod 0777 /export
    # NFSv4's pseudo root would be the overlay root, which nfsd cannot
    # export (ENOENT at mount): give v4 a tmpfs root (fsid=0) holding a bind
    # of /export, so 127.0.0.1:/export names the same directory in v3 and v4.
    mkdir -p /srv/nfs4
    step nfs4root mount -t tmpfs -o size=1m,mode=0755 tmpfs /srv/nfs4
    mkdir -p /srv/nfs4/export
    step nfs4root mount --bind /export /srv/nfs4/export
    opts="rw,sync,no_root_squash,no_subtree_check,insecure"
    cat > /etc/exports <<EOT
/srv/nfs4 127.0.0.1(ro,fsid=0,no_subtree_check,insecure)
/srv/nfs4/export 127.0.0.1($opts,fsid=1)
/export 127.0.0.1($opts,fsid=2)
EOT
    # Short grace periods, set before nfsd starts, or a first lock waits 90 s.
    step nfsd mount -t nfsd nfsd /proc/fs/nfsd
    echo 10 > /proc/sys/fs/nfs/nlm_grace_period
    echo 10 > /proc/fs/nfsd/nfsv4gracetime
    echo 10 > /proc/fs/nfsd/nfsv4leasetime
    step rpcbind rpcbind
    step statd rpc.statd --no-notify
    step nfsd rpc.nfsd 4
    step mountd rpc.mountd
    step exportfs exportfs -ra
    echo Y > /proc/fs/nfsd/v4_end_grace 2>/dev/null
fi
echo "$(uptime) stage2 done" >> /run/ceg-setup.log
: > /run/ceg-setup.done
