#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages, on the host:
#
#   packaging/test-deb.sh [--no-build]
#
# 1. make deb (target/deb) and the same build as version +test1
#    (target/deb-upgrade: the upgrade the boot VM installs over it);
# 2. lintian on the .changes (the .changes, .buildinfo and both packages)
#    reports no error and no warning;
# 3. the packages hold what they should: the files, modes and conffile
#    of sagafs (the same set as make install-userspace), the module's
#    source and dkms.conf in sagafs-dkms, the dependencies, maintainer
#    scripts that parse, programs that run, one version everywhere.
# Installing, upgrading, removing and purging them is tested in the boot
# VM (tests/vm/boot/run.sh --deb).  Ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
build=1
[ "${1:-}" = --no-build ] && build=0
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi; }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

out=target/deb
up=target/deb-upgrade
if [ "$build" = 1 ]; then
	start=$(date +%s)
	if make --no-print-directory deb >target/deb-build.log 2>&1; then
		ok "make deb ($(($(date +%s) - start)) s)"
	else
		not_ok "make deb: $(tail -n 20 target/deb-build.log)"
	fi
	start=$(date +%s)
	if make --no-print-directory deb DEB_OUT=$up DEB_VERSION_SUFFIX=+test1 >target/deb-build.log 2>&1; then
		ok "make deb DEB_OUT=$up DEB_VERSION_SUFFIX=+test1 ($(($(date +%s) - start)) s)"
	else
		not_ok "make deb with +test1: $(tail -n 20 target/deb-build.log)"
	fi
fi

# --- one version everywhere ------------------------------------------------
version=$(dpkg-parsechangelog -S Version)
cargo_version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
dkms_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
eq "debian/changelog, Cargo.toml and dkms.conf name one version" \
	"$version $version" "$cargo_version $dkms_version"

deb=$out/sagafs_${version}_amd64.deb
dkms=$out/sagafs-dkms_${version}_all.deb
changes=$out/sagafs_${version}_amd64.changes
eq "$out holds this build's two packages, .changes and .buildinfo" \
	"$(cd $out 2>/dev/null && ls -1 ./*.deb ./*.changes ./*.buildinfo 2>&1 | sort | tr '\n' ' ')" \
	"$(printf './%s\n' "sagafs-dkms_${version}_all.deb" "sagafs_${version}_amd64.deb" \
		"sagafs_${version}_amd64.buildinfo" "sagafs_${version}_amd64.changes" | sort | tr '\n' ' ')"
[ -f "$deb" ] && [ -f "$dkms" ] && [ -f "$changes" ] || { not_ok "no packages to test"; finish; }
for f in "$up/sagafs_${version}+test1_amd64.deb" "$up/sagafs-dkms_${version}+test1_all.deb"; do
	check "$f is built" test -f "$f"
done
check "$version+test1 is an upgrade of $version" dpkg --compare-versions "$version+test1" gt "$version"

# --- lintian ------------------------------------------------------------------
lintian_out=$(lintian --fail-on error,warning "$changes" 2>&1)
lintian_rc=$?
lintian_out=$(echo "$lintian_out" | grep -v '^running with root privileges is not recommended!$')
[ -z "$lintian_out" ] || echo "$lintian_out" | sed 's/^/#   /'
if [ $lintian_rc = 0 ] && ! echo "$lintian_out" | grep -q '^[EW]: '; then
	ok "lintian $(basename "$changes"): no error, no warning"
else
	not_ok "lintian $(basename "$changes") (exit $lintian_rc): $(echo "$lintian_out" | grep -c '^[EW]: ') errors and warnings"
fi
overrides=$(find debian -name '*lintian-overrides')
for f in $overrides; do
	# Every override has a comment right above it saying why.
	if awk '!/^#/ && NF && prev !~ /^#/ { bad = 1 } { prev = $0 } END { exit bad }' "$f"; then
		ok "each override in $f has its reason"
	else
		not_ok "an override in $f has no comment above it"
	fi
done

# --- sagafs: files, modes, conffile ----------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/sagafs"
dpkg-deb -e "$deb" "$work/sagafs.ctl"
expected="
/usr/sbin/sagafs 755
/usr/sbin/mount.sagafs 755
/usr/share/man/man4/sagafs.4.gz 644
/usr/share/man/man5/sagafs.5.gz 644
/usr/share/man/man8/sagafs.8.gz 644
/usr/share/man/man8/mount.sagafs.8.gz 644
/lib/systemd/system/sagafs.service 644
/lib/udev/rules.d/60-sagafs.rules 644
/usr/lib/modules-load.d/sagafs.conf 644
/etc/sagafs.conf 644
/usr/share/doc/sagafs/copyright 644
/usr/share/doc/sagafs/changelog.gz 644
/usr/share/doc/sagafs/README.md.gz 644"
got=$(cd "$work/sagafs" && find . ! -type d -printf '/%P %m\n' | sort)
eq "sagafs: exactly these files, these modes" "$got" "$(echo "$expected" | sed '/^$/d' | sort)"
# The same set as make install-userspace, whatever the programs are called.
make --no-print-directory -s install-userspace DESTDIR="$work/stage" RUST_OUT=target/deb-cargo/release \
	>/dev/null 2>&1 || not_ok "make install-userspace into a staging tree"
