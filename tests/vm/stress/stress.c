// SPDX-License-Identifier: GPL-2.0
/*
 * Stress test of /dev/sagafs, run as root in the test VM with sagafs.ko
 * loaded (tests/vm/stress/run-in-guest.sh runs it):
 *
 *   stress [--seconds N] [--marked N]
 *	for N seconds (default 60), many threads at once hammer the device:
 *	SET_CONFIG with valid and invalid configurations (bad values, sizes
 *	and pointers), capture on/off, the retired ENABLE/DISABLE requests,
 *	RESET_STATS, mmap/munmap with odd geometry and protections,
 *	hostile tails and junk written into the
 *	control pages, GET_STATS/GET_INFO/GET_CONFIG into bad and read-only
 *	memory, poll, open/close churn, and a consumer that drains the rings
 *	and checks every record's framing.  Meanwhile other threads make
 *	system calls with bad and page-straddling path pointers (some
 *	rewritten while the call runs), 32-bit and out-of-range calls,
 *	execve (successful and failing) and thread and process churn.
 *	Afterwards a marked workload of N openat calls (default 1000) must
 *	be logged exactly: every marked path once, nothing dropped.
 *   stress --workload SECONDS
 *	only the system call workload (0: until killed)
 *   stress --cycle
 *	one consumer round: SET_CONFIG with capture on, map the rings,
 *	drain them, check the framing, close
 *
 * Prints the figures and TAP lines, ending with "N passed, M failed".
 * Written against the ioctl interface generically: the geometry comes
 * from GET_INFO, records are walked by their size field, and marked
 * records are found by their path bytes, whatever the record layout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ring.h"

#define MARK_COMM "sgstress-mark"
#define MAX_CPUS 256

static long page;
static atomic_int stop;
static int nr_tap, nr_tap_failed;

/* ---- figures ---- */

enum fig {
	F_CFG_VALID, F_CFG_VALID_OK, F_CFG_VALID_BUSY,
	F_CFG_INVALID, F_CFG_BADPTR, F_GET_BADPTR,
	F_ENABLE, F_DISABLE, F_RETIRED, F_RESET,
	F_MMAP, F_MMAP_OK, F_MMAP_BUSY, F_MMAP_REFUSED, F_TAILS, F_FORKS_MAPPED,
	F_STATS, F_STATS_EFAULT, F_POLL, F_POLL_READY, F_OPENS,
	F_CONSUMER_MAPS, F_RECORDS, F_PADS, F_UNKNOWN, F_BAD_RECORDS,
	F_SYSCALLS, F_BADPTR_CALLS, F_I386_CALLS, F_EXEC_OK, F_EXEC_FAIL,
	F_FORKS, F_THREADS, F_UNEXPECTED,
	F_NR
};

static const char *const fig_name[F_NR] = {
	[F_CFG_VALID] = "set_config valid", [F_CFG_VALID_OK] = "  applied",
	[F_CFG_VALID_BUSY] = "  busy (ring_kb while in use)",
	[F_CFG_INVALID] = "set_config invalid (all refused)",
	[F_CFG_BADPTR] = "set_config bad pointer/size",
	[F_GET_BADPTR] = "get_* into bad or read-only memory",
	[F_ENABLE] = "enable (set_config)", [F_DISABLE] = "disable (set_config)",
	[F_RETIRED] = "retired requests (all refused)",
	[F_RESET] = "reset_stats",
	[F_MMAP] = "mmap attempts", [F_MMAP_OK] = "  mapped",
	[F_MMAP_BUSY] = "  busy (another consumer)",
	[F_MMAP_REFUSED] = "  refused (bad geometry/protection)",
	[F_TAILS] = "hostile tails written",
	[F_FORKS_MAPPED] = "forks while mapped",
	[F_STATS] = "get_stats", [F_STATS_EFAULT] = "  efault",
	[F_POLL] = "poll", [F_POLL_READY] = "  readable",
	[F_OPENS] = "open/close of the device",
	[F_CONSUMER_MAPS] = "consumer rounds", [F_RECORDS] = "records drained",
	[F_PADS] = "pad records", [F_UNKNOWN] = "records of unknown type",
	[F_BAD_RECORDS] = "malformed records",
	[F_SYSCALLS] = "workload syscalls", [F_BADPTR_CALLS] = "  with bad paths",
	[F_I386_CALLS] = "  32-bit (int 0x80)",
	[F_EXEC_OK] = "execve succeeded", [F_EXEC_FAIL] = "execve failed",
	[F_FORKS] = "processes forked", [F_THREADS] = "threads created",
	[F_UNEXPECTED] = "unexpected results",
};

static atomic_ulong fig[F_NR];

static void count(enum fig f)
{
	atomic_fetch_add_explicit(&fig[f], 1, memory_order_relaxed);
}

/* Unexpected outcomes, by case and errno (first few kept for the report). */
#define MAX_ODD 64
static pthread_mutex_t odd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *what;
	int r, err;
	unsigned long n;
} odd[MAX_ODD];

static void unexpected(const char *what, int r, int err)
{
	int i;

	count(F_UNEXPECTED);
	pthread_mutex_lock(&odd_lock);
	for (i = 0; i < MAX_ODD && odd[i].what; i++)
		if (odd[i].what == what && odd[i].r == r && odd[i].err == err)
			break;
	if (i < MAX_ODD) {
		odd[i].what = what;
		odd[i].r = r;
		odd[i].err = err;
		odd[i].n++;
	}
	pthread_mutex_unlock(&odd_lock);
}

