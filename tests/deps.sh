#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing sagafs needs on a Debian 12 machine:
# the Debian kernel and its headers (the VM tests boot it), the PREEMPT_RT
# kernel and headers (a second kernel for the kmod suite), what building
# the debug kernel needs (linux-source-6.1, flex, bison, libelf, libssl),
# QEMU from bookworm-backports, sparse, mandoc, FUSE, the Debian packaging
# tools (debhelper, dh-dkms, lintian), clang and libbpf's headers (the BPF
# backend), and virtme-ng from PyPI.  Safe to run again: it does nothing
# when everything is present.
#
# QEMU must be 8 or newer: Debian 12's own QEMU 7.2 livelocks guests under
# multi-threaded TCG in the kernel's text_poke_bp (see tests/vm/README).
# On bookworm this adds a bookworm-backports source for the Debian mirror
# apt already uses, unless one is configured.
set -euo pipefail

packages=(
	build-essential
	linux-image-amd64 linux-headers-amd64
	linux-image-rt-amd64 linux-headers-rt-amd64
	linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils
	busybox-static kmod udev
	sparse mandoc fuse3 jq
	trace-cmd dkms
	debhelper dh-dkms lintian
	rsyslog rsyslog-relp rsyslog-gnutls openssl systemd
	python3-pip
	# The BPF backend: clang compiles bpf/ (headers from libbpf-dev);
	# libbpf-sys builds its vendored libbpf against libelf and zlib.
	clang libbpf-dev libelf-dev zlib1g-dev pkg-config
)
qemu_min=8

as_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps: $1 and not root: run 'sudo make deps'" >&2
		exit 1
	fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

apt_updated=0
apt_update() {
	[ "$apt_updated" = 1 ] && return 0
	apt-get update -q
	apt_updated=1
}
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	as_root "missing packages (${missing[*]})"
	echo "deps: installing ${missing[*]}"
	apt_update
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- QEMU, from bookworm-backports on Debian 12 ---------------------------
qemu_major() {
	local v
	installed qemu-system-x86 || { echo 0; return; }
	v=$(dpkg-query -W -f='${Version}' qemu-system-x86)
	v=${v#*:}
	echo "${v%%.*}"
}

# The Debian mirror apt already uses: deb822 "URIs:" or one-line "deb".
debian_mirror() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n -E -e 's/^URIs:[[:space:]]*//p' \
			-e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//p' |
		tr ' ' '\n' | grep -E '^(https?|file)://.*/debian/?$' | head -n 1 || true
}

has_backports() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -v '^[[:space:]]*#' | grep -q -E "(^|[[:space:]])$1-backports([[:space:]]|$)"
}

if [ "$(qemu_major)" -lt "$qemu_min" ]; then
	as_root "QEMU $qemu_min or newer is needed (found major version $(qemu_major))"
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	target=()
	if [ "$codename" = bookworm ]; then
		if ! has_backports bookworm; then
			mirror=$(debian_mirror)
			[ -n "$mirror" ] || { echo "deps: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }
			file=/etc/apt/sources.list.d/bookworm-backports.sources
			echo "deps: adding bookworm-backports from $mirror ($file)"
			printf '%s\n' 'Types: deb' "URIs: $mirror" 'Suites: bookworm-backports' \
				'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$file"
			apt_updated=0
		fi
		target=(-t bookworm-backports)
	fi
	echo "deps: installing qemu-system-x86 ${target[*]}"
	apt_update
	apt-get install -y -q --no-install-recommends "${target[@]}" qemu-system-x86
	[ "$(qemu_major)" -ge "$qemu_min" ] ||
		{ echo "deps: qemu-system-x86 is still older than $qemu_min" >&2; exit 1; }
fi

if ! command -v vng >/dev/null 2>&1; then
	echo "deps: installing virtme-ng from PyPI"
	python3 -m pip install --quiet virtme-ng ||
		python3 -m pip install --quiet --break-system-packages virtme-ng
	hash -r
fi
command -v vng >/dev/null || { echo "deps: vng still not on PATH after pip install" >&2; exit 1; }

if ! command -v cargo >/dev/null 2>&1; then
	echo "deps: cargo not found: this project builds with the machine's Rust toolchain (rustup)" >&2
	exit 1
fi

# checkpatch.pl ships in the kernel source tarball, not in the headers.
tools=target/tools
if [ ! -x "$tools/scripts/checkpatch.pl" ]; then
	src=$(ls /usr/src/linux-source-*.tar.xz | sort -V | tail -n 1)
	mkdir -p "$tools"
	tar -xJf "$src" -C "$tools" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
fi
echo "deps: ok (qemu $(dpkg-query -W -f='${Version}' qemu-system-x86))"
