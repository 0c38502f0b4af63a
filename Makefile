# sagafs: build, test, benchmark and install.
#
#   make            build the kernel module and the Rust binaries
#   make test       install what is missing, build, lint, run every test
#                   (host and VM) and print the counts
#   make bench      the benchmarks (one VM boot, ratios to a baseline)
#   make demo       build, load, mount /sagafs and show it working (in the
#                   test VM when this kernel cannot load modules)
#   make install    install (DESTDIR, PREFIX honoured); make uninstall
#   make deb        the Debian packages sagafs and sagafs-dkms, in
#                   target/deb (DEB_OUT=DIR, DEB_VERSION_SUFFIX=+x)

# The kernel to build for (kmod/kver.sh): the running one if its build
# tree is installed, else the newest generic-flavour tree (-amd64, never
# -rt-amd64 or -cloud-amd64 by surprise), else the newest tree.  KVER= or
# KDIR= override; the module build prints which tree it used and why.
ifeq ($(origin KVER),command line)
KVER_WHY := KVER=
else ifneq ($(KVER),)
KVER_WHY ?= KVER=
else ifneq ($(KDIR),)
KVER := $(firstword $(shell kmod/kver.sh $(KDIR)))
KVER_WHY := KDIR=
else
kver_pick := $(shell kmod/kver.sh)
KVER := $(firstword $(kver_pick))
KVER_WHY := $(wordlist 2,99,$(kver_pick))
endif
export KVER KVER_WHY

CARGO ?= cargo

.PHONY: all module rust deps lint test test-host test-vm bench demo deb clean

all: module rust

module:
	$(MAKE) -C kmod KVER=$(KVER) KVER_WHY="$(KVER_WHY)"

rust:
	$(CARGO) build --release --workspace --locked

deps:
	tests/deps.sh

lint: deps
	tests/lint.sh

test: deps
	tests/test.sh

bench: deps all
	tests/bench/run.sh

demo: deps all
	tests/demo.sh

DEB_OUT ?= target/deb
DEB_VERSION_SUFFIX ?=
deb:
	packaging/build-deb.sh --out $(DEB_OUT) --version-suffix "$(DEB_VERSION_SUFFIX)"

clean:
	$(MAKE) -C kmod clean
	$(CARGO) clean

-include mk/install.mk