/*
 * Check an outcome: r is the call's return value, allowed a
 * zero-terminated list of errnos; ok_allowed says whether success is.
 */
static int expect(const char *what, long r, int ok_allowed, ...)
{
	int err = errno, e;
	va_list ap;

	if (r >= 0) {
		if (!ok_allowed)
			unexpected(what, 0, 0);
		return 0;
	}
	va_start(ap, ok_allowed);
	while ((e = va_arg(ap, int)) != 0)
		if (e == err)
			break;
	va_end(ap);
	if (!e)
		unexpected(what, -1, err);
	return err;
}

/* ---- small helpers ---- */

static unsigned long rnd(unsigned long *s)
{
	unsigned long x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static unsigned long seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_nsec ^ ((unsigned long)gettid() << 32) ^ ts.tv_sec) | 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

/*
 * Memory for hostile pointers: read-only pages holding a structure's
 * size (so that a query gets past reading it), a PROT_NONE page, and
 * "edges": the first byte after a writable page that is followed by a
 * PROT_NONE one (a buffer ending at an edge ends where its mapping does),
 * one per user so that no thread rewrites another's.
 */
static char *ro_cfg, *ro_info, *ro_stats, *none_page;
static char *edge_cfg, *edge_stats, *edge_path;

static char *make_ro(__u32 size)
{
	char *p = mmap(NULL, page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, &size, sizeof(size));
	return mprotect(p, page, PROT_READ) ? NULL : p;
}

static char *make_edge(void)
{
	char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 'a', page);
	return mprotect(p + page, page, PROT_NONE) ? NULL : p + page;
}

static int setup_pages(void)
{
	ro_cfg = make_ro(sizeof(struct sagafs_config));
	ro_info = make_ro(sizeof(struct sagafs_info));
	ro_stats = make_ro(sizeof(struct sagafs_stats));
	none_page = make_edge();
	edge_cfg = make_edge();
	edge_stats = make_edge();
	edge_path = make_edge();
	return ro_cfg && ro_info && ro_stats && none_page && edge_cfg &&
	       edge_stats && edge_path ? 0 : -1;
}

/* ==================================================================== */
/* configuration                                                          */

static void cfg_valid(struct sagafs_config *c, unsigned long *s)
{
	static const __u32 kbs[] = { 32, 64, 128, 256, 1024 };
	unsigned int i, a;

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->flags = rnd(s) & SAGAFS_CFG_FLAGS_ALL;
	c->result = rnd(s) % 3;
	c->snaplen = rnd(s) % 4 ? rnd(s) % (SAGAFS_SNAPLEN_MAX + 1) : 0;
	c->ring_kb = rnd(s) % 4 ? SAGAFS_RING_KB_DEFAULT : kbs[rnd(s) % 5];
	c->wakeup_bytes = rnd(s) % 2 ? 0 : rnd(s) % 1024;
	for (a = 0; a < SAGAFS_NR_ABIS; a++)
		for (i = 0; i < SAGAFS_BITMAP_WORDS; i++) {
			c->syscalls[a][i] = rnd(s) % 2 ? ~0ULL : rnd(s);
			c->exclude_syscalls[a][i] = rnd(s) % 4 ? 0 : rnd(s) & rnd(s);
		}
	c->nr_pids = rnd(s) % 4 ? 0 : 1 + rnd(s) % SAGAFS_MAX_IDS;
	for (i = 0; i < c->nr_pids; i++)
		c->pids[i] = 1 + rnd(s) % 32768;
	c->nr_exclude_pids = rnd(s) % 3 ? 0 : 1 + rnd(s) % 4;
	for (i = 0; i < c->nr_exclude_pids; i++)
		c->exclude_pids[i] = 1 + rnd(s) % 32768;
	c->nr_uids = rnd(s) % 4 ? 0 : 1 + rnd(s) % 4;
	for (i = 0; i < c->nr_uids; i++)
		c->uids[i] = rnd(s) % 70000;
	c->nr_comms = rnd(s) % 4 ? 0 : 1 + rnd(s) % SAGAFS_MAX_COMMS;
	for (i = 0; i < c->nr_comms; i++)
		snprintf(c->comms[i], SAGAFS_COMM_LEN, "c%lu", rnd(s) % 100000);
	c->nr_exclude_comms = rnd(s) % 4 ? 0 : 1;
	if (c->nr_exclude_comms)
		strcpy(c->exclude_comms[0], "sgstress-none");
}

/* Break a valid configuration in one of the ways every ABI refuses. */
static const char *cfg_break(struct sagafs_config *c, unsigned long *s)
{
	switch (rnd(s) % 10) {
	case 0:
		c->flags |= 1U << 31;
		return "unknown flag";
	case 1:
		c->result = 3 + rnd(s) % 100;
		return "bad result";
	case 2:
		c->snaplen = SAGAFS_SNAPLEN_MAX + 1 + rnd(s) % 100000;
		return "snaplen too big";
	case 3: {
		static const __u32 bad[] = { 0, 16, 48, 1000,
			SAGAFS_RING_KB_MAX * 2, 0xffffffff };
		c->ring_kb = bad[rnd(s) % 6];
		return "bad ring_kb";
	}
	case 4:
		c->nr_pids = SAGAFS_MAX_IDS + 1 + rnd(s) % 1000;
		return "too many pids";
	case 5:
		c->nr_pids = 1;
		c->pids[0] = 0;
		return "pid 0";
	case 6:
		c->nr_uids = 1;
		c->uids[0] = (__u32)-1;
		return "uid -1";
	case 7:
		c->nr_comms = 1;
		c->comms[0][0] = 0;
		return "empty comm";
	case 8:
		c->nr_comms = 1;
		memset(c->comms[0], 'x', SAGAFS_COMM_LEN);
		return "unterminated comm";
	default:
		c->nr_exclude_comms = SAGAFS_MAX_COMMS + 1;
		return "too many comms";
	}
}

