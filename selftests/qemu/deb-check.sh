#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The package test: build the Debian packages (scripts/deb-build.sh, as
# `make deb`), install them with apt into a fresh Debian 12 root made by
# mmdebstrap that has the 6.12 test kernel's headers, check that DKMS built
# and signed the module for that kernel, boot that kernel (run-vm.sh) and
# drive the module DKMS built with the memwatchctl installed in the root
# (deb-guest.py), then purge both packages and check nothing is left.
#
#   deb-check.sh [KVER]     (default: KVER_612 of scripts/setup.sh)
#
# Output: TAP lines ("ok N - ...", "not ok N - ..."), which check.sh counts
# when make check runs this (MEMWATCH_HOST_TESTS). Exit status 0 if nothing
# failed, 1 otherwise, 4 if setup has not run.
#
# The root comes from the host's apt sources (the files in /etc/apt), with
# dkms, openssl (DKMS's signing key), libnl and linux-headers-KVER, and is
# kept as a tarball in $MEMWATCH_CACHE/deb-root/ (about 300 MB: the
# headers pull in the kernel image; making it takes two to three minutes, a
# run with it cached one to two). It is
# unpacked into build/deb-check/root for each run and removed after a run
# that passed. Logs: build/deb-check/*.log.

set -e

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$repo"
cache=${MEMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch}

if [ ! -r "$cache/env" ]; then
	echo "deb-check: $cache/env is missing: run scripts/setup.sh (make setup)" >&2
	exit 4
fi
# shellcheck source=/dev/null
. "$cache/env"
kver=${1:-$KVER_612}

out=build/deb-check
root=$repo/$out/root
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}

# Lines of a log as TAP diagnostics.
diag() {
	sed 's/^/# /' "$@"
}

# --one-file-system: never into a mount that might have been left in the
# root (in_root's mounts live in a namespace of their own, but still).
remove_root() {
	rm -rf --one-file-system "$root"
}

finish() {
	echo "1..$n"
	echo "# deb-check: $((SECONDS - start))s"
	if [ "$failed" = 0 ]; then
		remove_root
		exit 0
	fi
	[ -d "$root" ] && echo "# deb-check: the root is kept for a look: $out/root"
	exit 1
}

# A command in the root, with /proc and /dev, in a mount namespace of its
# own so that nothing stays mounted when it ends.
in_root() {
	# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
	unshare --mount --propagation private -- sh -c \
		'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" &&
		exec chroot "$0" "$@"' "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}

start=$SECONDS
echo "TAP version 13"
remove_root
rm -rf "$out"
mkdir -p "$out"

# --- packages -----------------------------------------------------------------

version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
set +e
scripts/deb-build.sh -q >"$out/deb-build.log" 2>&1
rc=$?
set -e
case $rc in
0)
	ok "make deb: dpkg-buildpackage built memwatch-dkms and memwatchctl $version"
	ok "lintian: no errors or warnings" ;;
3)
	ok "make deb: dpkg-buildpackage built memwatch-dkms and memwatchctl $version"
	diag "$out/deb-build.log"
	not_ok "lintian: no errors or warnings" ;;
*)
	diag "$out/deb-build.log"
	not_ok "make deb (exit $rc)"
	finish ;;
esac
dkms_deb=$repo/build/deb/memwatch-dkms_${version}_all.deb
ctl_deb=$repo/build/deb/memwatchctl_${version}_$arch.deb

# memwatchctl's libraries come from dh_shlibdeps, dkms from dh_dkms.
ctl_dep=$(dpkg-deb -f "$ctl_deb" Depends)
dkms_dep=$(dpkg-deb -f "$dkms_deb" Depends)
if [[ "$ctl_dep" == *libnl-genl-3-200* && "$ctl_dep" == *libnl-3-200* &&
	"$ctl_dep" == *libc6* && "$ctl_dep" == *libdw1* &&
	"$dkms_dep" == *dkms* ]]; then
	ok "dependencies: memwatchctl on libc6, libnl and libdw, memwatch-dkms on dkms"
else
	echo "# memwatchctl Depends: $ctl_dep"
	echo "# memwatch-dkms Depends: $dkms_dep"
	not_ok "dependencies: memwatchctl on libc6, libnl and libdw, memwatch-dkms on dkms"