eq "sagafs ships what make install-userspace installs" \
	"$(cd "$work/sagafs" && find . ! -type d ! -path './usr/share/doc/*' -printf '/%P\n' | sed 's/\.gz$//' | sort)" \
	"$(cd "$work/stage" && find . ! -type d -printf '/%P\n' | sort)"
eq "/etc/sagafs.conf is the one conffile" "$(cat "$work/sagafs.ctl/conffiles" 2>&1)" /etc/sagafs.conf
check "/etc/sagafs.conf is packaging/sagafs.conf" cmp -s packaging/sagafs.conf "$work/sagafs/etc/sagafs.conf"
for f in sagafs mount.sagafs; do
	check "/usr/sbin/$f is stripped" sh -c "! readelf -S '$work/sagafs/usr/sbin/$f' | grep -q '\.symtab'"
done
check "sagafs --help runs" sh -c "'$work/sagafs/usr/sbin/sagafs' --help | grep -q '^Usage: sagafs'"
check "mount.sagafs runs (usage without arguments)" \
	sh -c "'$work/sagafs/usr/sbin/mount.sagafs' 2>&1 | grep -q 'usage: mount.sagafs'"
depends=$(dpkg-deb -f "$deb" Depends)
for d in kmod usr-is-merged libc6; do
	check "sagafs depends on $d ($depends)" sh -c "echo '$depends' | grep -qE '(^|, )$d( |,|$)'"
done
eq "sagafs recommends sagafs-dkms" "$(dpkg-deb -f "$deb" Recommends)" sagafs-dkms
for s in postinst prerm postrm; do
	check "sagafs $s parses (sh -n)" sh -n "$work/sagafs.ctl/$s"
done
# dh_installsystemd --no-enable --no-start: enabled only if the
# administrator enabled it before, never started.
check "postinst neither enables nor starts the unit" \
	sh -c "grep -q 'deb-systemd-helper debian-installed' '$work/sagafs.ctl/postinst' &&
		! grep -q 'deb-systemd-invoke' '$work/sagafs.ctl/postinst'"

# --- sagafs-dkms ----------------------------------------------------------------
dpkg-deb -x "$dkms" "$work/dkms"
dpkg-deb -e "$dkms" "$work/dkms.ctl"
src=/usr/src/sagafs-$dkms_version
make --no-print-directory -s install-dkms-source DESTDIR="$work/dkms-stage" >/dev/null 2>&1 ||
	not_ok "make install-dkms-source into a staging tree"
eq "sagafs-dkms: $src holds the module's source" \
	"$(cd "$work/dkms" && find ".$src" ! -type d | sort)" "$(cd "$work/dkms-stage" && find ".$src" ! -type d | sort)"
same=1
for f in $(cd "$work/dkms-stage" && find ".$src" -type f); do
	cmp -s "$work/dkms-stage/$f" "$work/dkms/$f" || { same=0; echo "# differs: $f"; }
done
check "every source file is the tree's" test $same = 1
eq "nothing outside $src and its doc directory" \
	"$(cd "$work/dkms" && find . ! -type d ! -path ".$src/*" -printf '/%P\n' | sort | tr '\n' ' ')" \
	"/usr/share/doc/sagafs-dkms/changelog.gz /usr/share/doc/sagafs-dkms/copyright "
check "sagafs-dkms depends on dkms ($(dpkg-deb -f "$dkms" Depends))" \
	sh -c "dpkg-deb -f '$dkms' Depends | grep -q '^dkms\\b'"
check "its postinst adds and builds sagafs/$dkms_version through DKMS" \
	grep -q "^DKMS_NAME=sagafs$" "$work/dkms.ctl/postinst"
check "its prerm removes it from DKMS and unloads the module" \
	sh -c "grep -q 'dkms remove' '$work/dkms.ctl/prerm' && grep -q 'rmmod sagafs' '$work/dkms.ctl/prerm'"
for s in postinst prerm; do
	check "sagafs-dkms $s parses (sh -n)" sh -n "$work/dkms.ctl/$s"
done
check "dkms.conf builds for every new kernel (AUTOINSTALL)" grep -qx 'AUTOINSTALL="yes"' "$work/dkms$src/dkms.conf"

finish