static void *t_config(void *arg)
{
	unsigned long s = seed();
	struct sagafs_config c;
	/* a larger, newer caller's structure, and room past a page */
	static __thread unsigned char big[2 * 4096 + 64] __attribute__((aligned(8)));
	int fd = open(DEV, O_RDWR);
	long r;

	(void)arg;
	if (fd < 0) {
		unexpected("open for set_config", -1, errno);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		unsigned int what = rnd(&s) % 16;

		cfg_valid(&c, &s);
		if (what < 8) {
			count(F_CFG_VALID);
			r = ioctl(fd, SAGAFS_IOC_SET_CONFIG, &c);
			if (expect("valid set_config", r, 1, EBUSY, 0) == EBUSY)
				count(F_CFG_VALID_BUSY);
			else if (r == 0)
				count(F_CFG_VALID_OK);
		} else if (what < 12) {
			const char *why = cfg_break(&c, &s);

			count(F_CFG_INVALID);
			r = ioctl(fd, SAGAFS_IOC_SET_CONFIG, &c);
			expect(why, r, 0, EINVAL, EBUSY, 0);
		} else if (what == 12) {
			/* larger structure, zero tail: a newer caller */
			memset(big, 0, sizeof(big));
			memcpy(big, &c, sizeof(c));
			((struct sagafs_config *)big)->size = sizeof(c) + 64;
			count(F_CFG_VALID);
			r = ioctl(fd, SAGAFS_IOC_SET_CONFIG, big);
			if (expect("larger size, zero tail", r, 1, EBUSY, 0) == EBUSY)
				count(F_CFG_VALID_BUSY);
			else if (r == 0)
				count(F_CFG_VALID_OK);
		} else if (what == 13) {
			/* larger with junk in the tail, larger than a page, smaller */
			static const __u32 sizes[] = { sizeof(c) + 64, 2 * 4096 + 8,
				sizeof(c) - 8, 8, 0 };
			unsigned int k = rnd(&s) % 5;

			memset(big, 0, sizeof(big));
			memcpy(big, &c, sizeof(c));
			big[sizeof(c) + 8] = 1;
			((struct sagafs_config *)big)->size = sizes[k];
			count(F_CFG_BADPTR);
			r = ioctl(fd, SAGAFS_IOC_SET_CONFIG, big);
			expect(k < 2 ? "size: nonzero tail or too big" : "size: too small",
			       r, 0, E2BIG, EINVAL, 0);
		} else if (what == 14) {
			/* the structure runs into a PROT_NONE page, or is NULL */
			void *p = rnd(&s) % 2 ? (void *)(edge_cfg - sizeof(c) / 2) : NULL;

			if (p)
				memcpy(p, &c, sizeof(c) / 2);
			count(F_CFG_BADPTR);
			r = ioctl(fd, SAGAFS_IOC_SET_CONFIG, p);
			expect("set_config bad pointer", r, 0, EFAULT, 0);
		} else {
			/* queries into read-only or missing memory */
			int none = rnd(&s) % 2;

			count(F_GET_BADPTR);
			switch (rnd(&s) % 3) {
			case 0:
				r = ioctl(fd, SAGAFS_IOC_GET_CONFIG, none ? none_page : ro_cfg);
				break;
			case 1:
				r = ioctl(fd, SAGAFS_IOC_GET_INFO, none ? none_page : ro_info);
				break;
			default:
				r = ioctl(fd, SAGAFS_IOC_ABI_VERSION, none ? none_page : ro_info);
				break;
			}
			expect("query into bad memory", r, 0, EFAULT, 0);
		}
	}
	close(fd);
	return NULL;
}

/*
 * Capture on and off: the current configuration with SAGAFS_CFG_ENABLED
 * flipped (SET_CONFIG is the one switch), racing the other writers.
 */
static long toggle(int fd, int on)
{
	struct sagafs_config c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	if (ioctl(fd, SAGAFS_IOC_GET_CONFIG, &c))
		return -1;
	if (on)
		c.flags |= SAGAFS_CFG_ENABLED;
	else
		c.flags &= ~SAGAFS_CFG_ENABLED;
	c.size = sizeof(c);
	return ioctl(fd, SAGAFS_IOC_SET_CONFIG, &c);
}

