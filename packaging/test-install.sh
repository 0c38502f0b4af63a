#!/bin/sh
# Checks `make install` / `make uninstall` into a staging DESTDIR: every
# file lands where mount(8), systemd, udev and man look for it, with the
# right mode; an existing /etc/sagafs.conf survives; uninstall removes
# exactly what install put there (a changed /etc/sagafs.conf is kept).
# Needs the built module and release binaries (`make` first).
# Usage: packaging/test-install.sh [make variables...]
set -u
cd "$(dirname "$0")/.." || exit 1
stage=$(mktemp -d /tmp/sagafs-install.XXXXXX)
trap 'rm -rf "$stage"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
mode_is() { [ "$(stat -c %a "$1" 2>/dev/null)" = "$2" ]; }

kver=${KVER:-testkver}
run_make() { make --no-print-directory -s "$@" DESTDIR="$stage" KVER="$kver" >"$stage.log" 2>&1; }

expected="
/lib/modules/$kver/updates/sagafs.ko 644
/usr/sbin/sagafs 755
/usr/sbin/mount.sagafs 755
/usr/sbin/sagafs-rules 755
/usr/share/man/man4/sagafs.4 644
/usr/share/man/man5/sagafs.5 644
/usr/share/man/man8/sagafs.8 644
/usr/share/man/man8/mount.sagafs.8 644
/usr/share/man/man8/sagafs-rules.8 644
/lib/systemd/system/sagafs.service 644
/lib/udev/rules.d/60-sagafs.rules 644
/usr/lib/modules-load.d/sagafs.conf 644
/etc/sagafs.conf 644"

if run_make install-files "$@"; then ok "install-files into DESTDIR"; else
	not_ok "install-files into DESTDIR: $(tail -n 3 "$stage.log")"; fi
echo "$expected" | while read -r path mode; do
	[ -n "$path" ] || continue
	if mode_is "$stage$path" "$mode"; then echo "ok - $path mode $mode"
	else echo "not ok - $path mode $mode (got $(stat -c %a "$stage$path" 2>&1))"; fi
done >"$stage.files"
cat "$stage.files"
pass=$((pass + $(grep -c '^ok' "$stage.files")))
fail=$((fail + $(grep -c '^not ok' "$stage.files")))
n_installed=$(find "$stage" -type f | wc -l)
n_expected=$(echo "$expected" | grep -c .)
check "exactly the $n_expected files listed installed (got $n_installed)" [ "$n_installed" -eq "$n_expected" ]
check "no depmod output in a DESTDIR install" [ ! -e "$stage/lib/modules/$kver/modules.dep" ]
check "example config is the shipped one" cmp -s packaging/sagafs.conf "$stage/etc/sagafs.conf"

echo "# changed by the administrator" >>"$stage/etc/sagafs.conf"
run_make install-files "$@"
check "reinstall keeps a changed /etc/sagafs.conf" grep -q '^# changed by the administrator' "$stage/etc/sagafs.conf"
check "reinstall says so" grep -q 'keeping the existing' "$stage.log"

run_make uninstall "$@"
left=$(find "$stage" -type f)
check "uninstall keeps only the changed config (left: $left)" [ "$left" = "$stage/etc/sagafs.conf" ]

cp packaging/sagafs.conf "$stage/etc/sagafs.conf"
run_make install-files "$@"
run_make uninstall "$@"
check "uninstall removes an unchanged config" [ -z "$(find "$stage" -type f)" ]

run_make install-files PREFIX=/usr/local "$@"
check "PREFIX moves man pages" [ -f "$stage/usr/local/share/man/man8/mount.sagafs.8" ]
check "PREFIX leaves mount.sagafs in /usr/sbin" [ -x "$stage/usr/sbin/mount.sagafs" ]
run_make uninstall PREFIX=/usr/local "$@"
check "uninstall with the same PREFIX removes everything" [ -z "$(find "$stage" -type f)" ]
rm -f "$stage.log" "$stage.files"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