fi

# --- the root -----------------------------------------------------------------

# The host's apt sources, as files mmdebstrap copies into the root.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && sources+=("$f")
done
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
include=dkms,openssl,libnl-3-200,libnl-genl-3-200,libjson-c5,libdw1,libelf1,linux-headers-$kver
key=$( {
	echo "$suite $include"
	cat "${sources[@]}"
	sed -n '/^[[:space:]]*# mmdebstrap:/,/^[[:space:]]*# end mmdebstrap/p' "$0"
} | sha256sum | cut -c1-16)
tarball=$cache/deb-root/$suite-$kver-$key.tar.zst

mkdir -p "$cache/deb-root"
(
	flock 9
	[ -e "$tarball" ] && exit 0
	echo "# deb-check: making the $suite root with linux-headers-$kver (mmdebstrap, a few minutes)"
	# mmdebstrap: apt's lists stay in the root, so that `apt install
	# ./X.deb` resolves the packages' dependencies there from what is
	# installed (the install below must add nothing but the two packages).
	mmdebstrap --variant=apt --include="$include" --skip=cleanup/apt/lists \
		"$suite" "$tarball.tmp.tar.zst" "${sources[@]}" >"$out/mmdebstrap.log" 2>&1
	# end mmdebstrap
	mv "$tarball.tmp.tar.zst" "$tarball"
	for old in "$cache"/deb-root/*.tar.zst; do
		[ "$old" = "$tarball" ] || rm -f "$old"
	done
) 9>"$cache/deb-root/.lock" || {
	diag "$out/mmdebstrap.log"
	rm -f "$tarball.tmp.tar.zst"
	not_ok "a $suite root with linux-headers-$kver (mmdebstrap)"
	finish
}
mkdir -p "$root"
if tar --zstd -xf "$tarball" -C "$root" && [ -d "$root/usr/src/linux-headers-$kver" ]; then
	ok "a fresh $suite root with linux-headers-$kver (${tarball#"$cache"/})"
else
	not_ok "a fresh $suite root with linux-headers-$kver (${tarball#"$cache"/})"
	finish
fi

# --- install ------------------------------------------------------------------

cp "$dkms_deb" "$ctl_deb" "$root/tmp/"
in_root apt-get install -y "/tmp/${dkms_deb##*/}" "/tmp/${ctl_deb##*/}" \
	>"$out/install.log" 2>&1 && rc=0 || rc=$?
rm -f "$root/tmp/${dkms_deb##*/}" "$root/tmp/${ctl_deb##*/}"
new=$(sed -n '/^The following NEW packages will be installed:/,/^[^ ]/{/^ /p}' "$out/install.log" | xargs)
if [ "$rc" = 0 ] && [ "$new" = "memwatch-dkms memwatchctl" ]; then
	ok "apt install ./memwatch-dkms*.deb ./memwatchctl*.deb in the root"
else
	diag "$out/install.log"
	not_ok "apt install ./memwatch-dkms*.deb ./memwatchctl*.deb in the root (exit $rc; new packages: $new)"
fi

status=$(in_root dkms status memwatch 2>/dev/null || true)
echo "$status" | sed 's/^/# dkms status: /'
if echo "$status" | grep -qx "memwatch/$version, $kver, x86_64: installed"; then
	ok "dkms status: memwatch/$version built and installed for $kver"
else
	not_ok "dkms status: memwatch/$version built and installed for $kver"
fi

# The module where DKMS installed it, signed with DKMS's MOK: the
# signature names the certificate by its serial number.
ko=$(find "$root/lib/modules/$kver/updates" -name 'memwatch.ko*' 2>/dev/null | head -n 1)
signer='' sig_key='' serial=''
if [ -n "$ko" ]; then
	case "$ko" in
	*.xz) xz -dc "$ko" ;;
	*.zst) zstd -qdc "$ko" ;;
	*.gz) gzip -dc "$ko" ;;
	*) cat "$ko" ;;
	esac >"$out/memwatch.ko"
	signer=$(modinfo -F signer "$out/memwatch.ko")
	sig_key=$(modinfo -F sig_key "$out/memwatch.ko" | tr -d ':' | sed 's/^0*//')
	serial=$(openssl x509 -inform DER -in "$root/var/lib/dkms/mok.pub" -noout -serial 2>/dev/null |
		sed 's/^serial=0*//')