static void *t_enable(void *arg)
{
	unsigned long s = seed();
	int fd = open(DEV, O_RDWR);
	long r;

	(void)arg;
	if (fd < 0) {
		unexpected("open for enable", -1, errno);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		switch (rnd(&s) % 6) {
		case 0:
		case 1:
			count(F_ENABLE);
			expect("enable", toggle(fd, 1), 1, EBUSY, 0);
			break;
		case 2:
		case 3:
			count(F_DISABLE);
			expect("disable", toggle(fd, 0), 1, EBUSY, 0);
			break;
		case 4:
			/* 0x06 and 0x07, the retired ENABLE and DISABLE */
			count(F_RETIRED);
			r = ioctl(fd, _IO(SAGAFS_IOC_MAGIC, 0x06 + (rnd(&s) & 1)));
			expect("retired request", r, 0, ENOTTY, 0);
			break;
		default:
			count(F_RESET);
			r = ioctl(fd, SAGAFS_IOC_RESET_STATS);
			expect("reset_stats", r, 1, 0);
			break;
		}
		usleep(rnd(&s) % 3000);
	}
	close(fd);
	return NULL;
}

/* ==================================================================== */
/* mappings                                                               */

/* Write hostile values into the control pages of a mapping. */
static void scribble(unsigned char *ctrl, const struct sagafs_info *i,
		     unsigned long *s)
{
	unsigned int cpu = rnd(s) % i->nr_cpus;
	struct sagafs_ring_ctrl *c = (void *)(ctrl + cpu * i->ctrl_stride);
	__u64 head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	__u64 v;

	switch (rnd(s) % 7) {
	case 0:
		v = rnd(s);
		break;
	case 1:
		v = head + 3 * i->ring_size;
		break;
	case 2:
		v = head - 3 * i->ring_size;
		break;
	case 3:
		v = head + 8;
		break;
	case 4:
		v = head - 1;
		break;
	case 5:
		v = ~0ULL;
		break;
	default:
		/* junk over the rest of the page: pads and reader copies */
		memset((unsigned char *)c + sizeof(c->head), rnd(s),
		       i->ctrl_stride - sizeof(c->head));
		count(F_TAILS);
		return;
	}
	__atomic_store_n(&c->tail, v, __ATOMIC_RELEASE);
	count(F_TAILS);
}

