// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection on the module's paths, run as root in the debug kernel
 * (tests/vm/fault/run-in-guest.sh sets up the fault attributes and runs
 * it with sagafs.ko loaded):
 *
 *   fault KO
 *
 * For each path (loading KO, open, SET_CONFIG, enabling and disabling
 * capture, mmap of the control and data areas, resizing the rings,
 * GET_STATS, RESET_STATS) the Nth fault injection point the call
 * reaches fails, for N = 1, 2, ... until the call completes without
 * reaching the Nth: /proc/thread-self/fail-nth
 * fails exactly the Nth slab allocation, page allocation or user copy
 * of this thread, whoever makes it (the module, the kernel on its
 * behalf).  After each injected failure the call must have reported an
 * error (or absorbed the failure and succeeded), and the device must be
 * exactly as before the call (configuration, geometry, consumer) and
 * still work; at the end of each path a marked workload must be logged
 * exactly.  Leaks are left to kmemleak (the wrapper scans).
 *
 * Prints one TAP line per path with its figures, and "N passed, M failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ring.h"

#define MAX_N 20000
#define MARKED 200

static int fail_fd = -1;
static int nr_tap, nr_tap_failed;
static const char *ko_path;

static void tap(int good, const char *fmt, ...)
{
	va_list ap;

	nr_tap++;
	if (!good)
		nr_tap_failed++;
	printf("%s %d - ", good ? "ok" : "not ok", nr_tap);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ---- fail-nth ---- */

static void arm(int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%d", n);

	if (pwrite(fail_fd, b, len, 0) != len) {
		printf("Bail out! writing fail-nth: %s\n", strerror(errno));
		exit(1);
	}
}

/*
 * Whether the armed failure was injected (fail-nth reads 0), then
 * disarm.  Reading copies to user space: if the count had not run out,
 * that copy may itself be the Nth point and fail, which also means it
 * was not injected into the call.
 */
static int injected(void)
{
	char b[16] = "";
	ssize_t r = pread(fail_fd, b, sizeof(b) - 1, 0);

	arm(0);
	return r == 2 && b[0] == '0' && b[1] == '\n';
}

/* ---- module ---- */

static int module_loaded(void)
{
	return access("/sys/module/sagafs", F_OK) == 0;
}

static int load(void)
{
	int fd = open(ko_path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return r;
}

static int unload(void)
{
	int k;

	for (k = 0; k < 100; k++) {
		if (!syscall(SYS_delete_module, "sagafs", O_NONBLOCK))
			return 0;
		if (errno != EAGAIN && errno != EBUSY)
			return -1;
		usleep(20000);
	}
	return -1;
}

/* ---- device state ---- */

struct state {
	struct sagafs_config cfg;
	struct sagafs_info info;
};

static int snapshot(int fd, struct state *s)
{
	if (sg_get_config(fd, &s->cfg) || sg_get_info(fd, &s->info))
		return -1;
	return 0;
}

static const char *state_diff(const struct state *a, const struct state *b)
{
	if (memcmp(&a->cfg, &b->cfg, sizeof(a->cfg)))
		return "the configuration changed";
	if (a->info.ring_size != b->info.ring_size ||
	    a->info.data_len != b->info.data_len ||
	    a->info.ctrl_len != b->info.ctrl_len)
		return "the ring geometry changed";
	if (a->info.consumer_pid != b->info.consumer_pid)
		return "the consumer changed";
	return NULL;
}

/* A quick health check: queries answer and agree with each other. */
static const char *healthy(void)
{
	struct state s;
	int fd = open(DEV, O_RDWR);
	const char *bad = NULL;

	if (fd < 0)
		return "the device cannot be opened";
	if (snapshot(fd, &s))
		bad = "GET_CONFIG/GET_INFO fail";
	else if (s.info.ring_size != (__u64)s.cfg.ring_kb * 1024)
		bad = "GET_INFO's ring size disagrees with GET_CONFIG's ring_kb";
	else if (s.info.consumer_pid)
		bad = "a consumer is left behind";
	close(fd);
	return bad;
}

/* ---- the paths ---- */

struct ctx {
	int fd;			/* an open device file */
	struct sagafs_config base;	/* capture off, default size */
	void *map;
	size_t map_len;
};

struct path {
	const char *name;
	/* before each attempt: bring the device to the starting state */
	int (*setup)(struct ctx *c);
	/* the call under test; -1 with errno on failure */
	int (*call)(struct ctx *c);
	/* after a successful call: back to the starting state */
	void (*undo)(struct ctx *c);
};

static int setup_base(struct ctx *c)
{
	struct sagafs_config cfg = c->base;

	return sg_set_config_retry(c->fd, &cfg);
}

static int setup_enabled(struct ctx *c)
{
	struct sagafs_config cfg = c->base;

	cfg.flags |= SAGAFS_CFG_ENABLED;
	return sg_set_config_retry(c->fd, &cfg);
}

static void undo_base(struct ctx *c)
{
	setup_base(c);
}

static int call_open(struct ctx *c __attribute__((unused)))
{
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int call_set_filters(struct ctx *c)
{
	struct sagafs_config cfg = c->base;
	int k;

	cfg.snaplen = 1024;
	cfg.result = SAGAFS_RESULT_FAILURE;
	cfg.nr_pids = SAGAFS_MAX_IDS;
	cfg.nr_exclude_uids = 3;
	cfg.nr_comms = SAGAFS_MAX_COMMS;
	for (k = 0; k < SAGAFS_MAX_IDS; k++)
		cfg.pids[k] = 1000 + k;
	for (k = 0; k < 3; k++)
		cfg.exclude_uids[k] = 100 + k;
	for (k = 0; k < SAGAFS_MAX_COMMS; k++)
		snprintf(cfg.comms[k], SAGAFS_COMM_LEN, "comm%d", k);
	memset(cfg.exclude_syscalls, 0x55, sizeof(cfg.exclude_syscalls));
	return ioctl(c->fd, SAGAFS_IOC_SET_CONFIG, &cfg);
}

static int call_enable_config(struct ctx *c)
{
	struct sagafs_config cfg = c->base;

	cfg.flags |= SAGAFS_CFG_ENABLED;
	return ioctl(c->fd, SAGAFS_IOC_SET_CONFIG, &cfg);
}

static int call_disable_config(struct ctx *c)
{
	return ioctl(c->fd, SAGAFS_IOC_SET_CONFIG, &c->base);
}

static int call_resize(struct ctx *c)
{
	struct sagafs_config cfg = c->base;

	cfg.ring_kb = c->base.ring_kb == 64 ? 128 : 64;
	return ioctl(c->fd, SAGAFS_IOC_SET_CONFIG, &cfg);
}

static int call_resize_enable(struct ctx *c)
{
	struct sagafs_config cfg = c->base;

	cfg.ring_kb = c->base.ring_kb == 64 ? 128 : 64;
	cfg.flags |= SAGAFS_CFG_ENABLED;
	return ioctl(c->fd, SAGAFS_IOC_SET_CONFIG, &cfg);
}

/* Each mmap gets a fresh file: the consumer is the file, until released. */
static int setup_fresh_file(struct ctx *c)
{
	if (setup_base(c))
		return -1;
	close(c->fd);
	c->fd = open(DEV, O_RDWR);
	return c->fd < 0 ? -1 : 0;
}

static int call_mmap(struct ctx *c, int data)
{
	struct sagafs_info i;

	if (sg_get_info(c->fd, &i))
		return -1;
	c->map_len = data ? i.data_len : i.ctrl_len;
	c->map = mmap(NULL, c->map_len, data ? PROT_READ : PROT_READ | PROT_WRITE,
		      MAP_SHARED, c->fd, data ? i.data_offset : i.ctrl_offset);
	return c->map == MAP_FAILED ? -1 : 0;
}

static int call_mmap_ctrl(struct ctx *c)
{
	return call_mmap(c, 0);
}

static int call_mmap_data(struct ctx *c)
{
	return call_mmap(c, 1);
}

static void undo_mmap(struct ctx *c)
{
	munmap(c->map, c->map_len);
	close(c->fd);
	c->fd = open(DEV, O_RDWR);
}

static int call_stats(struct ctx *c)
{
	static struct sagafs_counts slots[SAGAFS_NR_ABIS * SAGAFS_NR_SLOTS];
	static struct sagafs_cpu_stats cpus[256];
	struct sagafs_stats st;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.cpus = (uintptr_t)cpus;
	st.nr_cpus = 256;
	st.syscalls = (uintptr_t)slots;
	st.nr_slots = SAGAFS_NR_SLOTS;
	return ioctl(c->fd, SAGAFS_IOC_GET_STATS, &st);
}

static int call_reset(struct ctx *c)
{
	return ioctl(c->fd, SAGAFS_IOC_RESET_STATS);
}

static const struct path paths[] = {
	{ "open", setup_base, call_open, NULL },
	{ "SET_CONFIG (filters)", setup_base, call_set_filters, undo_base },
	{ "SET_CONFIG enabling capture", setup_base, call_enable_config, undo_base },
	{ "SET_CONFIG disabling capture", setup_enabled, call_disable_config, undo_base },
	{ "ring resize", setup_base, call_resize, undo_base },
	{ "ring resize and enable at once", setup_base, call_resize_enable, undo_base },
	{ "mmap of the control area", setup_fresh_file, call_mmap_ctrl, undo_mmap },
	{ "mmap of the data area", setup_fresh_file, call_mmap_data, undo_mmap },
	{ "GET_STATS", setup_base, call_stats, NULL },
	{ "RESET_STATS", setup_base, call_reset, NULL },
};

/* Counts of one path's sweep. */
struct sweep {
	int points, failed, absorbed, bad;
	int errnos[134];
	char first_bad[256];
};

static void note_bad(struct sweep *w, int n, const char *what)
{
	if (!w->bad++)
		snprintf(w->first_bad, sizeof(w->first_bad), "N=%d: %s", n, what);
	printf("#   N=%d: %s\n", n, what);
}

static void print_sweep(const char *name, const struct sweep *w, int done)
{
	char errs[256] = "";
	size_t o = 0;
	int e;

	for (e = 0; e < 134; e++)
		if (w->errnos[e])
			o += snprintf(errs + o, sizeof(errs) - o, "%s%s %d",
				      o ? ", " : "", strerrorname_np(e) ?: "?", w->errnos[e]);
	tap(done && !w->bad,
	    "%s: %d injection points, each failed in turn: %d errors (%s), %d absorbed%s%s",
	    name, w->points, w->failed, o ? errs : "none", w->absorbed,
	    w->bad ? "; first problem: " : (done ? "" : "; the sweep did not finish"),
	    w->bad ? w->first_bad : "");
}

/* The marked workload: the device still logs exactly. */
static int works(struct ctx *c, const char *after)
{
	struct marked_result res;

	if (marked_run(c->fd, MARKED, "sgfault-mark", &res) ||
	    res.once != MARKED || res.found != MARKED || res.dropped || res.st.malformed) {
		printf("#   after %s: the marked workload was not logged exactly\n", after);
		return 0;
	}
	return 1;
}

static int sweep_path(struct ctx *c, const struct path *p)
{
	struct sweep w = { 0 };
	struct state before, after;
	const char *why;
	int n, r, err, inj, done = 0;

	for (n = 1; n <= MAX_N; n++) {
		if (p->setup(c) || snapshot(c->fd, &before)) {
			note_bad(&w, n, "could not set up the starting state");
			break;
		}
		arm(n);
		r = p->call(c);
		err = errno;
		inj = injected();
		if (!inj) {
			/* fewer than n points: the call ran clean */
			if (r) {
				char m[128];

				snprintf(m, sizeof(m), "without any injected failure the call failed: %s",
					 strerror(err));
				note_bad(&w, n, m);
			} else if (p->undo) {
				p->undo(c);
			}
			w.points = n - 1;
			done = 1;
			break;
		}
		if (r) {
			w.failed++;
			if (err > 0 && err < 134)
				w.errnos[err]++;
			if (err == 0 || err == ENOTTY || err == EINVAL)
				note_bad(&w, n, "failed with an errno that blames the caller");
			if (snapshot(c->fd, &after))
				note_bad(&w, n, "GET_CONFIG/GET_INFO fail after the failure");
			else if ((why = state_diff(&before, &after)))
				note_bad(&w, n, why);
		} else {
			w.absorbed++;
			if (p->undo)
				p->undo(c);
		}
		if ((why = healthy()))
			note_bad(&w, n, why);
		if (w.bad > 5)
			break;
	}
	if (!works(c, p->name))
		note_bad(&w, n, "the device no longer logs a marked workload exactly");
	print_sweep(p->name, &w, done);
	return 0;
}

/* Loading the module: every failure leaves no module and no device. */
static void sweep_load(void)
{
	struct sweep w = { 0 };
	int n, r, err, inj, done = 0;

	for (n = 1; n <= MAX_N; n++) {
		if (module_loaded() && unload()) {
			note_bad(&w, n, "cannot unload the module");
			break;
		}
		arm(n);
		r = load();
		err = errno;
		inj = injected();
		if (!inj) {
			if (r) {
				char m[128];

				snprintf(m, sizeof(m), "without any injected failure the load failed: %s",
					 strerror(err));
				note_bad(&w, n, m);
			}
			w.points = n - 1;
			done = 1;
			break;
		}
		if (r) {
			w.failed++;
			if (err > 0 && err < 134)
				w.errnos[err]++;
			if (module_loaded())
				note_bad(&w, n, "the failed load left the module loaded");
			if (access(DEV, F_OK) == 0)
				note_bad(&w, n, "the failed load left the device node");
			/* a clean load right after: nothing half-registered */
			if (load())
				note_bad(&w, n, "the module does not load again after the failure");
			else if (healthy())
				note_bad(&w, n, "the module loaded again after the failure does not work");
		} else {
			w.absorbed++;
			if (healthy())
				note_bad(&w, n, "the module loaded despite the failure does not work");
		}
		if (w.bad > 5)
			break;
	}
	if (!module_loaded() && load())
		note_bad(&w, n, "cannot load the module at the end");
	print_sweep("module load", &w, done);
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	size_t k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: fault KO\n");
		return 2;
	}
	ko_path = argv[1];
	fail_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fail_fd < 0) {
		printf("Bail out! /proc/thread-self/fail-nth: %s (a kernel with CONFIG_FAULT_INJECTION?)\n",
		       strerror(errno));
		return 1;
	}

	sweep_load();
	c.fd = open(DEV, O_RDWR);
	if (c.fd < 0 || sg_get_config(c.fd, &c.base)) {
		printf("Bail out! %s after the load sweep: %s\n", DEV, strerror(errno));
		return 1;
	}
	c.base.flags = 0;
	if (!works(&c, "the load sweep"))
		tap(0, "the device works after the load sweep");
	for (k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
		sweep_path(&c, &paths[k]);
	close(c.fd);
	printf("1..%d\n", nr_tap);
	printf("%d passed, %d failed\n", nr_tap - nr_tap_failed, nr_tap_failed);
	return nr_tap_failed ? 1 : 0;
}
