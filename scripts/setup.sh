#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing memwatch needs on Debian 12, and fetch
# the test kernels of the matrix into a cache directory (never installed on
# the host). Safe to run again: it only installs or fetches what is missing,
# and needs root only then.
#
#   setup.sh [--bench] [SPEC...]
#                           SPEC as in scripts/kernels.sh: a release, a
#                           series (5.10), "default" or "all"; default
#                           $KERNELS, else "default". --bench also makes
#                           qemu-trixie (below), for `make bench`
#
# The matrix, resolved here from Debian's archive (no release or ABI number
# is written anywhere in this project):
#   5.10    Debian 11 (bullseye, bullseye-security): linux-headers-amd64
#   6.1     Debian 12: linux-headers-amd64
#   6.12    Debian 12: linux-headers-6.12-amd64
#   newest two series whose headers trixie-backports carries (7.2, 7.3)
# "default" is 6.1, 6.12 and the newest; "all" the whole matrix.
#
# Debian releases other than the host's are reached through a private apt
# configuration in the cache ($MEMWATCH_CACHE/apt/SUITE), made from the
# mirrors the host's own apt sources name: nothing under /etc/apt changes.
#
# Per kernel, in the cache: kernel-KVER (its image and modules packages,
# unpacked: vmlinuz and the modules under lib/modules or usr/lib/modules).
# Headers: 6.1 and 6.12 are installed as packages (/lib/modules/KVER/build);
# 5.10's are unpacked into headers-KVER and built with the host's gcc; the
# newer series are built in chroot-trixie, a Debian 13 chroot (mmdebstrap)
# with gcc-14 and their headers, as their build tools need trixie's glibc.
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
#   KVER_<S>             the release of each series of the matrix, S being
#                        the series without its dot (510, 61, 612, 72, 73)
#   KBUILD_<S>           how it is built: host, tree or chroot
#   KIMG_<S>             its unpacked image, once fetched
#   KDIR_<S>             its build directory (make -C), once fetched
#   KROOT_<S>            the chroot KDIR_<S> is in (empty: the host's)
#   KCC_<S>              the compiler to build with, when not the tree's own
#   KVER_NEWEST          the newest release of the matrix
#   KERNELS_ALL          every release of the matrix, ':'-separated, oldest
#                        first
#   KERNELS_DEFAULT      6.1, 6.12 and the newest
#   KERNELS_FETCHED      the releases whose image and headers are here
#   QEMU_ICOUNT_ROOT     qemu-trixie, once made: a Debian 13 root with its
#                        qemu, which `make bench` runs (-icount on two vCPUs
#                        hangs Debian 12's; selftests/qemu/run-vm.sh says why)
# scripts/kernels.sh reads it (make kernels, make modules).
#
# Exit status: 0 ready, 1 failed, 2 usage, 4 not a Debian system (nothing
# to do).

set -e

cache=${MEMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch}
here=$(cd "$(dirname "$0")" && pwd)
bench=
if [ "$1" = --bench ]; then
	bench=1
	shift
fi
want=${*:-${KERNELS:-default}}

# Build tools, elfutils' libdw and libelf (memwatchctl unwinds call stacks
# with libdwfl; libc6-dbg gives its test libc's static function names, as
# users get them with debug packages installed), the test kernels' tooling,
# cppcheck and clang-tidy for `make style`, dkms, tmux and rsvg-convert
# (librsvg2-bin) for memwatchctl's packaging and tests, and what the guest
# runs from the
# shared host root (python3, setpriv from util-linux, capsh from libcap2-bin,
# bpftrace for the comparison in `make bench`); mmdebstrap makes the chroot
# the newest kernels are built in, zstd unpacks modules compressed with it.
pkgs="gcc libc6-dev make pkg-config libnl-3-dev libnl-genl-3-dev
      qemu-system-x86 qemu-system-data busybox-static cpio gzip xz-utils
      sparse perl kmod python3 zlib1g-dev util-linux libcap2-bin procps
      tmux librsvg2-bin dkms cppcheck clang-tidy
      libjson-c-dev python3-jsonschema python3-prometheus-client
      libdw-dev libelf-dev libc6-dbg
      bpftrace mmdebstrap zstd debian-archive-keyring"
