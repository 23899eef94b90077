#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernels memwatch is built and tested on, as scripts/setup.sh resolved
# and fetched them ($MEMWATCH_CACHE/env), and how to build against each.
#
#   kernels.sh list SPEC...    the kernel releases SPEC names, one a line
#   kernels.sh table           the matrix: series, release, build root, state
#   kernels.sh match SPEC...   as list, for a matrix given in the environment
#                              (KERNELS_ALL, KERNELS_DEFAULT, KVER_NEWEST:
#                              scripts/setup.sh), fetched or not
#   kernels.sh make KVER ARG...
#                              run make ARG... against KVER's headers, in
#                              the build root that kernel needs
#
# SPEC is a release as `uname -r` prints it (6.1.0-57-amd64), a series
# (6.1, 7.3), "newest", "default" (6.1, 6.12 and the newest) or "all" (the
# whole matrix); words may be separated by blanks or commas.
#
# Build roots: the host (Debian 12's own 6.1 and 6.12, headers installed as
# packages), an unpacked headers tree built with the host compiler (older
# kernels, such as Debian 11's 5.10), or a chroot of the kernel's Debian
# release (newer kernels, whose build tools need a newer compiler and C
# library than the host's). A chroot build runs in a private mount
# namespace: /proc and the module folder are mounted inside for that build
# only; as non-root it needs unprivileged user namespaces.
#
# Exit status: 0, 1 failed (unknown or missing kernel: the message says
# what to run), 2 usage.

set -e

cache=${MEMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch}
env_file=$cache/env

usage() {
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0" >&2
	exit 2
}

die() {
	echo "kernels: $*" >&2
	exit 1
}

load_env() {
	[ -r "$env_file" ] || die "$env_file is missing: run scripts/setup.sh (sudo make setup)"
	# shellcheck source=/dev/null
	. "$env_file"
	[ -n "$KERNELS_ALL" ] ||
		die "$env_file has no kernel matrix (written by an older setup): run scripts/setup.sh"
}

# The variable suffix of a release: 5.10.0-46-amd64 -> 510, 7.3.4+deb13-amd64 -> 73.
tag() {
	echo "$1" | sed -n 's/^\([0-9]*\)\.\([0-9]*\)[.-].*$/\1\2/p'
}

series() {
	echo "$1" | sed -n 's/^\([0-9]*\.[0-9]*\)[.-].*$/\1/p'
}

# var NAME KVER: the value of NAME_<tag of KVER> from the env file.
var() {
	local v
	v=$1_$(tag "$2")
	echo "${!v}"
}

fetched() {
	case ":$KERNELS_FETCHED:" in
	*":$1:"*) return 0 ;;
	esac
	return 1
}

any=
list() {
	local w k found ks out=()
	[ $# -gt 0 ] || set -- default
	for w in ${*//,/ }; do
		case "$w" in
		all) ks=(${KERNELS_ALL//:/ }) ;;
		default) ks=(${KERNELS_DEFAULT//:/ }) ;;
		newest) ks=("$KVER_NEWEST") ;;
		*)
			found=
			for k in ${KERNELS_ALL//:/ }; do
				if [ "$w" = "$k" ] || [ "$w" = "$(series "$k")" ]; then
					found=$k
				fi
			done
			[ -n "$found" ] || die "$w is not in the kernel matrix (${KERNELS_ALL//:/ }; make kernels lists it)"
			ks=("$found")
			;;
		esac
		for k in "${ks[@]}"; do
			case " ${out[*]} " in
			*" $k "*) ;;
			*) out+=("$k") ;;
			esac
		done
	done
	for k in "${out[@]}"; do
		[ -n "$any" ] || fetched "$k" ||
			die "kernel $k is not set up: run KERNELS=$(series "$k") scripts/setup.sh (or KERNELS=all)"
	done
	for k in "${out[@]}"; do
		echo "$k"
	done
}

table() {
	local k root state
	printf '%-7s %-24s %-8s %s\n' series release root state
	for k in ${KERNELS_ALL//:/ }; do
		root=$(var KBUILD "$k")
		state=
		fetched "$k" && state=ready || state="not fetched (KERNELS=$(series "$k") scripts/setup.sh)"
		case ":$KERNELS_DEFAULT:" in
		*":$k:"*) state="$state, default" ;;
		esac
		printf '%-7s %-24s %-8s %s\n' "$(series "$k")" "$k" "$root" "$state"
	done
}

kmake() {
	local kver=$1 kdir root kcc m arg
	shift
	[ -n "$kver" ] || usage
	kver=$(list "$kver")
	case "$kver" in
	*[[:space:]]*) die "make takes one kernel, not $kver" ;;
	esac
	kdir=$(var KDIR "$kver")
	root=$(var KROOT "$kver")
	kcc=$(var KCC "$kver")
	[ -n "$kdir" ] || die "no build directory for $kver in $env_file: run scripts/setup.sh"
	if [ -z "$root" ]; then
		[ -d "$kdir" ] || die "$kdir is missing: run scripts/setup.sh"
		echo "+ make -C $kdir ${kcc:+CC=$kcc }$*" >&2
		exec make -C "$kdir" ${kcc:+CC="$kcc"} "$@"
	fi

	[ -d "$root$kdir" ] || die "$root$kdir is missing: run KERNELS=$(series "$kver") scripts/setup.sh"
	# The module folder (M=) is mounted at its own path in the chroot,
	# so that messages name the files as they are on the host.
	m=
	for arg in "$@"; do
		case "$arg" in
		M=*) m=${arg#M=} ;;
		esac
	done
	[ -n "$m" ] || die "make for $kver needs M=DIR (an absolute path)"
	case "$m" in
	/*) ;;
	*) die "M=$m must be an absolute path" ;;
	esac
	[ -d "$m" ] || die "M=$m is not a folder"
	ns=(unshare --mount --pid --fork --mount-proc="$root/proc")
	[ "$(id -u)" = 0 ] || ns+=(--map-root-user)
	echo "+ make -C $kdir $* (in the chroot $root)" >&2
	# shellcheck disable=SC2016 # expanded by the inner shell
	exec "${ns[@]}" sh -c '
		root=$1 m=$2 kdir=$3
		shift 3
		mkdir -p "$root$m" 2>/dev/null || test -d "$root$m" || {
			echo "kernels: cannot create $root$m" >&2; exit 1; }
		mount --bind "$m" "$root$m" || exit 1
		exec chroot "$root" /usr/bin/env -i \
			PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/ LANG=C.UTF-8 \
			make -C "$kdir" "$@"' sh "$root" "$m" "$kdir" "$@"
}

cmd=$1
[ -n "$cmd" ] || usage
shift
case "$cmd" in
list) load_env && list "$@" ;;
match)
	[ -n "$KERNELS_ALL" ] || die "match needs KERNELS_ALL in the environment"
	any=1
	list "$@"
	;;
table) load_env && table ;;
make) load_env && kmake "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
