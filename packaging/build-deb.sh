#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the Debian packages (what `make deb` runs):
#
#   packaging/build-deb.sh [--out DIR] [--version-suffix SUFFIX]
#
# Copies the source tree (the files git tracks or would track; every file
# but target/ outside a git checkout) to target/deb-build/sagafs/, runs
# `dpkg-buildpackage -us -uc -b` there and leaves in DIR (default
# target/deb) exactly this build's sagafs_*.deb, sagafs-dkms_*.deb,
# .changes and .buildinfo, and build.log.  Cargo's output is kept in
# target/deb-cargo between runs (the copy's path never changes, so cargo
# rebuilds only what changed).  --version-suffix adds a changelog entry
# VERSION+SUFFIX in the copy (e.g. +test1: an upgrade of the plain build).
#
# Installs missing build dependencies (apt-get build-dep) when run as
# root; reads no input.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/target/deb
suffix=

die() {
	echo "build-deb: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--version-suffix) suffix=$2; shift 2 ;;
	-h | --help) sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[[ "$suffix" =~ ^([+~][A-Za-z0-9.+~]*)?$ ]] ||
	die "--version-suffix '$suffix': start it with + or ~ and use letters, digits, '.', '+', '~'"
mkdir -p "$out"
out=$(cd "$out" && pwd)
export DEBIAN_FRONTEND=noninteractive

command -v dpkg-buildpackage >/dev/null 2>&1 || missing_tools=1
if [ -n "${missing_tools:-}" ] || ! (cd "$repo" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] ||
		die "build dependencies missing ($(cd "$repo" && dpkg-checkbuilddeps 2>&1 | sed 's/.*: //')): run 'sudo apt-get build-dep $repo'"
	echo "build-deb: installing the build dependencies"
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends dpkg-dev build-essential </dev/null >/dev/null
	(cd "$repo" && apt-get build-dep -y -q ./ </dev/null >/dev/null) ||
		die "apt-get build-dep failed"
fi

version=$(cd "$repo" && dpkg-parsechangelog -S Version)
build=$repo/target/deb-build
src=$build/sagafs
mkdir -p "$build"
exec 9>"$build.lock"
flock -w 600 9 || die "another build holds $build.lock"
rm -rf "$build"
mkdir -p "$src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done | tar --null -T - -cf -) | tar -C "$src" -xf -
else
	tar -C "$repo" --exclude=./target --exclude-vcs -cf - . | tar -C "$src" -xf -
fi

if [ -n "$suffix" ]; then
	maint=$(cd "$repo" && dpkg-parsechangelog -S Maintainer)
	{
		printf 'sagafs (%s) unstable; urgency=medium\n\n' "$version$suffix"
		printf '  * Rebuild of %s as %s (packaging/build-deb.sh --version-suffix).\n\n' \
			"$version" "$version$suffix"
		# The same date: SOURCE_DATE_EPOCH, and so the build, stays the same.
		printf ' -- %s  %s\n\n' "$maint" "$(cd "$repo" && dpkg-parsechangelog -S Date)"
		cat "$repo/debian/changelog"
	} >"$src/debian/changelog"
fi

rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
log=$out/build.log
echo "build-deb: dpkg-buildpackage -us -uc -b in $src (log: $log)"
if ! (cd "$src" && CARGO_TARGET_DIR="$repo/target/deb-cargo" \
	dpkg-buildpackage -us -uc -b </dev/null) >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "dpkg-buildpackage failed (log: $log)"
fi
mv "$build"/*.deb "$build"/*.changes "$build"/*.buildinfo "$out/"
rm -rf "$build"
ls -1 "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
