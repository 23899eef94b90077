#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one of Debian's kernels under qemu and run a script from this
# repository inside it, as root, with the host root shared read-only over
# 9p (so the guest runs the freshly built module, memwatchctl and selftests
# from their host paths), then power off.
#
#   run-vm.sh [options] KVER SCRIPT     run SCRIPT (a path in the repository)
#   run-vm.sh -i [options] KVER         interactive shell in the guest
#
# Options:
#   -c FILE     console (ttyS0) to FILE instead of stdout
#   -r FILE     keep the result channel (ttyS1: the script's stdout and the
#               final "MEMWATCH-EXIT <status>" line) in FILE
#   -t SECONDS  kill the guest after SECONDS (default $MEMWATCH_TIMEOUT or
#               300; 0 means never); a killed guest exits 124
#   -l LEVEL    guest console loglevel once booted (default: quiet)
#   -e VAR=VAL  pass one more variable to the guest script (repeatable);
#               MEMWATCH_KO=FILE or MEMWATCH_CTL=FILE replaces the default
#               module or memwatchctl named below
#
# The guest script runs with the repository (read-only, same absolute path
# as on the host) as its working directory and these variables:
#   MEMWATCH_KVER    the kernel release (uname -r in the guest)
#   MEMWATCH_KO      build/KVER/module/memwatch.ko (absolute path)
#   MEMWATCH_CTL     ctl/memwatchctl (absolute path)
#   MEMWATCH_REPO    the repository
#   MEMWATCH_MODE    "run" or "shell"
# /tmp, /run and /dev/shm are tmpfs; /proc, /sys, /dev, /sys/kernel/debug and
# /sys/kernel/tracing are mounted.
#
# Environment: MEMWATCH_CACHE (the setup.sh cache), MEMWATCH_ACCEL=kvm|tcg
# (default: kvm only if /dev/kvm opens and the cpu has vmx or svm),
# MEMWATCH_TCG_THREAD=single|multi (tcg only, default single; see below),
# MEMWATCH_MEM (MiB, default 2048), MEMWATCH_SMP (default 2),
# MEMWATCH_QEMU_ARGS (more qemu options, split on blanks; `make bench` uses
# it for -icount), MEMWATCH_QEMU_ROOT (a Debian root whose qemu to run
# instead of the host's; see below), MEMWATCH_BOOT_TRIES (boots to try when
# the kernel fails before the guest script begins, default 3; see below).
#
# Exit status: the guest script's, 124 if the guest was killed by the
# timeout, 125 if the guest ended without reporting one (setup failure,
# panic), 4 if the kernel image is not in the cache (run scripts/setup.sh).

set -e

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
qemu_dir="$repo/selftests/qemu"
cache=${MEMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch}

console=
results=
timeout_s=${MEMWATCH_TIMEOUT:-300}
loglevel=
mode=run
extra_env=()

usage() {
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0" >&2
	exit "${1:-2}"
}

while getopts "c:r:t:l:e:ih" opt; do
	case $opt in
	c) console=$OPTARG ;;
	r) results=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	l) loglevel=$OPTARG ;;
	e) extra_env+=("$OPTARG") ;;
	i) mode=shell ;;
	h) usage 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

