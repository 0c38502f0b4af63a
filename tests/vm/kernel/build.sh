#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, once, the debug kernel the VM tests boot: Debian's linux-source
# tarball, allnoconfig, virtme-ng's fragment, then debug.config (KASAN,
# UBSAN, lockdep, PROVE_RCU, KFENCE, kmemleak, DEBUG_OBJECTS, fault
# injection, hang detectors, and what sagafs and the tests need).  The result is cached under a key made of every
# input (source package version, tarball, both config fragments, compiler,
# this recipe): an unchanged key reuses the kernel, a changed one builds
# anew.
#
# usage: tests/vm/kernel/build.sh [--key | --config]
#
# Prints progress on stderr and, on stdout, the cache directory holding:
#   vmlinuz       the kernel image to boot (tests/vm/run --kernel)
#   build/        the configured build tree (make -C kmod KDIR=DIR/build;
#                 it refers to the shared unpacked source, src-VERSION/)
#   release       the kernel release (uname -r in the guest)
#   build-time    how long the build took (wall and CPU seconds)
# --key prints the cache key and exits; --config stops after configuring
# and checking the options (for editing debug.config), printing the
# .config's path.
#
# SAGAFS_KERNEL_CACHE sets the cache root (default
# ${XDG_CACHE_HOME:-~/.cache}/sagafs/kernel, shared by every checkout on
# the machine).  Entries unused for 14 days are removed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Bump when the steps below change in a way the inputs do not show.
recipe=1

log() { echo "debug kernel: $*" >&2; }
die() {
	echo "debug kernel: $*" >&2
	exit 1
}

for tool in make gcc flex bison bc virtme-configkernel xz; do
	command -v "$tool" >/dev/null || die "$tool is missing: run 'make deps'"
done
[ -e /usr/include/libelf.h ] || die "libelf-dev is missing: run 'make deps'"
[ -e /usr/include/openssl/ssl.h ] || die "libssl-dev is missing: run 'make deps'"

tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1 || true)
[ -n "$tarball" ] || die "no /usr/src/linux-source-6.1.tar.*: apt-get install linux-source-6.1"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
vng_frag=$(virtme-configkernel --defconfig --dry-run)
[ -n "$vng_frag" ] || die "virtme-configkernel --dry-run printed nothing"

key=$({
	echo "recipe $recipe"
	echo "source $srcver $(stat -c '%s' "$tarball")"
	echo "$vng_frag"
	cat "$here/debug.config"
	gcc --version | head -n 1
} | sha256sum | cut -c1-16)
mode=${1:-build}
case "$mode" in
--key) echo "$key"; exit 0 ;;
--config | build) ;;
*) die "unknown argument '$mode' (usage: build.sh [--key | --config])" ;;
esac

root=${SAGAFS_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sagafs/kernel}
dir=$root/$key
mkdir -p "$root"
exec 8>"$root/$key.lock"
flock 8

if [ -f "$dir/ready" ]; then
	touch "$dir/ready"
	log "reusing $(cat "$dir/release") (key $key; built in $(cat "$dir/build-time"))"
	echo "$dir"
	exit 0
fi

# Old entries go first: each is a few GB.
find "$root" -mindepth 2 -maxdepth 2 -name ready -mtime +14 -printf '%h\n' |
	while read -r old; do
		log "removing $old (unused for 14 days)"
		rm -rf "$old" "$old.lock"
	done

# A build of this key that was interrupted resumes (make is incremental).
rm -f "$dir/vmlinuz" "$dir/release" "$dir/build-time"
mkdir -p "$dir/build"
find "$root" -mindepth 1 -maxdepth 1 -name 'src-*' ! -name "src-$srcver" -exec rm -rf {} +
jobs=$(nproc)
log "building (key $key): linux-source-6.1 $srcver, $jobs jobs; a fresh machine does this once"
start=$(date +%s)
tms0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)

# The unpacked source is shared by every key of this source version.
src=$root/src-$srcver
if [ ! -f "$src/.unpacked" ]; then
	log "unpacking $tarball"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.unpacked"
fi

kmake() { make -s -C "$src" O="$dir/build" "$@"; }
# allnoconfig with the fragments forced (later ones win symbol by symbol).
printf '%s\n' "$vng_frag" >"$dir/virtme.config"
(cd "$src" && env -u KCONFIG_CONFIG ARCH=x86 scripts/kconfig/merge_config.sh -n \
	-O "$dir/build" "$dir/virtme.config" "$here/debug.config") >"$dir/merge.log" 2>&1 ||
	{ cat "$dir/merge.log" >&2; die "merging the config fragments failed"; }

# Every option asked for must hold: kconfig drops what it cannot satisfy.
missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) sym=${line%%=*} ;;
	"# CONFIG_"*" is not set") sym=${line#\# } sym=${sym%% *} ;;
	*) continue ;;
	esac
	got=$(grep -E "^(# )?$sym[= ]" "$dir/build/.config" || true)
	case "$line" in
	"#"*) [ -z "$got" ] || [ "$got" = "$line" ] && continue ;;
	*) [ "$got" = "$line" ] && continue ;;
	esac
	log "option did not hold: $line (got: ${got:-unset})"
	missing=1
done <"$here/debug.config"
[ "$missing" = 0 ] || die "the config fragment does not apply to this source; fix tests/vm/kernel/debug.config"
if [ "$mode" = --config ]; then
	echo "$dir/build/.config"
	exit 0
fi

log "compiling ($(grep -c '=y$' "$dir/build/.config") options built in)"
if ! kmake -j"$jobs" bzImage modules >"$dir/make.log" 2>&1; then
	tail -n 40 "$dir/make.log" >&2
	die "the kernel build failed (log: $dir/make.log)"
fi
release=$(cat "$dir/build/include/config/kernel.release")
cp "$dir/build/arch/x86/boot/bzImage" "$dir/vmlinuz"
echo "$release" >"$dir/release"

# External modules need the configured tree, Module.symvers and scripts,
# not the kernel's own objects.
find "$dir/build" -name '*.o' ! -path '*/scripts/*' ! -path '*/tools/*' -delete
rm -f "$dir/build/vmlinux.a"

end=$(date +%s)
tms1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
cpu=$(((tms1 - tms0) / $(getconf CLK_TCK)))
wall=$((end - start))
printf '%dm%02ds wall, %dm%02ds CPU, %d jobs\n' $((wall / 60)) $((wall % 60)) \
	$((cpu / 60)) $((cpu % 60)) "$jobs" >"$dir/build-time"
touch "$dir/ready"
log "built $release in $(cat "$dir/build-time") ($dir)"
echo "$dir"
