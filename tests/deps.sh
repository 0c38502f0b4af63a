#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing sagafs needs on a Debian 12 machine:
# the Debian kernel and its headers (the VM tests boot it), QEMU, sparse,
# mandoc, FUSE, and virtme-ng from PyPI.  Safe to run again: it does
# nothing when everything is present.
set -euo pipefail

packages=(
	build-essential
	linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static kmod udev
	sparse mandoc fuse3 jq
	trace-cmd dkms
	rsyslog rsyslog-relp rsyslog-gnutls openssl systemd
	python3-pip
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages (${missing[*]}) and not root: run 'sudo make deps'" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v vng >/dev/null 2>&1; then
	echo "deps: installing virtme-ng from PyPI"
	python3 -m pip install --quiet virtme-ng || \
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
echo "deps: ok"