static void sane_tails(unsigned char *ctrl, const struct sagafs_info *i)
{
	unsigned int cpu;

	for (cpu = 0; cpu < i->nr_cpus; cpu++) {
		struct sagafs_ring_ctrl *c = (void *)(ctrl + cpu * i->ctrl_stride);

		__atomic_store_n(&c->tail, __atomic_load_n(&c->head, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
	}
}

/* One odd mmap; returns the mapping (or MAP_FAILED) and its length. */
static void *odd_mmap(int fd, const struct sagafs_info *i, unsigned long *s,
		      size_t *len, const char **what, int *must_fail)
{
	off_t off = i->ctrl_offset;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED;

	*len = i->ctrl_len;
	*must_fail = 0;
	switch (rnd(s) % 16) {
	case 0:
	case 12:
	case 13:
	case 14:
	case 15:
		*what = "ctrl, whole";
		break;
	case 1:
		*what = "ctrl, one page";
		off = i->ctrl_offset + (rnd(s) % i->nr_cpus) * i->ctrl_stride;
		*len = page;
		break;
	case 2:
		*what = "data, read-only";
		off = i->data_offset;
		*len = i->data_len;
		prot = PROT_READ;
		break;
	case 3:
		*what = "data, one CPU";
		off = i->data_offset + (rnd(s) % i->nr_cpus) * i->ring_size;
		*len = i->ring_size;
		prot = PROT_READ;
		break;
	case 4:
		*what = "data, writable";
		off = i->data_offset;
		*len = page;
		*must_fail = 1;
		break;
	case 5:
		*what = "private";
		flags = MAP_PRIVATE;
		prot = PROT_READ;
		*must_fail = 1;
		break;
	case 6:
		*what = "straddling ctrl and data";
		off = i->data_offset - page;
		*len = 2 * page;
		prot = PROT_READ;
		*must_fail = 1;
		break;
	case 7:
		*what = "past the end";
		off = i->data_offset + i->data_len - page;
		*len = 2 * page;
		prot = PROT_READ;
		*must_fail = 1;
		break;
	case 8:
		*what = "beyond the end";
		off = i->data_offset + i->data_len + page * (rnd(s) % 1024);
		*len = page;
		prot = PROT_READ;
		*must_fail = 1;
		break;
	case 9:
		*what = "huge offset";
		off = (off_t)((~0ULL >> 1) & ~((unsigned long)page - 1)) -
		      page * (rnd(s) % 4);
		*len = page;
		prot = PROT_READ;
		*must_fail = 1;
		break;
	case 10:
		*what = "huge length";
		*len = (size_t)1 << 40;
		prot = PROT_READ;
		*must_fail = 1;
		break;
	default:
		*what = "data, executable";
		off = i->data_offset;
		*len = page;
		prot = PROT_READ | PROT_EXEC;
		*must_fail = 1;
		break;
	}
	return mmap(NULL, *len, prot, flags, fd, off);
}

/* Poke a live mapping the ways a careless or hostile consumer would. */
static void abuse_mapping(unsigned char *p, size_t len, int is_ctrl,
			  const struct sagafs_info *i, unsigned long *s)
{
	volatile unsigned char sink;
	unsigned int k;
	pid_t pid;

	for (k = 0; k < 20; k++) {
		if (is_ctrl && len == i->ctrl_len)
			scribble(p, i, s);
		sink = p[rnd(s) % len];
	}
	(void)sink;
	switch (rnd(s) % 6) {
	case 0:
		/* may not become writable or executable if it is data */
		if (!is_ctrl &&
		    mprotect(p, page, PROT_READ | PROT_WRITE) == 0)
			unexpected("mprotect data writable", 0, 0);
		break;
	case 1:
		count(F_FORKS_MAPPED);
		pid = fork();
		if (pid == 0) {
			sink = p[0];
			if (is_ctrl && len == i->ctrl_len)
				scribble(p, i, s);
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		break;
	case 2:
		madvise(p, len, MADV_DONTNEED);
		break;
	case 3:
		if (mremap(p, len, len + page, 0) != MAP_FAILED)
			unexpected("mremap grew a ring mapping", 0, 0);
		break;
	case 4:
		madvise(p, len, MADV_DONTFORK);
		break;
	default:
		break;
	}
	if (is_ctrl && len == i->ctrl_len)
		sane_tails(p, i);
}

static void *t_mapper(void *arg)
{
	unsigned long s = seed();

	(void)arg;
	while (!atomic_load(&stop)) {
		int rdonly = !(rnd(&s) % 4);
		int fd = open(DEV, rdonly ? O_RDONLY : O_RDWR);
		struct sagafs_info i;
		const char *what;
		int must_fail, mapped = 0;
		size_t len;
		void *p;

		count(F_OPENS);
		if (fd < 0) {
			unexpected("open", -1, errno);
			continue;
		}
		if (sg_get_info(fd, &i)) {
			unexpected("get_info", -1, errno);
			close(fd);
			continue;
		}
		for (int k = 0; k < 4 && !atomic_load(&stop); k++) {
			count(F_MMAP);
			p = odd_mmap(fd, &i, &s, &len, &what, &must_fail);
			if (p == MAP_FAILED) {
				if (errno == EBUSY)
					count(F_MMAP_BUSY);
				else
					count(F_MMAP_REFUSED);
				continue;
			}
			/* an O_RDONLY descriptor never maps the rings */
			if (must_fail || rdonly)
				unexpected(rdonly ? "mmap through O_RDONLY" : what, 0, 0);
			count(F_MMAP_OK);
			mapped = 1;
			abuse_mapping(p, len, !strncmp(what, "ctrl", 4), &i, &s);
			/* unmap in pieces, or leave it for close to outlive */
			if (len > (size_t)page && rnd(&s) % 2) {
				munmap(p, page);
				munmap((char *)p + page, len - page);
			} else if (rnd(&s) % 4) {
				munmap(p, len);
			} else {
				close(fd);
				fd = -1;
				munmap(p, len);
				break;
			}
		}
		if (fd >= 0)
			close(fd);
		if (!mapped)
			usleep(rnd(&s) % 2000);
	}
	return NULL;
}

/* ==================================================================== */
/* the consumer                                                           */

/* Drained records, added to the figures. */
static void count_drain(const struct drain_stats *st)
{
	atomic_fetch_add(&fig[F_RECORDS], st->records);
	atomic_fetch_add(&fig[F_PADS], st->pads);
	atomic_fetch_add(&fig[F_UNKNOWN], st->unknown);
	atomic_fetch_add(&fig[F_BAD_RECORDS], st->malformed);
}

static void *t_consumer(void *arg)
{
	unsigned long s = seed();

	(void)arg;
	while (!atomic_load(&stop)) {
		struct consumer c;
		int fd = open(DEV, O_RDWR);
		double until;

		if (fd < 0) {
			unexpected("consumer open", -1, errno);
			continue;
		}
		if (consumer_map(&c, fd)) {
			if (errno != EBUSY && errno != EAGAIN && errno != ENOENT)
				unexpected("consumer mmap", -1, errno);
			close(fd);
			usleep(1000 + rnd(&s) % 5000);
			continue;
		}
		count(F_CONSUMER_MAPS);
		until = now() + 0.05 + (rnd(&s) % 500) / 1000.0;
		while (!atomic_load(&stop) && now() < until) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			struct drain_stats st = { 0 };

			poll(&pfd, 1, 20);
			drain(&c, NULL, NULL, &st);
			count_drain(&st);
		}
		consumer_unmap(&c);
		close(fd);
	}
	return NULL;
}

/* ==================================================================== */
/* queries                                                                */

static void *t_stats(void *arg)
{
	static __thread struct sagafs_counts slots[SAGAFS_NR_ABIS * SAGAFS_NR_SLOTS];
	static __thread struct sagafs_cpu_stats cpus[MAX_CPUS];
	unsigned long s = seed();
	int fd = open(DEV, O_RDONLY);
	struct sagafs_stats st;
	long r;

	(void)arg;
	if (fd < 0) {
		unexpected("open for stats", -1, errno);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		struct sagafs_stats *sp = &st;
		int must_fault = 1;

		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		switch (rnd(&s) % 8) {
		case 0:
			must_fault = 0;
			break;
		case 1:
			st.cpus = (uintptr_t)cpus;
			st.nr_cpus = MAX_CPUS;
			st.syscalls = (uintptr_t)slots;
			st.nr_slots = SAGAFS_NR_SLOTS;
			must_fault = 0;
			break;
		case 2:
			st.cpus = (uintptr_t)ro_stats;
			st.nr_cpus = 4;
			break;
		case 3:
			st.syscalls = (uintptr_t)none_page;
			st.nr_slots = SAGAFS_NR_SLOTS;
			break;
		case 4:
			/* the array runs into a PROT_NONE page */
			st.syscalls = (uintptr_t)(edge_stats - 3 * sizeof(struct sagafs_counts));
			st.nr_slots = SAGAFS_NR_SLOTS;
			break;
		case 5:
			/* the structure itself is read-only */
			sp = (struct sagafs_stats *)ro_stats;
			break;
		case 6:
			/* the structure runs into a PROT_NONE page */
			sp = (struct sagafs_stats *)(edge_stats - sizeof(st) / 2);
			memcpy(sp, &st, sizeof(st) / 2);
			break;
		default:
			/* a kernel address */
			st.cpus = 0xffffffff81000000ULL;
			st.nr_cpus = 1;
			break;
		}
		count(F_STATS);
		r = ioctl(fd, SAGAFS_IOC_GET_STATS, sp);
		if (must_fault) {
			if (expect("get_stats into bad memory", r, 0, EFAULT, 0) == EFAULT)
				count(F_STATS_EFAULT);
		} else {
			expect("get_stats", r, 1, 0);
		}
		if (rnd(&s) % 16 == 0) {
			r = ioctl(fd, _IO(SAGAFS_IOC_MAGIC, 0x7f));
			expect("unknown request", r, 0, ENOTTY, 0);
		}
	}
	close(fd);
	return NULL;
}

static void *t_poll(void *arg)
{
	unsigned long s = seed();
	int fd = open(DEV, O_RDONLY), ep = epoll_create1(0);

	(void)arg;
	if (fd < 0 || ep < 0) {
		unexpected("open for poll", -1, errno);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
		struct epoll_event ev = { .events = EPOLLIN };
		long r;

		count(F_POLL);
		if (rnd(&s) % 2) {
			r = poll(&pfd, 1, rnd(&s) % 20);
			expect("poll", r, 1, EINTR, 0);
			if (r > 0)
				count(F_POLL_READY);
		} else {
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
				unexpected("epoll_ctl add", -1, errno);
			r = epoll_wait(ep, &ev, 1, rnd(&s) % 20);
			expect("epoll_wait", r, 1, EINTR, 0);
			if (r > 0)
				count(F_POLL_READY);
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		}
		if (rnd(&s) % 32 == 0) {
			/* a fresh file, closed while others poll */
			close(fd);
			fd = open(DEV, O_RDONLY);
			count(F_OPENS);
			if (fd < 0) {
				unexpected("reopen for poll", -1, errno);
				break;
			}
		}
	}
	if (fd >= 0)
		close(fd);
	close(ep);
	return NULL;
}

/* ==================================================================== */
/* the workload                                                           */

/* A writable page another thread keeps mapping and unmapping. */
static char *flip_page;

static void *t_flipper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		void *p = mmap(flip_page, page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (p != MAP_FAILED)
			memset(p, 'f', page - 1);
		sched_yield();
		mmap(flip_page, page, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		sched_yield();
	}
	return NULL;
}

/* A path buffer a sibling rewrites while calls use it. */
static char shared_path[256];

static void *t_rewriter(void *arg)
{
	unsigned long s = seed();

	(void)arg;
	strcpy(shared_path, "/tmp/sgstress-rewritten");
	while (!atomic_load(&stop)) {
		size_t k = 5 + rnd(&s) % 200;

		shared_path[k] = rnd(&s) % 3 ? 'z' : 0;
		shared_path[rnd(&s) % 5 + 5] = "abcde"[rnd(&s) % 5];
		if (rnd(&s) % 64 == 0)
			shared_path[k] = 0;
	}
	return NULL;
}

static const char *bad_path(unsigned long *s)
{
	static __thread char longp[6000];

	switch (rnd(s) % 10) {
	case 0:
		return NULL;
	case 1:
		return (const char *)1;
	case 2:
		return (const char *)0xffffffff81000000UL;
	case 3:
		return none_page + rnd(s) % page;
	case 4:
		/* no NUL before the mapping ends */
		return edge_path - 1 - rnd(s) % 64;
	case 5:
		/* the NUL is the last byte of the mapping */
		edge_path[-1] = 0;
		return edge_path - 2 - rnd(s) % 200;
	case 6:
		memset(longp, 'p', sizeof(longp) - 1);
		longp[0] = '/';
		return longp;
	case 7:
		return flip_page + rnd(s) % 64;
	case 8:
		return shared_path;
	default:
		return (const char *)0xffffffffff600000UL;	/* vsyscall page */
	}
}

/* A 32-bit system call through int 0x80 (i386 compat). */
static long int80(long nr, long a, long b, long c)
{
	long r;

	asm volatile ("int $0x80" : "=a"(r) : "0"(nr), "b"(a), "c"(b), "d"(c)
		      : "memory", "r8", "r9", "r10", "r11");
	return r;
}

static void *t_badpath(void *arg)
{
	unsigned long s = seed();

	(void)arg;
	while (!atomic_load(&stop)) {
		const char *p = bad_path(&s), *q = bad_path(&s);
		struct stat st;
		long r = 0;

		count(F_SYSCALLS);
		count(F_BADPTR_CALLS);
		switch (rnd(&s) % 12) {
		case 0:
			r = syscall(SYS_openat, AT_FDCWD, p, O_RDONLY);
			break;
		case 1:
			r = syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0);
			break;
		case 2:
			r = syscall(SYS_faccessat, AT_FDCWD, p, R_OK);
			break;
		case 3:
			r = syscall(SYS_renameat, AT_FDCWD, p, AT_FDCWD, q);
			break;
		case 4:
			r = syscall(SYS_unlinkat, AT_FDCWD, p, 0);
			break;
		case 5:
			r = syscall(SYS_execve, p, NULL, NULL);
			break;
		case 6:
			r = syscall(SYS_mkdirat, AT_FDCWD, p, 0700);
			break;
		case 7:
			r = syscall(SYS_openat2, AT_FDCWD, p, q, 24);
			break;
		case 8:
			count(F_I386_CALLS);
			r = int80(5 /* open */, (long)(uintptr_t)p & 0xffffffff, 0, 0);
			break;
		case 9: {
			/* harmless 32-bit calls, path ones with bad pointers, and
			 * numbers past the i386 table */
			static const long nrs[] = { 20 /* getpid */, 64 /* getppid */,
				33 /* access */, 106 /* stat */, 39 /* mkdir */,
				10 /* unlink */, 2000, 0x7fffffff };

			count(F_I386_CALLS);
			r = int80(nrs[rnd(&s) % 8], (long)(uintptr_t)p & 0xffffffff, 0, 0);
			break;
		}
		case 10:
			/* numbers out of every table, and the x32 bit */
			r = syscall(rnd(&s) % 2 ? 5000 + rnd(&s) % 1000 :
				    0x40000000 | (rnd(&s) % 600));
			break;
		default:
			r = syscall(SYS_getppid);
			break;
		}
		if (r > 2 && r < 1024 && (rnd(&s) % 2))
			close(r);	/* an open that succeeded */
	}
	return NULL;
}

/* The child's side: kind was chosen before the fork (vfork shares the stack). */
static void exec_child(unsigned int kind)
{
	static char *const tru[] = { "true", NULL };
	static char huge[200000];
	char *const hargv[] = { "true", huge, NULL };
	int fd;

	switch (kind) {
	case 0:
	case 1:
		execve("/bin/true", tru, NULL);
		break;
	case 2:
		execve("/sgstress/nonexistent", tru, NULL);
		break;
	case 3:
		execve("/etc/hostname", tru, NULL);	/* not executable */
		break;
	case 4:
		execve("/bin/true", (char *const *)none_page, NULL);
		break;
	case 5:
		memset(huge, 'h', sizeof(huge) - 1);
		execve("/bin/true", hargv, NULL);	/* E2BIG */
		break;
	case 6:
		fd = open("/bin/true", O_PATH);
		syscall(SYS_execveat, fd, "", tru, NULL, AT_EMPTY_PATH);
		break;
	default:
		_exit(0);
	}
	_exit(127);
}

/* vfork, and exec path in the child: nothing else runs on the shared stack. */
static __attribute__((noinline)) pid_t vfork_exec(const char *path)
{
	static char *const tru[] = { "true", NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execve(path, tru, NULL);
		_exit(127);
	}
	return pid;
}

static void *t_exec(void *arg)
{
	unsigned long s = seed();

	(void)arg;
	while (!atomic_load(&stop)) {
		unsigned int kind = rnd(&s) % 8;
		pid_t pid;
		int st;

		if (rnd(&s) % 4 == 0) {
			kind = rnd(&s) % 2 ? 2 : 0;
			pid = vfork_exec(kind ? "/sgstress/nonexistent" : "/bin/true");
		} else {
			pid = fork();
			if (pid == 0)
				exec_child(kind);
		}
		if (pid < 0) {
			usleep(1000);
			continue;
		}
		count(F_FORKS);
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && kind != 7) {
			if (WEXITSTATUS(st) == 0)
				count(F_EXEC_OK);
			else
				count(F_EXEC_FAIL);
		}
	}
	return NULL;
}

