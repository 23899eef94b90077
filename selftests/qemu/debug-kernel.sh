#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel of `make check-debug` from Debian's linux-source-6.12:
# tinyconfig plus selftests/config (what the tests need) plus
# selftests/config.debug (KASAN, lockdep, debug objects, kmemleak, and 9p and
# virtio built in), and lay it out like an unpacked linux-image package so
# that run-vm.sh boots it (MEMWATCH_KIMG).
#
#   debug-kernel.sh [build]   build it unless the cached one matches the
#                             fragments (takes an hour or more on 2 cores)
#   debug-kernel.sh check     exit 0 if a cached kernel matching the
#                             fragments exists, 1 if not
#
# Cache: $MEMWATCH_CACHE/debug-kernel/{src,out,img,env}; env is a make/shell
# fragment: KVER_DEBUG (its release), KIMG_DEBUG (the image dir for
# MEMWATCH_KIMG), KDIR_DEBUG (the build tree to build the module against).
# Environment: MEMWATCH_JOBS (make -j, default the number of cpus).

set -e

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
cache=${MEMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch}
dk=$cache/debug-kernel
src=$dk/src
out=$dk/out
img=$dk/img
frags=("$repo/selftests/config" "$repo/selftests/config.debug")

run() {
	echo "+ $*" >&2
	"$@"
}

key=$(cat "${frags[@]}" "$0" | sha256sum | cut -c1-16)

if [ "$1" = check ]; then
	[ -r "$dk/env" ] && grep -qx "KEY_DEBUG=$key" "$dk/env"
	exit
fi

# Kernel build tools that setup.sh does not install (only this target needs them).
tools="flex bison bc libelf-dev libssl-dev"
missing=$(for p in $tools; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
done)
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || { echo "debug-kernel: needs $missing: run as root" >&2; exit 1; }
	run env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y \
		--no-install-recommends $missing
fi

mkdir -p "$dk"
if [ ! -e "$src/.done" ]; then
	dl=$(mktemp -d "${TMPDIR:-/tmp}/memwatch-src.XXXXXX")
	trap 'rm -rf "$dl"' EXIT
	chmod 755 "$dl"
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
		chown _apt "$dl"
	fi
	(cd "$dl" && run apt-get -qq download linux-source-6.12)
	run dpkg -x "$dl"/linux-source-6.12_*.deb "$dl/x"
	rm -rf "$src"
	mkdir -p "$src"
	run tar -xJf "$dl"/x/usr/src/linux-source-6.12.tar.xz -C "$src" \
		--strip-components=1
	rm -rf "$dl"
	touch "$src/.done"
fi

kmake() {
	run nice make -C "$src" O="$out" ARCH=x86_64 "$@"
}

rm -f "$dk/env"
mkdir -p "$out"
kmake tinyconfig >/dev/null
run "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
	"${frags[@]}" >"$dk/merge.log"
kmake olddefconfig >/dev/null

# merge_config.sh only warns when a symbol did not take its value.
bad=0
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) sym=${line%%=*}
			grep -qx "$sym=y\|$sym=m" "$out/.config" && { echo "not off: $line" >&2; bad=1; } ;;
		CONFIG_*) grep -qxF "$line" "$out/.config" || { echo "not set: $line" >&2; bad=1; } ;;
		esac
	done <"$f"
done
# Symbols the fragments name that this architecture or version lacks are
# reported above; they fail the build only for what the tests depend on.
for sym in KASAN PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_OBJECTS DEBUG_KMEMLEAK \
	KPROBES MODULES MODULE_UNLOAD 9P_FS NET_9P_VIRTIO VIRTIO_PCI ACPI \
	PID_NS NET_NS USER_NS; do
	grep -qx "CONFIG_$sym=y" "$out/.config" || {
		echo "debug-kernel: CONFIG_$sym is not set after merging" >&2
		exit 1
	}
done
[ "$bad" = 0 ] || echo "debug-kernel: some fragment lines did not apply (see above)" >&2

kmake -j"${MEMWATCH_JOBS:-$(nproc)}" bzImage modules
kver=$(make -s -C "$src" O="$out" ARCH=x86_64 kernelrelease | tail -n 1)

rm -rf "$img"
mkdir -p "$img/boot" "$img/lib/modules/$kver/kernel"
cp "$out/arch/x86/boot/bzImage" "$img/boot/vmlinuz-$kver"
cp "$out/.config" "$img/boot/config-$kver"
ln -s "$out" "$img/lib/modules/$kver/build"

cat >"$dk/env.tmp" <<EOT
KVER_DEBUG=$kver
KIMG_DEBUG=$img
KDIR_DEBUG=$out
KEY_DEBUG=$key
EOT
mv "$dk/env.tmp" "$dk/env"
echo "debug-kernel: ready: $kver in $img"
