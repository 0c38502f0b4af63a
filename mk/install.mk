# sagafs: install and uninstall, included by the top Makefile (which
# provides KVER and the `module` and `rust` targets).
#
#   make install [DESTDIR=/staging] [PREFIX=/usr]
#   make uninstall [DESTDIR=...] [PREFIX=...]
#
# install-files installs what is built (install-module, then
# install-userspace: everything but the module); install-dkms-source puts
# the module's source and dkms.conf in /usr/src/sagafs-VERSION.  The
# Debian packages (debian/rules) use install-userspace and
# install-dkms-source.
#
# The daemon and mount.sagafs always go to /usr/sbin (SBINDIR): mount(8)
# looks for /sbin/mount.TYPE with PATH cleared, and sagafs.service and
# mount.sagafs name /usr/sbin/sagafs.  PREFIX moves the man pages only.
# depmod runs only when DESTDIR is empty (a staging tree is left to the
# package's own scripts).  An existing /etc/sagafs.conf is never
# overwritten, and uninstall removes it only while it is still the shipped
# example: a changed one is kept.

DESTDIR ?=
PREFIX ?= /usr
SBINDIR ?= /usr/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
UDEVRULESDIR ?= /lib/udev/rules.d
MODULESLOADDIR ?= /usr/lib/modules-load.d
MODDIR ?= /lib/modules/$(KVER)/updates
RUST_OUT ?= target/release
INSTALL ?= install
DEPMOD ?= /sbin/depmod
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
DKMS_SRCDIR ?= /usr/src/sagafs-$(DKMS_VERSION)
# The module's own sources, not what a build left next to them (*.mod.c).
DKMS_SOURCES := kmod/Makefile kmod/Kbuild kmod/dkms.conf \
	$(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)

SAGAFS_MAN4 := man/sagafs.4
SAGAFS_MAN5 := man/sagafs.5
SAGAFS_MAN8 := man/sagafs.8 man/mount.sagafs.8

.PHONY: install install-files install-module install-userspace install-dkms-source uninstall

install: module rust
	$(MAKE) --no-print-directory install-files

install-files: install-module install-userspace
	@if [ -z "$(DESTDIR)" ]; then \
		echo "$(DEPMOD) -a $(KVER)"; $(DEPMOD) -a $(KVER) || exit 1; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi; \
		if command -v udevadm >/dev/null 2>&1; then udevadm control --reload-rules 2>/dev/null || true; fi; \
	fi

install-module:
	@test -n "$(KVER)" || { echo "install: KVER is empty; set KVER=<kernel version>" >&2; exit 1; }
	$(INSTALL) -D -m 0644 kmod/sagafs.ko $(DESTDIR)$(MODDIR)/sagafs.ko

install-userspace:
	$(INSTALL) -D -m 0755 $(RUST_OUT)/sagafs $(DESTDIR)$(SBINDIR)/sagafs
	$(INSTALL) -D -m 0755 $(RUST_OUT)/mount-sagafs $(DESTDIR)$(SBINDIR)/mount.sagafs
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man4 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0644 $(SAGAFS_MAN4) $(DESTDIR)$(MANDIR)/man4/
	$(INSTALL) -m 0644 $(SAGAFS_MAN5) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(SAGAFS_MAN8) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -D -m 0644 packaging/systemd/sagafs.service $(DESTDIR)$(UNITDIR)/sagafs.service
	$(INSTALL) -D -m 0644 packaging/udev/60-sagafs.rules $(DESTDIR)$(UDEVRULESDIR)/60-sagafs.rules
	$(INSTALL) -D -m 0644 packaging/modules-load.d/sagafs.conf $(DESTDIR)$(MODULESLOADDIR)/sagafs.conf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sagafs.conf ]; then \
		echo "install: keeping the existing $(DESTDIR)$(SYSCONFDIR)/sagafs.conf"; \
	else \
		echo "$(INSTALL) -D -m 0644 packaging/sagafs.conf $(DESTDIR)$(SYSCONFDIR)/sagafs.conf"; \
		$(INSTALL) -D -m 0644 packaging/sagafs.conf $(DESTDIR)$(SYSCONFDIR)/sagafs.conf; \
	fi

install-dkms-source:
	@test -n "$(DKMS_VERSION)" || { echo "install: no PACKAGE_VERSION in kmod/dkms.conf" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(DKMS_SRCDIR)/include/uapi
	$(INSTALL) -m 0644 $(DKMS_SOURCES) $(DESTDIR)$(DKMS_SRCDIR)/
	$(INSTALL) -m 0644 kmod/include/uapi/sagafs.h $(DESTDIR)$(DKMS_SRCDIR)/include/uapi/

uninstall:
	rm -f $(DESTDIR)$(MODDIR)/sagafs.ko
	rm -f $(DESTDIR)$(SBINDIR)/sagafs $(DESTDIR)$(SBINDIR)/mount.sagafs
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man4/,$(notdir $(SAGAFS_MAN4)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(SAGAFS_MAN5)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(SAGAFS_MAN8)))
	rm -f $(DESTDIR)$(UNITDIR)/sagafs.service
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-sagafs.rules
	rm -f $(DESTDIR)$(MODULESLOADDIR)/sagafs.conf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/sagafs.conf ]; then \
		if cmp -s packaging/sagafs.conf $(DESTDIR)$(SYSCONFDIR)/sagafs.conf; then \
			echo "rm -f $(DESTDIR)$(SYSCONFDIR)/sagafs.conf"; \
			rm -f $(DESTDIR)$(SYSCONFDIR)/sagafs.conf; \
		else \
			echo "uninstall: keeping $(DESTDIR)$(SYSCONFDIR)/sagafs.conf (changed since install)"; \
		fi; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
		if [ -n "$(KVER)" ] && [ -d /lib/modules/$(KVER) ]; then echo "$(DEPMOD) -a $(KVER)"; $(DEPMOD) -a $(KVER) || true; fi; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi; \
	fi