static void *t_short(void *arg)
{
	(void)arg;
	syscall(SYS_getppid);
	syscall(SYS_gettid);
	count(F_SYSCALLS);
	return NULL;
}

static void *t_churn(void *arg)
{
	unsigned long s = seed();

	(void)arg;
	while (!atomic_load(&stop)) {
		pthread_t t[4];
		int n = 1 + rnd(&s) % 4, k;
		pid_t pid;

		for (k = 0; k < n; k++)
			if (pthread_create(&t[k], NULL, t_short, NULL))
				break;
		n = k;
		for (k = 0; k < n; k++) {
			pthread_join(t[k], NULL);
			count(F_THREADS);
		}
		pid = fork();
		if (pid == 0) {
			syscall(SYS_getppid);
			_exit(0);
		}
		if (pid > 0) {
			count(F_FORKS);
			waitpid(pid, NULL, 0);
		}
	}
	return NULL;
}

struct thread_kind {
	const char *name;
	void *(*fn)(void *);
	int n;
};

static const struct thread_kind device_threads[] = {
	{ "config", t_config, 2 },
	{ "enable", t_enable, 1 },
	{ "mapper", t_mapper, 2 },
	{ "consumer", t_consumer, 1 },
	{ "stats", t_stats, 1 },
	{ "poll", t_poll, 1 },
};