# `make deb`: dpkg-buildpackage, debhelper with dh_dkms, lintian; the
# package test's Debian 12 root is made with mmdebstrap (above).
pkgs="$pkgs build-essential debhelper dh-dkms lintian"

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

die() {
	echo "setup: $*" >&2
	exit 1
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

# Resolve the current ABI of a kernel from its meta package: old ABI
# versions leave the archive, so nothing here names one. Extra arguments
# are apt options (a private configuration).
resolve() {
	local meta=$1
	shift
	apt-cache "$@" depends "$meta" 2>/dev/null |
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

# One setup at a time per cache: two at once have left a torn env file.
exec 9>"$cache/.setup.lock"
if ! flock -n 9; then
	echo "setup: waiting for another setup using $cache"
	flock 9
fi

# A download directory that apt's sandbox user can write to, so apt-get
# download neither warns nor falls back to running unsandboxed.
dl=$(mktemp -d "${TMPDIR:-/tmp}/memwatch-dl.XXXXXX")
chmod 755 "$dl"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$dl"
fi

# --- Debian releases beyond the host's ----------------------------------------

# "URI SUITE KEYRING" for every deb source the host's apt uses (one-line
# .list files and deb822 .sources files); KEYRING is "-" when not given.
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		sed 's/#.*//' "$f" | awk '$1 == "deb" {
			i = 2; opts = ""
			if ($2 ~ /^\[/) {
				while (i < NF && $i !~ /\]$/) { opts = opts " " $i; i++ }
				opts = opts " " $i; i++
			}
			kr = "-"
			if (match(opts, /signed-by=[^] ]*/))
				kr = substr(opts, RSTART + 10, RLENGTH - 10)
			print $i, $(i + 1), kr
		}'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'function flush(  n, m, a, b, u, s) {
			if (types ~ /(^| )deb( |$)/ && enabled != "no") {
				n = split(uris, u, " "); m = split(suites, s, " ")
				for (a = 1; a <= n; a++)
					for (b = 1; b <= m; b++)
						print u[a], s[b], (kr ~ /^\// ? kr : "-")
			}
			types = uris = suites = kr = enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { next }
		{
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
		}
		key == "types" { types = val }
		key == "uris" { uris = val }
		key == "suites" { suites = val }
		key == "signed-by" { kr = val }
		key == "enabled" { enabled = tolower(val) }
		END { flush() }' "$f"
	done
}

codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
read -r mirror mirror_kr < <(host_sources | awk -v s="$codename" '$2 == s { print $1, $3; exit }') || true
read -r secmirror secmirror_kr < <(host_sources | awk -v s="$codename-security" '$2 == s { print $1, $3; exit }') || true
[ -n "$mirror" ] || die "no apt source for $codename in /etc/apt/sources.list(.d): cannot reach the other Debian releases"
[ -n "$secmirror" ] || die "no apt source for $codename-security in /etc/apt/sources.list(.d): cannot reach the other Debian releases"
keyring() {
	if [ "$1" != - ] && [ -r "$1" ]; then
		echo "$1"
	else
		echo /usr/share/keyrings/debian-archive-keyring.gpg
	fi
}
mirror_kr=$(keyring "$mirror_kr")
secmirror_kr=$(keyring "$secmirror_kr")

# papt NAME: apt options of the private configuration NAME (made by
# papt_setup), with an empty dpkg status so that only the archive counts.
papt() {
	local d=$cache/apt/$1
	echo -o "Dir::Etc::sourcelist=$d/sources.list" -o Dir::Etc::sourceparts=- \
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" \
		-o "Dir::State::status=$d/status" -o "Dir::Etc::preferences=$d/preferences" \
		-o "Dir::Etc::preferencesparts=$d/preferences.d" \
		-o APT::Sandbox::User=root -o Acquire::Languages=none
}

# papt_setup NAME "URI SUITE KEYRING"...: write the sources and refresh the
# package lists when they are missing or a day old.
declare -A papt_fresh
papt_setup() {
	local name=$1 d=$cache/apt/$1 e
	shift
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/preferences.d"
	: >>"$d/status"
	for e in "$@"; do
		read -r uri suite kr <<<"$e"
		echo "deb [signed-by=$kr] $uri $suite main"
	done >"$d/sources.list.new"
	if ! cmp -s "$d/sources.list.new" "$d/sources.list" ||
		[ -z "$(find "$d/lists" -maxdepth 1 -name '*Packages*' -mmin -1440)" ]; then
		mv "$d/sources.list.new" "$d/sources.list"
		papt_update "$name"
	else
		rm -f "$d/sources.list.new"
	fi
}

papt_update() {
	[ -n "${papt_fresh[$1]}" ] && return
	# shellcheck disable=SC2046 # papt prints options
	run apt-get "${apt_opts[@]}" $(papt "$1") update
	papt_fresh[$1]=1
}

papt_setup bullseye "$mirror bullseye $mirror_kr" "$secmirror bullseye-security $secmirror_kr"
papt_setup trixie-backports "$mirror trixie-backports $mirror_kr"

# shellcheck disable=SC2046
hdr510=$(resolve linux-headers-amd64 $(papt bullseye))
if [ -z "$hdr510" ]; then
	papt_update bullseye
	# shellcheck disable=SC2046
	hdr510=$(resolve linux-headers-amd64 $(papt bullseye))
fi
[ -n "$hdr510" ] || die "cannot resolve bullseye's linux-headers-amd64"

# The newest ABI of each series trixie-backports has headers and an image
# for; the two newest series of them.
bpo_kernels() {
	local v last=
	# shellcheck disable=SC2046
	apt-cache $(papt trixie-backports) search --names-only \
		'^linux-headers-[0-9]+\.[0-9]+\.[0-9]+\+deb[0-9]+-amd64$' |
		sed -n 's/^linux-headers-\([^ ]*\) .*/\1/p' | sort -V -r |
		while read -r v; do
			s=$(echo "$v" | sed 's/^\([0-9]*\.[0-9]*\)\..*/\1/')
			[ "$s" = "$last" ] && continue
			# shellcheck disable=SC2046
			apt-cache $(papt trixie-backports) show "linux-image-$v" >/dev/null 2>&1 || continue
			last=$s
			echo "$v"
		done | head -n 2 | sort -V
}
bpo=$(bpo_kernels)
if [ "$(echo "$bpo" | wc -w)" != 2 ]; then
	papt_update trixie-backports
	bpo=$(bpo_kernels)
fi
[ "$(echo "$bpo" | wc -w)" = 2 ] ||
	die "cannot find two kernel series with headers in trixie-backports (found: ${bpo:-none})"

kver510=${hdr510#linux-headers-}
kver61=${hdr61#linux-headers-}
kver612=${hdr612#linux-headers-}
# shellcheck disable=SC2086
set -- $bpo
kver_newer=$1
kver_newest=$2

all=("$kver510" "$kver61" "$kver612" "$kver_newer" "$kver_newest")
default=("$kver61" "$kver612" "$kver_newest")

# Where each kernel comes from and how it is built: host (installed
# headers), tree (unpacked headers, host compiler) or chroot.
declare -A kapt kroot
kapt[$kver510]=bullseye
kroot[$kver510]=tree
kapt[$kver61]=host
kroot[$kver61]=host
kapt[$kver612]=host
kroot[$kver612]=host
kapt[$kver_newer]=trixie-backports
kroot[$kver_newer]=chroot
kapt[$kver_newest]=trixie-backports
kroot[$kver_newest]=chroot

# The kernels asked for, through scripts/kernels.sh's own reading of SPEC.
join() {
	local IFS=:
	echo "$*"
}
export KERNELS_ALL KERNELS_DEFAULT KVER_NEWEST KERNELS_FETCHED
KERNELS_ALL=$(join "${all[@]}")
KERNELS_DEFAULT=$(join "${default[@]}")
KVER_NEWEST=$kver_newest
KERNELS_FETCHED=$KERNELS_ALL
# 6.1 and 6.12 always: the demo, the benchmarks and ctl-asan run on them.
# shellcheck disable=SC2086
selected=$("$here/kernels.sh" match "$kver61" "$kver612" $want) ||
	{ echo "setup: usage: setup.sh [all|default|SERIES|RELEASE...]" >&2; exit 2; }

# --- fetching ------------------------------------------------------------------

# aptx NAME ARGS...: apt-get with the host's configuration or a private one.
aptx() {
	local name=$1
	shift
	if [ "$name" = host ]; then
		apt-get "${apt_opts[@]}" "$@"
	else
		# shellcheck disable=SC2046
		apt-get "${apt_opts[@]}" $(papt "$name") "$@"
	fi
}

# unpack APT DIR PKG...: fetch the packages' .debs and unpack them into DIR.
unpack() {
	local name=$1 dir=$2 f
	shift 2
	[ -e "$dir/.done" ] && return
	rm -rf "$dir" "$dl"/*.deb
	mkdir -p "$dir"
	echo "+ apt-get download $*"
	(cd "$dl" && aptx "$name" download "$@") || {
		if [ "$name" = host ]; then apt_update; else papt_update "$name"; fi
		(cd "$dl" && aptx "$name" download "$@")
	}
	for f in "$dl"/*.deb; do
		run dpkg -x "$f" "$dir"
	done
	rm -f "$dl"/*.deb
	touch "$dir/.done"
}

# deps APT PKG REGEX: the packages PKG depends on whose name matches REGEX.
deps() {
	local name=$1
	if [ "$name" = host ]; then
		apt-cache depends "$2"
	else
		# shellcheck disable=SC2046
		apt-cache $(papt "$name") depends "$2"
	fi 2>/dev/null | sed -n 's/^ *Depends: \([^<>]*\)$/\1/p' | grep -E "$3" || true
}

# The image: linux-image-KVER holds vmlinuz and the modules, or (from 7.x)
# is a meta package of linux-binary-KVER and linux-modules-KVER.
fetch_image() {
	local k=$1 q
	q=$(echo "$k" | sed 's/[.+]/\\&/g')
	# shellcheck disable=SC2046
	unpack "${kapt[$k]}" "$cache/kernel-$k" "linux-image-$k" \
		$(deps "${kapt[$k]}" "linux-image-$k" "^linux-(binary|modules)-$q\$")
	find "$cache/kernel-$k" -name "vmlinuz*" | grep -q . ||
		die "no vmlinuz in the packages of linux-image-$k"
}

# Headers unpacked (5.10): the arch headers, the common headers and kbuild.
# Their Makefile includes the common tree by its /usr/src path: point it at
# the unpacked one.
fetch_tree() {
	local k=$1 t=$cache/headers-$1 q
	q=$(echo "$k" | sed 's/[.+]/\\&/g')
	if [ ! -e "$t/.done" ]; then
		# shellcheck disable=SC2046
		unpack "${kapt[$k]}" "$t" "linux-headers-$k" \
			$(deps "${kapt[$k]}" "linux-headers-$k" '^linux-(headers-.*-common|kbuild-)')
		rm "$t/.done"
		sed -i "s#^include /usr/src/#include $t/usr/src/#" "$t/usr/src/linux-headers-$k/Makefile"
		grep -q "^include $t/" "$t/usr/src/linux-headers-$k/Makefile" ||
			die "$t/usr/src/linux-headers-$k/Makefile does not include the common headers as expected"
		touch "$t/.done"
	fi
}

# A minimal Debian 13 root in DIR.new, with the packages INCLUDE, from
# the mirror's trixie and any further SOURCES; made afresh, and on a
# failure the log's end and a stop. swap_in then puts it in DIR's place,
# so that a failed or stopped run never leaves half a root there.
trixie_root() {
	local dir=$1 log=$2 inc=$3
	shift 3
	need_root
	rm -rf "$dir.new"
	echo "+ mmdebstrap --mode=root --variant=minbase --include=$inc trixie $dir.new (log: $log)"
	mmdebstrap --mode=root --variant=minbase --include="$inc" trixie "$dir.new" \
		"deb [signed-by=$mirror_kr] $mirror trixie main" "$@" >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		rm -rf "$dir.new"
		die "mmdebstrap failed (log: $log)"
	}
}

swap_in() {
	rm -rf "$1.old"
	[ ! -e "$1" ] || mv "$1" "$1.old"
	mv "$1.new" "$1"
	rm -rf "$1.old"
}

# The chroot for the newer series: trixie with gcc-14, make and the headers
# of every such kernel wanted now or already in it (and still current).
# It is made anew, in a side folder, when a kernel's headers are missing.
chroot_dir=$cache/chroot-trixie
fetch_chroot() {
	local k need=() have v
	for k in "$@"; do
		need+=("$k")
	done
	if [ -e "$chroot_dir/.done" ]; then
		have=1
		for k in "${need[@]}"; do
			[ -d "$chroot_dir/usr/src/linux-headers-$k" ] || have=
		done
		[ -n "$have" ] && return
		for v in $(ls "$chroot_dir/usr/src" | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p'); do
			case ":$KERNELS_ALL:" in
			*":$v:"*)
				case " ${need[*]} " in
				*" $v "*) ;;
				*) need+=("$v") ;;
				esac
				;;
			esac
		done
	fi
	local inc=make,gcc-14,libc6-dev
	for k in "${need[@]}"; do
		inc=$inc,linux-headers-$k
	done
	trixie_root "$chroot_dir" "$cache/mmdebstrap.log" "$inc" \
		"deb [signed-by=$mirror_kr] $mirror trixie-backports main"
	touch "$chroot_dir.new/.done"
	swap_in "$chroot_dir"
}

chroot_want=()
for k in $selected; do
	fetch_image "$k"
	case "${kroot[$k]}" in
	tree) fetch_tree "$k" ;;
	chroot) chroot_want+=("$k") ;;
	esac
done
[ ${#chroot_want[@]} = 0 ] || fetch_chroot "${chroot_want[@]}"

# sparse for the chroot's kernels (make sparse). Debian 13's sparse, 0.6.4,
# cannot parse the 7.x headers (they use __typeof_unqual__); Debian
# unstable's can (0.6.5~rc1 today). The chroot gets that package's binary
# alone, in /usr/local/bin: the package depends on unstable's compiler.
# Debian's 7.x header packages also leave out scripts/checker-valid.sh, the
# test the kernel's Makefile runs before it uses a checker; without it, C=2
# checks nothing. Where it is missing, memwatch writes its own, making the
# same test. A failure here only warns: make check needs no sparse.
chroot_sparse() {
	local h probe=$chroot_dir/tmp/memwatch-sparse.c
	if [ ! -x "$chroot_dir/usr/local/bin/sparse" ]; then
		need_root
		papt_setup unstable "$mirror unstable $mirror_kr"
		rm -rf "$cache/sparse-unstable"
		unpack unstable "$cache/sparse-unstable" sparse &&
			install -m 755 "$cache/sparse-unstable/usr/bin/sparse" "$chroot_dir/usr/local/bin/sparse" || {
			echo "setup: warning: no sparse from Debian unstable: make sparse cannot check ${chroot_want[*]}" >&2
			return 0
		}
		rm -rf "$cache/sparse-unstable"
		echo 'int f(const int *p) { __typeof_unqual__(*p) v = *p; return v; }' >"$probe"
		if chroot "$chroot_dir" /usr/local/bin/sparse /tmp/memwatch-sparse.c 2>&1 | grep -q error; then
			rm "$chroot_dir/usr/local/bin/sparse"
			echo "setup: warning: Debian unstable's sparse cannot parse the 7.x headers either: make sparse cannot check ${chroot_want[*]}" >&2
		fi
		rm -f "$probe"
	fi
	for h in "$chroot_dir"/usr/src/linux-headers-*-common; do
		[ ! -e "$h/scripts/checker-valid.sh" ] && grep -q checker-valid.sh "$h/Makefile" || continue
		cat >"$h/scripts/checker-valid.sh" <<-'EOF'
		#!/bin/sh
		# Written by memwatch's scripts/setup.sh, as Debian's headers package
		# lacks it: the kernel's Makefile asks it whether the checker ("$@")
		# can parse this kernel. It prints 1 if it can, 0 if not.
		f=$(mktemp) || exit 1
		echo 'int f(const int *p) { __typeof_unqual__(*p) v = *p; return v; }' >"$f"
		if [ -x "$(command -v "$1")" ] && ! "$@" "$f" 2>&1 | grep -q error; then
		    echo 1
		else
		    echo 0
		fi
		rm -f "$f"
		EOF
		chmod 755 "$h/scripts/checker-valid.sh"
	done
}
[ ${#chroot_want[@]} = 0 ] || chroot_sparse

# The qemu `make bench` runs: Debian 13's, in a root of its own (no kernel
# headers, nothing else), as Debian 12's qemu 7.2 starves one of two vCPUs
# under -icount. Remade when Debian 13 has a newer qemu.
qemu_dir=$cache/qemu-trixie
fetch_qemu() {
	local have='' new
	[ -e "$qemu_dir/.done" ] && have=$(cat "$qemu_dir/.done")
	papt_setup trixie "$mirror trixie $mirror_kr"
	# shellcheck disable=SC2046 # papt prints options
	new=$(apt-cache $(papt trixie) show --no-all-versions qemu-system-x86 2>/dev/null |
		sed -n 's/^Version: //p')
	[ -n "$have" ] && { [ -z "$new" ] || [ "$have" = "$new" ]; } && return 0
	trixie_root "$qemu_dir" "$cache/mmdebstrap-qemu.log" qemu-system-x86
	chroot "$qemu_dir.new" dpkg-query -W -f '${Version}' qemu-system-x86 >"$qemu_dir.new/.done"
	swap_in "$qemu_dir"
}
[ -z "$bench" ] || fetch_qemu

# Kernels of older ABIs, or series that left the matrix (and their
# initramfs and headers), are not used any more.
for d in "$cache"/kernel-* "$cache"/headers-* "$cache"/initramfs/*.cpio.gz; do
	[ -e "$d" ] || continue
	keep=
	for k in "${all[@]}"; do
		case "${d##*/}" in
		"kernel-$k" | "headers-$k" | "$k"-*) keep=1 ;;
		esac
	done
	[ -n "$keep" ] || run rm -rf "$d"
done

# kselftest headers, checkpatch and kernel-doc come from Debian's
# linux-source at build time; the project never carries copies of them.
srcver=$(echo "$kver612" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
src="$cache/linux-source-$srcver"
if [ ! -e "$src/.done" ]; then
	deb="$cache/deb-linux-source-$srcver"
	unpack host "$deb" "linux-source-$srcver"
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

# --- the env file ---------------------------------------------------------------

tag() {
	echo "$1" | sed -n 's/^\([0-9]*\)\.\([0-9]*\)[.-].*$/\1\2/p'
}

fetched=()
for k in "${all[@]}"; do
	[ -e "$cache/kernel-$k/.done" ] || continue
	case "${kroot[$k]}" in
	host) installed "linux-headers-$k" || continue ;;
	tree) [ -e "$cache/headers-$k/.done" ] || continue ;;
	chroot) [ -d "$chroot_dir/usr/src/linux-headers-$k" ] || continue ;;
	esac
	fetched+=("$k")
done

# Written to a temporary file and renamed: a reader sees the old file or
# the new one, never a part.
env_tmp=$(mktemp "$cache/env.XXXXXX")
{
	echo "KVER_61=$kver61"
	echo "KVER_612=$kver612"
	echo "KIMG_61=$cache/kernel-$kver61"
	echo "KIMG_612=$cache/kernel-$kver612"
	echo "KSRC_TOOLS=$src"
	for k in "${all[@]}"; do
		t=$(tag "$k")
		[ "$t" = 61 ] || [ "$t" = 612 ] || echo "KVER_$t=$k"
		echo "KBUILD_$t=${kroot[$k]}"
		case " ${fetched[*]} " in
		*" $k "*) ;;
		*) continue ;;
		esac
		[ "$t" = 61 ] || [ "$t" = 612 ] || echo "KIMG_$t=$cache/kernel-$k"
		case "${kroot[$k]}" in
		host)
			echo "KDIR_$t=/lib/modules/$k/build"
			echo "KROOT_$t="
			;;
		tree)
			echo "KDIR_$t=$cache/headers-$k/usr/src/linux-headers-$k"
			echo "KROOT_$t="
			echo "KCC_$t=gcc"
			;;
		chroot)
			echo "KDIR_$t=/usr/src/linux-headers-$k"
			echo "KROOT_$t=$chroot_dir"
			;;
		esac
	done
	echo "KVER_NEWEST=$kver_newest"
	echo "KERNELS_ALL=$KERNELS_ALL"
	echo "KERNELS_DEFAULT=$KERNELS_DEFAULT"
	echo "KERNELS_FETCHED=$(join "${fetched[@]}")"
	[ -e "$qemu_dir/.done" ] && echo "QEMU_ICOUNT_ROOT=$qemu_dir"
} >"$env_tmp"
chmod 644 "$env_tmp"
mv -f "$env_tmp" "$cache/env"
echo "setup: ready (${fetched[*]}; cache $cache)"