kver=$1
script=$2
[ -n "$kver" ] || usage
if [ "$mode" = run ]; then
	[ -n "$script" ] || usage
	script=$(realpath "$script")
	[ -x "$script" ] || { echo "run-vm: $script is not an executable file" >&2; exit 2; }
	case "$script" in
	"$repo"/*) ;;
	*) echo "run-vm: $script is not in $repo" >&2; exit 2 ;;
	esac
fi

case "$repo" in
*[!A-Za-z0-9_./+-]*)
	echo "run-vm: the repository path '$repo' has characters the guest set-up does not quote" >&2
	exit 2 ;;
esac

# The unpacked image: boot/vmlinuz-KVER and lib/modules/KVER up to Debian
# 12, usr/lib/modules/KVER/{vmlinuz,kernel} from Debian 13's packages on.
kimg=${MEMWATCH_KIMG:-$cache/kernel-$kver}
vmlinuz=
moddir=
for f in "$kimg/boot/vmlinuz-$kver" "$kimg/usr/lib/modules/$kver/vmlinuz"; do
	[ -r "$f" ] && vmlinuz=$f
done
for d in "$kimg/lib/modules/$kver" "$kimg/usr/lib/modules/$kver"; do
	[ -d "$d/kernel" ] && moddir=$d
done
if [ -z "$vmlinuz" ] || [ -z "$moddir" ]; then
	echo "run-vm: no kernel $kver in $cache: run scripts/setup.sh (or make setup)" >&2
	exit 4
fi

tmp=
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
	true
}
trap cleanup EXIT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/memwatch-vm.XXXXXX")

run() {
	echo "+ $*" >&2
	"$@"
}

# --- initramfs: busybox, /init and the 9p modules, cached per kernel ---------

# Modules for the 9p root, with their dependencies, in load order: from
# modinfo (the packages ship no modules.dep; depmod runs at install). The
# set differs per kernel (9p needs netfs from 6.x on, virtio_pci is built in
# on some). A name missing from the image is built in. Modules may be
# compressed (xz, zstd); busybox insmod gets them plain.
declare -A modpath seen
while read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	modpath[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')

order=()
add_module() {
	local n=${1//-/_} d
	[ -n "${seen[$n]}" ] && return
	seen[$n]=1
	[ -n "${modpath[$n]}" ] || return 0
	for d in $(modinfo -F depends "${modpath[$n]}" | tr , ' '); do
		add_module "$d"
	done
	order+=("$n")
}
for m in virtio_pci 9pnet_virtio 9p; do
	add_module "$m"
done

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "run-vm: busybox not found: run scripts/setup.sh" >&2; exit 4; }
key=$( {
	echo "$kver ${order[*]}"
	for n in "${order[@]}"; do echo "${modpath[$n]}"; done
	sha256sum "$qemu_dir/init" "$busybox" "$0"
} | sha256sum | cut -c1-16)
base="$cache/initramfs/$kver-$key.cpio.gz"

# Guests of one kernel may start together (check.sh runs two at once): one
# builds the initramfs, the others wait for it.
mkdir -p "$cache/initramfs"
exec 9>"$cache/initramfs/.lock"
flock 9
if [ ! -e "$base" ]; then
	echo "run-vm: building the initramfs for $kver (modules: ${order[*]})" >&2
	root="$tmp/root"
	mkdir -p "$root"/{bin,dev,proc,sys,mnt,lib/modules}
	cp "$busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp "$qemu_dir/init" "$root/init"
	chmod 755 "$root/init"
	for n in "${order[@]}"; do
		# busybox insmod reads plain .ko files only.
		case "${modpath[$n]}" in
		*.xz) xz -dc "${modpath[$n]}" ;;
		*.zst) zstd -qdc "${modpath[$n]}" ;;
		*.gz) gzip -dc "${modpath[$n]}" ;;
		*) cat "${modpath[$n]}" ;;
		esac >"$root/lib/modules/$n.ko"
		echo "$n" >>"$root/modules.order"
	done
	touch "$root/modules.order"
	[ "$(id -u)" = 0 ] && mknod "$root/dev/console" c 5 1
	rm -f "$cache/initramfs/$kver"-*.cpio.gz
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$base.tmp"
	mv "$base.tmp" "$base"
fi

# --- per-run part: /run.env, appended as a second cpio archive ---------------

quote() {
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

mkdir -p "$tmp/extra"
{
	echo "MEMWATCH_REPO=$(quote "$repo")"
	echo "MEMWATCH_KVER=$(quote "$kver")"
	echo "MEMWATCH_KO=$(quote "$repo/build/$kver/module/memwatch.ko")"
	echo "MEMWATCH_CTL=$(quote "$repo/ctl/memwatchctl")"
	echo "MEMWATCH_MODE=$mode"
	[ "$mode" = shell ] && echo "TERM=$(quote "${TERM:-linux}")"
	echo "MEMWATCH_SCRIPT=$(quote "$script")"
	[ -n "$loglevel" ] && echo "MEMWATCH_LOGLEVEL=$(quote "$loglevel")"
	for e in "${extra_env[@]}"; do
		v=${e%%=*}
		case "$v" in
		"" | *[!A-Za-z0-9_]* | [0-9]*)
			echo "run-vm: bad -e $e" >&2
			exit 2 ;;
		esac
		echo "$v=$(quote "${e#*=}")"
	done
} >"$tmp/extra/run.env"
(cd "$tmp/extra" && echo run.env | cpio -o -H newc --quiet | gzip -1) >"$tmp/extra.cpio.gz"
cat "$base" "$tmp/extra.cpio.gz" >"$tmp/initrd"
exec 9>&-

# --- qemu ---------------------------------------------------------------------

accel=${MEMWATCH_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	if (: <>/dev/kvm) 2>/dev/null && grep -qwE 'vmx|svm' /proc/cpuinfo; then
		accel=kvm
	fi
fi
case "$accel" in
kvm) accel_opts=(-accel kvm -cpu host) ;;
tcg)
	# One host thread runs all vCPUs in turn. With a thread per vCPU, qemu
	# 7.2 has let a vCPU run code another vCPU had just patched as it was
	# mid-patch: oopses one byte into an ftrace site ("int3"), and a boot
	# that died in the middle of a jump label, with no module loaded. The
	# guests take no longer this way on a 2-core host. Both vCPUs still
	# interleave, preempt and race. MEMWATCH_TCG_THREAD=multi restores the
	# thread per vCPU.
	accel_opts=(-accel "tcg,thread=${MEMWATCH_TCG_THREAD:-single}" -cpu max) ;;
*) echo "run-vm: MEMWATCH_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

# oops=panic, softlockup_panic, hung_task_panic and panic_on_rcu_stall:
# after an oops, a soft lockup, a task blocked for two minutes or an RCU
# stall the guest will not finish its script; ending the run at once
# (panic=-1 and -no-reboot stop qemu) beats waiting for the timeout, and
# the console log has the report (check.sh names it). No panic_on_warn: a
# WARN would end the run before the selftests and the dmesg check could
# report which test caused it; guest-check.sh fails the run on any
# WARNING/BUG/Oops in dmesg and on unexpected taint instead.
append="console=ttyS0 quiet panic=-1 oops=panic softlockup_panic=1"
append+=" hung_task_panic=1 sysctl.kernel.panic_on_rcu_stall=1"
append+=" printk.devkmsg=on"

result_file=${results:-$tmp/results}
: >"$result_file"
if [ "$mode" = shell ]; then
	con=(-serial mon:stdio)
	timeout_s=0
elif [ -n "$console" ]; then
	: >"$console"
	con=(-serial "file:$console")
else
	con=(-serial stdio)
fi

# The qemu: the host's, or that of the root MEMWATCH_QEMU_ROOT names (setup.sh
# --bench makes one from Debian 13), run through that root's own dynamic
# loader and libraries, with its firmware and modules.
qemu_root=${MEMWATCH_QEMU_ROOT:-}
if [ -n "$qemu_root" ]; then
	[ -x "$qemu_root/usr/bin/qemu-system-x86_64" ] || {
		echo "run-vm: no qemu in MEMWATCH_QEMU_ROOT=$qemu_root: run scripts/setup.sh --bench" >&2
		exit 4
	}
	export QEMU_MODULE_DIR=$qemu_root/usr/lib/x86_64-linux-gnu/qemu
	qemu=("$qemu_root/lib64/ld-linux-x86-64.so.2"
		--library-path "$qemu_root/usr/lib/x86_64-linux-gnu:$qemu_root/lib/x86_64-linux-gnu"
		"$qemu_root/usr/bin/qemu-system-x86_64"
		-L "$qemu_root/usr/share/qemu" -L "$qemu_root/usr/share/seabios")
else
	qemu=(qemu-system-x86_64)
fi

# Under -icount one host thread runs the vCPUs in turn, and before qemu 8.1
# it gave the first vCPU all the instructions left until the next timer
# event: a vCPU that waits for another without a pause instruction (Debian
# 6.1's CPU bring-up, whose boot CPU calls schedule() until the other has
# checked in) uses them all, round after round, and the other never runs.
# The guest hangs, or reports a soft lockup. qemu 8.1 splits them among the
# vCPUs. Refuse what would hang.
if [[ " ${MEMWATCH_QEMU_ARGS:-} " == *" -icount "* ]] && [ "${MEMWATCH_SMP:-2}" != 1 ]; then
	qver=$("${qemu[@]}" --version | sed -n '1s/^QEMU emulator version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	read -r qmaj qmin <<<"$qver"
	if [ -z "$qmaj" ] || [ "$qmaj" -lt 8 ] || { [ "$qmaj" = 8 ] && [ "$qmin" = 0 ]; }; then
		echo "run-vm: qemu ${qmaj:-?}.${qmin:-?} starves all but one vCPU under -icount (fixed in 8.1): set MEMWATCH_SMP=1, or MEMWATCH_QEMU_ROOT to a root with a newer qemu (scripts/setup.sh --bench makes one)" >&2
		exit 2
	fi
fi

cmd=("${qemu[@]}" -nodefaults -no-user-config -nographic -no-reboot
	"${accel_opts[@]}" -m "${MEMWATCH_MEM:-2048}" -smp "${MEMWATCH_SMP:-2}"
	-bios qboot.rom -kernel "$vmlinuz" -initrd "$tmp/initrd" -append "$append"
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	"${con[@]}" -serial "file:$result_file")
# shellcheck disable=SC2206 # word splitting is the documented interface
cmd+=(${MEMWATCH_QEMU_ARGS:-})

# A guest that fails before its /init reports "MEMWATCH-BOOTED" failed in
# the kernel's own boot, before any memwatch code was loaded: under TCG,
# Debian's 6.12 has been seen to oops in timer code (enqueue_timer) within
# its first two seconds, rarely, with no module of ours anywhere. Such a
# boot is tried again, up to $MEMWATCH_BOOT_TRIES times in all, and each one
# is reported on stderr with its first kernel error; the console log of the
# failed boot is kept as CONSOLE.bootN. A failure after the marker is never
# tried again.
boot_tries=${MEMWATCH_BOOT_TRIES:-3}
case "$boot_tries" in
'' | *[!0-9]* | 0) echo "run-vm: MEMWATCH_BOOT_TRIES must be a positive number" >&2; exit 2 ;;
esac
[ "$mode" = shell ] && boot_tries=1

attempt=1
while :; do
	echo "run-vm: booting $kver ($accel), running ${script:-a shell}" >&2
	start=$(date +%s)
	: >"$result_file"
	[ -n "$console" ] && : >"$console"
	set +e
	if [ "$mode" = shell ]; then
		run "${cmd[@]}"
	else
		echo "+ timeout $timeout_s ${cmd[*]}" >&2
		timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null &
		qemu_pid=$!
		wait "$qemu_pid"
		rc=$?
		qemu_pid=
	fi
	set -e
	elapsed=$(($(date +%s) - start))

	if [ "$mode" = shell ] || grep -qE '^MEMWATCH-(BOOTED|EXIT)' "$result_file" ||
		[ "$attempt" -ge "$boot_tries" ]; then
		break
	fi
	first=
	if [ -n "$console" ]; then
		first=$(tr -d '\r' <"$console" |
			grep -m 1 -E 'BUG:|WARNING:|Oops|general protection|Kernel panic|RIP:' || true)
		cp "$console" "$console.boot$attempt"
	fi
	echo "run-vm: $kver: the kernel failed to boot after ${elapsed}s, before the guest script began and before memwatch was loaded (${first:-no kernel error in the console}); booting again (attempt $((attempt + 1)) of $boot_tries)" >&2
	attempt=$((attempt + 1))
done

status=$(tr -d '\r' <"$result_file" | sed -n 's/^MEMWATCH-EXIT \([0-9]*\)$/\1/p' | tail -n 1)
if [ "$mode" = run ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
	echo "run-vm: $kver: guest killed after ${timeout_s}s (hung?)" >&2
	exit 124
elif [ -z "$status" ]; then
	echo "run-vm: $kver: guest ended after ${elapsed}s without an exit status (panic or set-up failure; see the console log)" >&2
	exit 125
fi
echo "run-vm: $kver: guest script exited $status after ${elapsed}s" >&2
exit "$status"
