# pef lab holder: PID 1 of one lab host (run by `unshare --mount --uts --ipc --pid --fork --mount-proc`).
# Args: pef-lab-holder HOST_DIR FQDN (the marker lets `pef lab down` find holders by command line). Mounts the host's private filesystem, prints "ready", then only reaps
# orphans until it gets TERM. When it exits the kernel kills every process left in the host.
set -eu
dir=$2
fqdn=$3
hostname "$fqdn"
# Copy-on-write views of the machine's directories: the host's writes land in $dir/upper only.
for d in /etc /var /usr/local /opt /srv; do
  n=$(printf %s "${d#/}" | tr / -)
  mount -t overlay "pef-lab-$n" -o "lowerdir=$d,upperdir=$dir/upper/$n,workdir=$dir/work/$n" "$d"
done
# State every host of the lab shares (<state dir>/shared), e.g. the PE stand-ins' infrastructure.
mkdir -p /var/lib/pef-lab-shared
mount --bind "$dir/../../shared" /var/lib/pef-lab-shared
# Fresh private /run, /root and /tmp (mounted last: the state dir may live under /tmp or /root).
mount -t tmpfs -o mode=1777,size=256m pef-lab-shm /dev/shm
mount -t tmpfs -o mode=755,size=64m pef-lab-run /run
install -d -m 1777 /run/lock
mount -t tmpfs -o mode=700,size=64m pef-lab-root /root
mount -t tmpfs -o mode=1777,size=512m pef-lab-tmp /tmp
echo ready
trap 'exit 0' TERM INT
# bash reaps every orphan reparented to it (daemonised postgres, sshd, JVMs) while it waits.
while :; do
  sleep 86400 &
  wait $! || true
done