static const struct thread_kind workload_threads[] = {
	{ "flipper", t_flipper, 1 },
	{ "rewriter", t_rewriter, 1 },
	{ "badpath", t_badpath, 2 },
	{ "exec", t_exec, 2 },
	{ "churn", t_churn, 1 },
};

static pthread_t threads[64];
static int nr_threads;

static int start(const struct thread_kind *k, size_t nk)
{
	size_t a;
	int b;

	for (a = 0; a < nk; a++)
		for (b = 0; b < k[a].n; b++) {
			if (pthread_create(&threads[nr_threads], NULL, k[a].fn, NULL)) {
				fprintf(stderr, "stress: pthread_create %s failed\n", k[a].name);
				return -1;
			}
			nr_threads++;
		}
	return 0;
}

static void join_all(void)
{
	atomic_store(&stop, 1);
	while (nr_threads > 0)
		pthread_join(threads[--nr_threads], NULL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int setup_workload(void)
{
	flip_page = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return flip_page == MAP_FAILED ? -1 : 0;
}

/* ==================================================================== */
/* after the storm: exactness                                             */

static void marked_check(long n)
{
	struct sagafs_info info;
	struct sagafs_config back;
	struct marked_result res;
	int fd = open(DEV, O_RDWR);

	if (fd < 0) {
		tap(0, "open the device after the stress: %s", strerror(errno));
		return;
	}
	tap(sg_get_info(fd, &info) == 0, "GET_INFO works after the stress");
	if (marked_run(fd, n, MARK_COMM, &res)) {
		tap(0, "marked workload ran");
		close(fd);
		return;
	}
	count_drain(&res.st);
	tap(res.found == n && res.once == n && res.strange == 0 && !res.st.malformed,
	    "marked workload logged exactly: %ld of %ld paths once each", res.once, n);
	tap(res.dropped == 0, "nothing dropped during the marked workload (%llu)", res.dropped);
	tap(sg_get_config(fd, &back) == 0 && !(back.flags & SAGAFS_CFG_ENABLED),
	    "GET_CONFIG shows capture off again");
	close(fd);
}

/* ==================================================================== */

static void report(double secs)
{
	int i;

	printf("# stress: %.0f s, %ld CPUs\n", secs, sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < F_NR; i++)
		printf("# stress: %-40s %lu\n", fig_name[i],
		       atomic_load(&fig[i]));
	for (i = 0; i < MAX_ODD && odd[i].what; i++)
		printf("# unexpected: %s: %s (%lu times)\n", odd[i].what,
		       odd[i].r == 0 ? "succeeded" : strerror(odd[i].err), odd[i].n);
}

static int cycle(void)
{
	struct sagafs_config c;
	struct consumer con;
	struct drain_stats st = { 0 };
	int fd = open(DEV, O_RDWR), k;

	if (fd < 0) {
		perror("stress --cycle: open");
		return 1;
	}
	sg_config_all(&c);
	if (sg_set_config_retry(fd, &c)) {
		perror("stress --cycle: SET_CONFIG");
		return 1;
	}
	if (consumer_map(&con, fd)) {
		perror("stress --cycle: mmap");
		return 1;
	}
	for (k = 0; k < 5; k++) {
		drain(&con, NULL, NULL, &st);
		usleep(20000);
	}
	consumer_unmap(&con);
	close(fd);
	printf("cycle: %lu records, %lu malformed\n", st.records, st.malformed);
	return st.malformed ? 1 : 0;
}

int main(int argc, char **argv)
{
	long seconds = 60, marked = 1000, workload = -1;
	double t0;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--marked") && i + 1 < argc)
			marked = atol(argv[++i]);
		else if (!strcmp(argv[i], "--workload") && i + 1 < argc)
			workload = atol(argv[++i]);
		else if (!strcmp(argv[i], "--cycle"))
			return cycle();
		else {
			fprintf(stderr, "usage: stress [--seconds N] [--marked N] | --workload S | --cycle\n");
			return 2;
		}
	}
	if (setup_pages() || setup_workload()) {
		perror("stress: setup");
		return 1;
	}
	if (workload >= 0) {
		if (start(workload_threads, sizeof(workload_threads) / sizeof(workload_threads[0])))
			return 1;
		if (workload)
			sleep(workload);
		else
			for (;;)
				pause();
		join_all();
		return 0;
	}

	if (access(DEV, R_OK | W_OK)) {
		printf("Bail out! %s: %s (is sagafs.ko loaded? root?)\n", DEV, strerror(errno));
		return 1;
	}
	t0 = now();
	if (start(device_threads, sizeof(device_threads) / sizeof(device_threads[0])) ||
	    start(workload_threads, sizeof(workload_threads) / sizeof(workload_threads[0]))) {
		join_all();
		return 1;
	}
	printf("# stress: %d threads for %ld s\n", nr_threads, seconds);
	while (now() - t0 < seconds)
		sleep(1);
	join_all();
	report(now() - t0);

	tap(atomic_load(&fig[F_UNEXPECTED]) == 0, "no unexpected result from the device or the calls (%lu)",
	    atomic_load(&fig[F_UNEXPECTED]));
	tap(atomic_load(&fig[F_BAD_RECORDS]) == 0, "every record drained was well framed (%lu records, %lu malformed)",
	    atomic_load(&fig[F_RECORDS]), atomic_load(&fig[F_BAD_RECORDS]));
	tap(atomic_load(&fig[F_CFG_VALID_OK]) > 0 && atomic_load(&fig[F_MMAP_OK]) > 0 &&
	    atomic_load(&fig[F_CONSUMER_MAPS]) > 0 && atomic_load(&fig[F_EXEC_OK]) > 0,
	    "every kind of operation happened (configs applied, mappings, consumer rounds, execs)");
	marked_check(marked);
	printf("1..%d\n", nr_tap);
	printf("%d passed, %d failed\n", nr_tap - nr_tap_failed, nr_tap_failed);
	return nr_tap_failed ? 1 : 0;
}
