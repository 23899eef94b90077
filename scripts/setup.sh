#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing memwatch needs on Debian 12, and fetch
# the two test kernels into a cache directory (never installed on the host).
# Safe to run again: it only installs or fetches what is missing, and needs
# root only then.
#
# Cache: $MEMWATCH_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/memwatch.
# Output: $MEMWATCH_CACHE/env, a make/shell fragment naming the kernels:
#   KVER_61, KVER_612    kernel releases (uname -r) of Debian's 6.1 and 6.12
#   KIMG_61, KIMG_612    their unpacked linux-image packages (boot/vmlinuz-*,
#                        lib/modules/*)
#   KSRC_TOOLS           files from linux-source-6.12: scripts/checkpatch.pl
#                        (with spelling.txt, const_structs.checkpatch),
#                        scripts/kernel-doc, tools/testing/selftests/
#                        kselftest.h and kselftest_harness.h
# Their headers are installed as packages: /lib/modules/KVER/build.
#
# Exit status: 0 ready, 1 failed, 4 not a Debian system (nothing to do).

set -e

cache=${MEMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch}

# Build tools, the test kernels' tooling, cppcheck and clang-tidy for
# `make style`, dkms, tmux and rsvg-convert
# (librsvg2-bin) for memwatchctl's packaging and tests, and what the guest
# runs from the
# shared host root (python3, setpriv from util-linux, capsh from libcap2-bin,
# bpftrace for the comparison in `make bench`).
pkgs="gcc libc6-dev make pkg-config libnl-3-dev libnl-genl-3-dev
      qemu-system-x86 qemu-system-data busybox-static cpio gzip xz-utils
      sparse perl kmod python3 zlib1g-dev util-linux libcap2-bin procps
      tmux librsvg2-bin dkms cppcheck clang-tidy
      bpftrace"
# `make deb`: dpkg-buildpackage, debhelper with dh_dkms, lintian.
pkgs="$pkgs build-essential debhelper dh-dkms lintian"
# The package test's Debian 12 root: mmdebstrap, kept as a .tar.zst.
pkgs="$pkgs mmdebstrap zstd"

dl=
cleanup() {
	[ -n "$dl" ] && rm -rf "$dl"
	true
}
trap cleanup EXIT

run() {
	echo "+ $*"
	"$@"
}

if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
	echo "setup: needs Debian 12 (apt-get, dpkg); nothing done" >&2
	exit 4
fi

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "setup: run as root (it installs packages with apt-get): sudo $0" >&2
		exit 1
	fi
}

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-qq -o Dpkg::Use-Pty=0 -o APT::Color=0)

updated=
apt_update() {
	[ -n "$updated" ] && return
	need_root
	run apt-get "${apt_opts[@]}" update
	updated=1
}

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# Resolve the current ABI of both kernels from their meta packages: old ABI
# versions leave the archive, so nothing here names one.
resolve() {
	apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-[a-z]*-[0-9].*\)$/\1/p' | head -n 1
}

hdr61=$(resolve linux-headers-amd64)
hdr612=$(resolve linux-headers-6.12-amd64)
if [ -z "$hdr61" ] || [ -z "$hdr612" ]; then
	apt_update
	hdr61=$(resolve linux-headers-amd64)
	hdr612=$(resolve linux-headers-6.12-amd64)
fi
if [ -z "$hdr61" ] || [ -z "$hdr612" ]; then
	echo "setup: cannot resolve linux-headers-amd64 and linux-headers-6.12-amd64; check the apt sources" >&2
	exit 1
fi

missing=()
for p in $pkgs "$hdr61" "$hdr612"; do
	installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	mkdir -p "$cache"
	# dpkg's progress goes to a log; it is shown only if the install fails.
	echo "+ apt-get install ${missing[*]}"
	apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" \
		>"$cache/apt.log" 2>&1 || {
		cat "$cache/apt.log" >&2
		echo "setup: apt-get install failed" >&2
		exit 1
	}
fi

mkdir -p "$cache"

# A download directory that apt's sandbox user can write to, so apt-get
# download neither warns nor falls back to running unsandboxed.
dl=$(mktemp -d "${TMPDIR:-/tmp}/memwatch-dl.XXXXXX")
chmod 755 "$dl"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$dl"
fi

# Fetch a package's .deb and unpack it into DIR.
unpack() {
	local pkg=$1 dir=$2
	[ -e "$dir/.done" ] && return
	rm -rf "$dir" "$dl"/*.deb
	mkdir -p "$dir"
	(cd "$dl" && run apt-get "${apt_opts[@]}" download "$pkg") || {
		apt_update
		(cd "$dl" && run apt-get "${apt_opts[@]}" download "$pkg")
	}
	run dpkg -x "$dl"/*.deb "$dir"
	rm -f "$dl"/*.deb
	touch "$dir/.done"
}

kver61=${hdr61#linux-headers-}
kver612=${hdr612#linux-headers-}
unpack "linux-image-$kver61" "$cache/kernel-$kver61"
unpack "linux-image-$kver612" "$cache/kernel-$kver612"

# Kernels of older ABIs (and their initramfs) are not used any more.
for d in "$cache"/kernel-* "$cache"/initramfs/*.cpio.gz; do
	[ -e "$d" ] || continue
	case "${d##*/}" in
	"kernel-$kver61" | "kernel-$kver612" | "$kver61"-* | "$kver612"-*) ;;
	*) run rm -rf "$d" ;;
	esac
done

# kselftest headers, checkpatch and kernel-doc come from Debian's
# linux-source at build time; the project never carries copies of them.
srcver=$(echo "$kver612" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
src="$cache/linux-source-$srcver"
if [ ! -e "$src/.done" ]; then
	deb="$cache/deb-linux-source-$srcver"
	unpack "linux-source-$srcver" "$deb"
	tarball=$(ls "$deb"/usr/src/linux-source-*.tar.xz)
	top=$(basename "$tarball" .tar.xz)
	rm -rf "$src"
	mkdir -p "$src"
	run tar -xJf "$tarball" -C "$src" --strip-components=1 \
		"$top/tools/testing/selftests/kselftest.h" \
		"$top/tools/testing/selftests/kselftest_harness.h" \
		"$top/scripts/checkpatch.pl" \
		"$top/scripts/spelling.txt" \
		"$top/scripts/const_structs.checkpatch" \
		"$top/scripts/kernel-doc"
	touch "$src/.done"
fi
rm -rf "$cache/deb-linux-source-$srcver"

cat >"$cache/env.tmp" <<EOT
KVER_61=$kver61
KVER_612=$kver612
KIMG_61=$cache/kernel-$kver61
KIMG_612=$cache/kernel-$kver612
KSRC_TOOLS=$src
EOT
mv "$cache/env.tmp" "$cache/env"
echo "setup: ready ($kver61, $kver612; cache $cache)"