fi
if [ -n "$ko" ] && [ -n "$sig_key" ] && [ "$sig_key" = "$serial" ]; then
	ok "${ko#"$root"} is signed with DKMS's MOK (/var/lib/dkms/mok.pub, '$signer')"
else
	echo "# module: ${ko:-none}; signer '$signer', key '$sig_key'; /var/lib/dkms/mok.pub serial '$serial'"
	not_ok "memwatch.ko installed for $kver and signed with DKMS's MOK"
fi

# memwatchctl with its man page and completion, its libraries all there.
why=
for f in /usr/sbin/memwatchctl /usr/share/man/man8/memwatchctl.8.gz \
	/usr/share/bash-completion/completions/memwatchctl; do
	[ -e "$root$f" ] || why="$why $f is missing;"
done
missing=$(in_root ldd /usr/sbin/memwatchctl 2>&1 | grep 'not found' || true)
[ -z "$missing" ] || why="$why ldd: $missing;"
complete=$(in_root bash -c '. /usr/share/bash-completion/completions/memwatchctl && complete -p memwatchctl' 2>&1 || true)
[[ "$complete" == "complete "*memwatchctl ]] || why="$why completion: $complete;"
if [ -z "$why" ]; then
	ok "memwatchctl, its man page and bash completion installed; its libraries resolve"
else
	echo "#$why"
	not_ok "memwatchctl, its man page and bash completion installed; its libraries resolve"
fi

# --- the guest ----------------------------------------------------------------

echo "# deb-check: booting $kver with the module DKMS built and the packaged memwatchctl"
set +e
selftests/qemu/run-vm.sh -t "${MEMWATCH_TIMEOUT:-300}" -l 7 \
	-e MEMWATCH_KO="$repo/$out/memwatch.ko" -e MEMWATCH_DEB_ROOT="$root" \
	-e MEMWATCH_DEB_VERSION="$version" -c "$out/console.log" \
	-r "$out/results.log" "$kver" selftests/qemu/deb-guest.py 2>"$out/run-vm.log"
rc=$?
set -e
# The guest's results, numbered on from ours.
guest=0
while IFS= read -r line; do
	line=${line%$'\r'}
	case "$line" in
	"ok "*) ok "guest: ${line#* - }"; guest=1 ;;
	"not ok "*) not_ok "guest: ${line#* - }"; guest=1 ;;
	"# memwatch-guest:"*) ;;
	"#"*) echo "$line" ;;
	esac
done <"$out/results.log"
if [ "$rc" != 0 ] || [ "$guest" = 0 ]; then
	tr -d '\r' <"$out/console.log" | tail -n 30 | diag
	diag "$out/run-vm.log"
	[ "$rc" = 0 ] || not_ok "guest run on $kver (run-vm.sh exit $rc)"
	[ "$guest" = 1 ] || not_ok "guest run on $kver reported no results"
fi

# --- purge --------------------------------------------------------------------

in_root apt-get purge -y memwatch-dkms memwatchctl >"$out/purge.log" 2>&1 && rc=0 || rc=$?
# Rows of dpkg -l other than "not installed" ones (un, pn).
left=$(in_root dpkg -l 'memwatch*' 2>/dev/null |
	awk '/^[a-z][a-z] / && $1 !~ /^[up]n$/ { print $1, $2 }' | xargs)
files=
for f in "$root"/usr/src/memwatch-* "$root"/var/lib/dkms/memwatch \
	"$root"/lib/modules/*/updates/dkms/memwatch.ko* "$root"/usr/sbin/memwatchctl \
	"$root"/usr/share/man/man8/memwatchctl.8.gz \
	"$root"/usr/share/bash-completion/completions/memwatchctl; do
	if [ -e "$f" ]; then
		files="$files ${f#"$root"}"
	fi
done
if [ "$rc" = 0 ] && [ -z "$left" ] && [ -z "$files" ]; then
	ok "apt purge: no memwatch package known to dpkg, no file left"
else
	diag "$out/purge.log"
	echo "# dpkg -l: ${left:-nothing}; files left: ${files:-none}"
	not_ok "apt purge: no memwatch package known to dpkg, no file left (exit $rc)"
fi

finish
