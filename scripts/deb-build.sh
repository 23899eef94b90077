#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make deb`: build memwatch's Debian packages (debian/) with
# dpkg-buildpackage from a clean copy of this tree, check them with lintian,
# and leave them in build/deb/:
#
#   memwatch-dkms_VERSION_all.deb     the module's source, built by DKMS
#   memwatchctl_VERSION_amd64.deb     memwatchctl, its man page, completion
#   memwatch_VERSION.tar.xz, .dsc     the source package
#   memwatch_VERSION_amd64.changes, .buildinfo
#
#   deb-build.sh [-q]     -q: build log to build/deb/build.log, shown only
#                         on failure
#
# Install with `apt install ./build/deb/*.deb` (as root).
#
# lintian runs at its default level and fails the build on any error or
# warning (debian/*.lintian-overrides say why a tag is overridden).
#
# Exit status: 0 built and lintian clean, 1 build failed, 3 lintian found
# something, 4 a tool is missing (run scripts/setup.sh).

set -e

repo=$(cd "$(dirname "$0")/.." && pwd -P)
out=$repo/build/deb
quiet=
[ "$1" = -q ] && quiet=1

for t in dpkg-buildpackage dpkg-parsechangelog dh dh_dkms lintian; do
	if ! command -v "$t" >/dev/null; then
		echo "deb-build: $t is missing: run scripts/setup.sh (make setup) as root" >&2
		exit 4
	fi
done

cd "$repo"
version=$(dpkg-parsechangelog -S Version)
src=$out/memwatch-$version

# A copy of the tree as git sees it (tracked and new files, less what
# .gitignore lists: build outputs, build/), or, outside a git checkout,
# everything but build/ and kbuild's outputs. dpkg-buildpackage writes its
# results beside it, in build/deb/.
rm -rf "$out"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done | tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar -cf - --exclude=./build --exclude='*.o' --exclude='*.ko' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
		--exclude=modules.order --exclude=Module.symvers \
		--exclude=__pycache__ --exclude=./ctl/memwatchctl . |
		tar -xf - -C "$src"
fi

log=$out/build.log
# No -dbgsym package: `apt install ./build/deb/*.deb` installs what is here.
build() (
	cd "$src"
	DEB_BUILD_OPTIONS="noautodbgsym $DEB_BUILD_OPTIONS" dpkg-buildpackage --no-sign
)
echo "+ dpkg-buildpackage --no-sign (in build/deb/memwatch-$version)"
if [ -n "$quiet" ]; then
	build >"$log" 2>&1 || { cat "$log" >&2; echo "deb-build: dpkg-buildpackage failed" >&2; exit 1; }
else
	build || { echo "deb-build: dpkg-buildpackage failed" >&2; exit 1; }
fi
rm -rf "$src"

changes=$out/memwatch_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes
echo "+ lintian --fail-on error,warning ${changes#"$repo"/}"
# As root lintian says it would rather not be: true, and nothing to act on
# here (it only reads the files).
if ! lintian --fail-on error,warning "$changes" 2> >(grep -v '^running with root privileges is not recommended!$' >&2); then
	echo "deb-build: lintian found errors or warnings in build/deb (see above)" >&2
	exit 3
fi
echo "deb-build: built, lintian clean:"
for f in "$out"/*.deb; do
	echo "  ${f#"$repo"/}"
done
