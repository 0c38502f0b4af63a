// SPDX-License-Identifier: GPL-2.0
/*
 * Trust tests for /dev/sagafs (TAP output): one case per evasion, forgery,
 * counting and error-path hole the module must not have.  Each case fails
 * against a module with the hole.
 *
 * Runs as root inside the test VM with sagafs.ko loaded:
 *   make -C kmod && tests/vm/kmod/build.sh && \
 *       tests/vm/run -- tests/vm/kmod/run-in-guest.sh
 *
 * trust_test           all cases against the loaded module
 * trust_test --faults  the failed-SET_CONFIG cases; needs the fault
 *                      injecting build (target/vm/kmod/fault/sagafs.ko)
 */
#include "common.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/klog.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>

#define OLD_IOC_ENABLE	_IO(SAGAFS_IOC_MAGIC, 0x06)
#define OLD_IOC_DISABLE	_IO(SAGAFS_IOC_MAGIC, 0x07)
#define NOBODY		65534

static long page_size;

/* Close the test's descriptor and open a fresh one: no consumer left. */
static int reopen_dev(void)
{
	if (rg.ctrl)
		unmap_rings();
	close(dev);
	return open_dev();
}

static int enable_only(struct sagafs_config *c, pid_t pid)
{
	c->flags |= SAGAFS_CFG_ENABLED;
	cfg_pid(c, pid);
	return set_config(c);
}

/* ==================================================================== */
/* control                                                               */

/* Count the kernel log lines that contain s. */
static long klog_count(const char *s)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *p;
	long n = 0;

	if (len <= 0)
		return -1;
	buf = malloc(len + 1);
	if (!buf)
		return -1;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (len < 0) {
		free(buf);
		return -1;
	}
	buf[len] = 0;
	for (p = buf; (p = strstr(p, s)); p++)
		n++;
	free(buf);
	return n;
}

/* A rejected SET_CONFIG reaches the caller as errno, not the kernel log. */
static int t_reject_not_logged(void)
{
	struct sagafs_config c;
	long before, after;
	int i;

	before = klog_count("SET_CONFIG");
	CHECK(before >= 0, "cannot read the kernel log: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		cfg_default(&c);
		c.flags |= 1U << 7;
		EXPECT_ERR(EINVAL, set_config(&c));
		cfg_default(&c);
		c.snaplen = SAGAFS_SNAPLEN_MAX + 1;
		EXPECT_ERR(EINVAL, set_config(&c));
	}
	after = klog_count("SET_CONFIG");
	CHECK(after == before, "kernel log lines about SET_CONFIG: %ld before, %ld after",
	      before, after);
	return 0;
}

/* SET_CONFIG's ENABLED flag is the one switch: the old requests are gone. */
static int t_enable_disable_retired(void)
{
	struct sagafs_config c;
	int r6, e6, r7, e7;

	errno = 0;
	r6 = ioctl(dev, OLD_IOC_ENABLE);
	e6 = errno;
	errno = 0;
	r7 = ioctl(dev, OLD_IOC_DISABLE);
	e7 = errno;
	EXPECT_OK(get_config(&c));
	if (c.flags & SAGAFS_CFG_ENABLED)
		restore_base();
	CHECK(r6 == -1 && e6 == ENOTTY, "request 0x06: %d (%s)", r6, strerror(e6));
	CHECK(r7 == -1 && e7 == ENOTTY, "request 0x07: %d (%s)", r7, strerror(e7));
	return 0;
}

/*
 * A newer caller's larger structure has another _IOC size and so another
 * request number: the module matches type and number and takes the size
 * from the structure.
 */
static int t_ioctl_larger_struct(void)
{
	struct { struct sagafs_info i; __u64 more[8]; } bi;
	struct { struct sagafs_config c; __u64 more[8]; } bc;
	struct { struct sagafs_stats s; __u64 more[4]; } bs;
	unsigned int k;

	memset(&bi, 0, sizeof(bi));
	bi.i.size = sizeof(bi);
	EXPECT_OK(ioctl(dev, _IOWR(SAGAFS_IOC_MAGIC, 0x01, bi), &bi));
	CHECK(bi.i.size == sizeof(struct sagafs_info), "GET_INFO size out %u", bi.i.size);
	CHECK(bi.i.abi_version == SAGAFS_ABI_VERSION && bi.i.ring_size == info.ring_size,
	      "GET_INFO content");
	for (k = 0; k < 8; k++)
		CHECK(!bi.more[k], "GET_INFO wrote beyond its size");

	memset(&bc, 0, sizeof(bc));
	bc.c.size = sizeof(bc);
	EXPECT_OK(ioctl(dev, _IOWR(SAGAFS_IOC_MAGIC, 0x02, bc), &bc));
	CHECK(bc.c.size == sizeof(struct sagafs_config) && bc.c.ring_kb == base.ring_kb,
	      "GET_CONFIG size out %u", bc.c.size);

	bc.c = base;
	bc.c.flags &= ~SAGAFS_CFG_ENABLED;
	bc.c.snaplen = 99;
	bc.c.size = sizeof(bc);
	EXPECT_OK(ioctl(dev, _IOW(SAGAFS_IOC_MAGIC, 0x03, bc), &bc));
	EXPECT_OK(get_config(&bc.c));
	CHECK(bc.c.snaplen == 99, "SET_CONFIG not applied: snaplen %u", bc.c.snaplen);
	EXPECT_OK(restore_base());
	/* a non-zero tail is still refused */
	bc.c = base;
	bc.c.size = sizeof(bc);
	bc.more[3] = 1;
	EXPECT_ERR(E2BIG, ioctl(dev, _IOW(SAGAFS_IOC_MAGIC, 0x03, bc), &bc));

	memset(&bs, 0, sizeof(bs));
	bs.s.size = sizeof(bs);
	EXPECT_OK(ioctl(dev, _IOWR(SAGAFS_IOC_MAGIC, 0x04, bs), &bs));
	CHECK(bs.s.size == sizeof(struct sagafs_stats) && bs.s.nr_cpus == info.nr_cpus,
	      "GET_STATS size out %u", bs.s.size);
	/* requests without a size field stay exact */
	EXPECT_ERR(ENOTTY, ioctl(dev, _IOR(SAGAFS_IOC_MAGIC, 0x00, __u64), &bs));
	EXPECT_ERR(ENOTTY, ioctl(dev, _IOW(SAGAFS_IOC_MAGIC, 0x05, __u32), &bs));
	return 0;
}

/* SET_CONFIG must fail with errno e; undo it if it did not. */
static int expect_rejected(struct sagafs_config *c, int e, const char *what)
{
	int r, got;

	errno = 0;
	r = set_config(c);
	got = errno;
	if (r == 0)
		restore_base();
	if (r != -1 || got != e)
		FAIL("%s: %d (%s), want %s", what, r, strerror(got), strerror(e));
	return 0;
}

/* wakeup_bytes above a quarter of the ring would let every record drop. */
static int t_wakeup_bytes_bound(void)
{
	struct sagafs_config c, before, after;
	__u32 quarter = base.ring_kb * 1024 / 4;

	EXPECT_OK(get_config(&before));
	cfg_default(&c);
	c.wakeup_bytes = quarter + 1;
	CHECK(!expect_rejected(&c, EINVAL, "a quarter + 1"), "see above");
	cfg_default(&c);
	c.wakeup_bytes = 0xffffffff;
	CHECK(!expect_rejected(&c, EINVAL, "0xffffffff"), "see above");
	/* the bound follows the ring size of the same request */
	cfg_default(&c);
	c.ring_kb = SAGAFS_RING_KB_MIN;
	c.wakeup_bytes = SAGAFS_RING_KB_MIN * 1024 / 4 + 8;
	CHECK(!expect_rejected(&c, EINVAL, "a quarter of the new ring + 8"), "see above");
	EXPECT_OK(get_config(&after));
	CHECK(!memcmp(&before, &after, sizeof(after)), "config changed");
	cfg_default(&c);
	c.wakeup_bytes = quarter;
	EXPECT_OK(set_config(&c));
	EXPECT_OK(restore_base());
	return 0;
}

/* ==================================================================== */
/* the consumer                                                          */

/* An O_RDONLY descriptor queries and polls; it never maps nor changes. */
static int t_consumer_rdonly(void)
{
	struct sagafs_config c;
	struct sagafs_stats st;
	struct sagafs_info i;
	struct pollfd pfd;
	void *p;
	int fd;

	CHECK(!reopen_dev(), "reopen");
	fd = open(DEV, O_RDONLY);
	CHECK(fd >= 0, "open O_RDONLY: %s", strerror(errno));
	EXPECT_OK(get_info(fd, &i));
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	EXPECT_OK(ioctl(fd, SAGAFS_IOC_GET_CONFIG, &c));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	EXPECT_OK(ioctl(fd, SAGAFS_IOC_GET_STATS, &st));
	pfd.fd = fd;
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 0) >= 0, "poll: %s", strerror(errno));
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, i.ctrl_offset);
	if (p != MAP_FAILED)
		munmap(p, page_size);
	CHECK(p == MAP_FAILED && errno == EACCES, "mmap ctrl O_RDONLY: %s",
	      p == MAP_FAILED ? strerror(errno) : "mapped");
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, i.data_offset);
	if (p != MAP_FAILED)
		munmap(p, page_size);
	CHECK(p == MAP_FAILED && errno == EACCES, "mmap data O_RDONLY: %s",
	      p == MAP_FAILED ? strerror(errno) : "mapped");
	cfg_default(&c);
	c.size = sizeof(c);
	EXPECT_ERR(EBADF, ioctl(fd, SAGAFS_IOC_SET_CONFIG, &c));
	EXPECT_ERR(EBADF, ioctl(fd, SAGAFS_IOC_RESET_STATS));
	EXPECT_OK(get_info(dev, &i));
	CHECK(i.consumer_pid == 0, "consumer %u", i.consumer_pid);
	close(fd);
	return 0;
}

static int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~(1U << CAP_SYS_ADMIN);
	d[0].permitted &= ~(1U << CAP_SYS_ADMIN);
	d[0].inheritable &= ~(1U << CAP_SYS_ADMIN);
	return syscall(SYS_capset, &h, d);
}

/* uid 0 without CAP_SYS_ADMIN (a confined service, a container) */
static int nocap_child(void *arg)
{
	void *p;
	int fd;

	(void)arg;
	if (drop_cap_sys_admin())
		return 10;
	fd = open(DEV, O_RDWR);	/* owner root, mode 0600: allowed */
	if (fd < 0)
		return 11;
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, info.data_offset);
	if (p != MAP_FAILED)
		return 12;
	if (errno != EPERM)
		return 13;
	p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED)
		return 14;
	return 0;
}

static int t_consumer_needs_cap(void)
{
	struct sagafs_info i;
	struct child ch;
	int st;

	CHECK(!reopen_dev(), "reopen");
	CHECK(!spawn(&ch, nocap_child, NULL, NULL), "spawn");
	st = finish(&ch);
	CHECK(st == 0, "child failed at step %d (12: an opener without CAP_SYS_ADMIN mapped the rings)",
	      st);
	EXPECT_OK(get_info(dev, &i));
	CHECK(i.consumer_pid == 0, "consumer %u", i.consumer_pid);
	return 0;
}

static int set_last_pid(pid_t p)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	int r;

	if (!f)
		return -1;
	r = fprintf(f, "%d", p) < 0;
	return fclose(f) || r ? -1 : 0;
}

/*
 * exclude_self follows the consumer process, not its pid number: after
 * the consumer died (its file still open elsewhere), a new process given
 * the same number is logged.
 */
static int t_exclude_self_recycled_pid(void)
{
	struct sagafs_config c;
	struct sagafs_counts *s;
	struct child y;
	struct loop l = { .nr = SYS_getppid, .count = 20 };
	int pp[2], try;
	pid_t x;
	char b;

	CHECK(!reopen_dev(), "reopen");
	CHECK(!pipe(pp), "pipe");
	x = fork();
	CHECK(x >= 0, "fork");
	if (x == 0) {
		void *p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, dev, 0);

		_exit(p == MAP_FAILED || write(pp[1], "m", 1) != 1);
	}
	close(pp[1]);
	CHECK(read(pp[0], &b, 1) == 1, "the consumer child could not map");
	close(pp[0]);
	CHECK(waitpid(x, NULL, 0) == x, "wait");

	for (try = 0; try < 20; try++) {
		CHECK(!set_last_pid(x - 1), "ns_last_pid: %s", strerror(errno));
		CHECK(!spawn(&y, do_loop, &l, NULL), "spawn");
		if (y.pid == x)
			break;
		finish(&y);
	}
	CHECK(y.pid == x, "pid %d never came back", x);
	cfg_default(&c);
	cfg_only(&c, SYS_getppid);
	c.flags |= SAGAFS_CFG_EXCLUDE_SELF;
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_RESET_STATS));
	EXPECT_OK(enable_only(&c, y.pid));
	CHECK(finish(&y) == 0, "child");
	EXPECT_OK(restore_base());
	s = slot_stats();
	CHECK(s, "stats");
	s += SAGAFS_ABI_X86_64 * SAGAFS_NR_SLOTS + SYS_getppid;
	CHECK(s->logged == 20, "pid %d after the consumer died: logged %llu filtered %llu",
	      x, (unsigned long long)s->logged, (unsigned long long)s->filtered);
	CHECK(!reopen_dev(), "reopen");
	return 0;
}

/* ==================================================================== */
/* mmap                                                                  */

/*
 * remap_file_pages() passes any page offset whose byte offset overflows.
 * (On 6.1 the kernel's own file_mmap_ok() already refuses it with
 * EOVERFLOW for a character device; the module refuses it too.)
 */
static int t_mmap_pgoff_overflow(void)
{
	void *p;
	long r;

	p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, 0);
	CHECK(p != MAP_FAILED, "mmap ctrl: %s", strerror(errno));
	errno = 0;
	r = syscall(SYS_remap_file_pages, p, page_size, 0, 1UL << (64 - 12), 0);
	munmap(p, page_size);
	CHECK(r == -1 && (errno == EINVAL || errno == EOVERFLOW), "page offset 2^52: %ld (%s)",
	      r, strerror(errno));
	return 0;
}

/*
 * PROT_EXEC is refused by the module itself, also through a node of the
 * device on a file system mounted without noexec (/dev often is noexec).
 */
static int t_mmap_no_exec(void)
{
	char node[128];
	struct statvfs sv;
	struct stat st;
	void *p;
	int fd, r;

	CHECK(!reopen_dev(), "reopen");
	CHECK(!stat(DEV, &st), "stat");
	snprintf(node, sizeof(node), "%s/dev-node", tmpdir);
	unlink(node);
	CHECK(!mknod(node, S_IFCHR | 0600, st.st_rdev), "mknod: %s", strerror(errno));
	CHECK(!statvfs(tmpdir, &sv) && !(sv.f_flag & ST_NOEXEC),
	      "%s is on a noexec file system: cannot test", tmpdir);
	/* the node's file is the consumer: the test's own is released */
	close(dev);
	fd = open(node, O_RDWR);
	unlink(node);
	dev = fd;
	CHECK(fd >= 0, "open node: %s", strerror(errno));
	p = mmap(NULL, page_size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, info.data_offset);
	if (p != MAP_FAILED)
		munmap(p, page_size);
	CHECK(p == MAP_FAILED && errno == EPERM, "data PROT_EXEC: %s",
	      p == MAP_FAILED ? strerror(errno) : "mapped");
	p = mmap(NULL, page_size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED)
		munmap(p, page_size);
	CHECK(p == MAP_FAILED && errno == EPERM, "ctrl PROT_EXEC: %s",
	      p == MAP_FAILED ? strerror(errno) : "mapped");
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, info.data_offset);
	CHECK(p != MAP_FAILED, "data: %s", strerror(errno));
	r = mprotect(p, page_size, PROT_READ | PROT_EXEC);
	munmap(p, page_size);
	CHECK(r == -1, "mprotect PROT_EXEC on the data area allowed");
	return 0;
}

/* ==================================================================== */
/* ring allocation under memory pressure                                 */

static long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, strlen(key))) {
			v = strtol(line + strlen(key), NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static long oom_kills(void)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char line[128];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "oom_kill ", 9)) {
			v = strtol(line + 9, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * Rings that do not fit in memory: ENOMEM, nobody killed, nothing changed.
 * A locked hog leaves less than the rings need.
 */
static int t_ring_enomem_no_oom(void)
{
	struct sagafs_config c, before, after;
	struct sagafs_info i0, i1;
	long avail = meminfo_kb("MemAvailable:"), kills0, kills1, hog_kb;
	unsigned long need_kb = (unsigned long)SAGAFS_RING_KB_MAX * info.nr_cpus;
	int pp[2], r, e, st;
	pid_t hog;
	char b;

	kills0 = oom_kills();
	CHECK(avail > 0 && kills0 >= 0, "meminfo/vmstat");
	hog_kb = avail - (long)need_kb / 2;
	if (hog_kb < 0)
		hog_kb = 0;
	CHECK(!pipe(pp), "pipe");
	hog = fork();
	CHECK(hog >= 0, "fork");
	if (hog == 0) {
		void *m = MAP_FAILED;

		if (hog_kb)
			m = mmap(NULL, hog_kb * 1024, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED,
				 -1, 0);
		if (hog_kb && m == MAP_FAILED)
			_exit(1);
		if (write(pp[1], "h", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(pp[1]);
	r = read(pp[0], &b, 1);
	close(pp[0]);
	if (r != 1) {
		waitpid(hog, NULL, 0);
		FAIL("the hog could not lock %ld KiB", hog_kb);
	}
	printf("#   MemAvailable %ld KiB, locked %ld KiB, rings need %lu KiB\n",
	       avail, hog_kb, need_kb);
	EXPECT_OK(get_config(&before));
	EXPECT_OK(get_info(dev, &i0));
	cfg_default(&c);
	c.ring_kb = SAGAFS_RING_KB_MAX;
	errno = 0;
	r = set_config(&c);
	e = errno;
	kills1 = oom_kills();
	st = waitpid(hog, NULL, WNOHANG);
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
	if (r == 0)
		restore_base();
	CHECK(st == 0, "the hog died (OOM killer)");
	CHECK(kills1 == kills0, "OOM kills %ld -> %ld", kills0, kills1);
	CHECK(r == -1 && e == ENOMEM, "SET_CONFIG ring_kb=%u: %d (%s)", c.ring_kb, r,
	      strerror(e));
	EXPECT_OK(get_config(&after));
	EXPECT_OK(get_info(dev, &i1));
	CHECK(!memcmp(&before, &after, sizeof(after)), "config changed");
	CHECK(i1.ring_size == i0.ring_size, "ring_size %llu -> %llu",
	      (unsigned long long)i0.ring_size, (unsigned long long)i1.ring_size);
	return 0;
}

/* ==================================================================== */
/* exec                                                                  */

struct execrec {
	pid_t pid;
	int nr;
	const char *exe;	/* wanted path 0 (resolved) */
	const char *argv;	/* wanted path 1 (NUL separated) */
	size_t argv_len;
	int recs, good;
	char why[200];
};

static void execrec_fn(const struct sagafs_record *r, const char *p0,
		       const char *p1, void *ctx)
{
	struct execrec *e = ctx;
	__u32 want = SAGAFS_RF_PATH0 | SAGAFS_RF_PATH0_RESOLVED | SAGAFS_RF_PATH1 |
		     SAGAFS_RF_ARGV;
	const char *exe = e->exe;

	if ((pid_t)r->pid != e->pid || r->nr != e->nr)
		return;
	e->recs++;
	if (preempt_rt()) {
		/* no resolution: no program path, argv all the same */
		want = SAGAFS_RF_UNRESOLVED | SAGAFS_RF_PATH1 | SAGAFS_RF_ARGV;
		exe = "";
	}
	if (r->ret != 0 || (r->flags & want) != want ||
	    (r->flags & SAGAFS_RF_ENTRY_LOST) || r->path_len[0] != strlen(exe) ||
	    memcmp(p0, exe, r->path_len[0]) || r->path_len[1] != e->argv_len ||
	    memcmp(p1, e->argv, e->argv_len)) {
		snprintf(e->why, sizeof(e->why),
			 "ret %lld flags %#x path0 '%.*s' path1 %u bytes",
			 (long long)r->ret, r->flags, r->path_len[0], p0,
			 r->path_len[1]);
		return;
	}
	e->good++;
}

/* A process whose exec blocks on a page that never arrives (userfaultfd). */
struct uexec {
	int uffd;
	char *page;
	const char *arg0;
	int nthreads;
	int report;	/* write end: one byte once every exec is stuck */
	int go;		/* read end: one byte to let the execs finish */
	uid_t uid;
};

static void *uexec_thread(void *arg)
{
	struct uexec *u = arg;
	char *argv[] = { (char *)u->arg0, u->page, NULL };
	char *envp[] = { NULL };

	execve("/bin/true", argv, envp);
	return NULL;
}

static int uffd_page(struct uexec *u)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	u->uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (u->uffd < 0 || ioctl(u->uffd, UFFDIO_API, &api))
		return -1;
	u->page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->page == MAP_FAILED)
		return -1;
	reg.range.start = (unsigned long)u->page;
	reg.range.len = page_size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	return ioctl(u->uffd, UFFDIO_REGISTER, &reg);
}

/* Child body: never returns; exits through exec or a signal. */
static void uexec_run(struct uexec *u)
{
	struct uffd_msg msg;
	pthread_attr_t at;
	pthread_t t;
	int i, faults = 0;
	char b;

	if (uffd_page(u))
		_exit(20);
	if (u->uid && (setgid(u->uid) || setuid(u->uid)))
		_exit(21);
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 * 1024);
	for (i = 0; i < u->nthreads; i++) {
		if (pthread_create(&t, &at, uexec_thread, u))
			_exit(22);
	}
	while (faults < u->nthreads) {
		struct pollfd pfd = { .fd = u->uffd, .events = POLLIN };

		if (poll(&pfd, 1, 60000) != 1)
			_exit(23);
		if (read(u->uffd, &msg, sizeof(msg)) == sizeof(msg) &&
		    msg.event == UFFD_EVENT_PAGEFAULT)
			faults++;
	}
	if (write(u->report, "b", 1) != 1)
		_exit(24);
	if (u->go >= 0) {
		static char src[65536];
		struct uffdio_copy cp = {
			.dst = (unsigned long)u->page,
			.src = (unsigned long)src,
			.len = page_size,
		};

		if (read(u->go, &b, 1) != 1)
			_exit(25);
		strcpy(src, "victim-arg");
		if (ioctl(u->uffd, UFFDIO_COPY, &cp))
			_exit(26);
	}
	for (;;)
		pause();
}

static pid_t uexec_start(struct uexec *u, int *report_rd)
{
	int rp[2];
	pid_t p;

	if (pipe(rp))
		return -1;
	u->report = rp[1];
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		close(rp[0]);
		uexec_run(u);
	}
	close(rp[1]);
	*report_rd = rp[0];
	return p;
}

/*
 * Another user keeps 80 execs in flight, started after the victim's exec
 * entered the kernel and before it finished: the victim's record still
 * has its program and arguments.
 */
static int t_exec_not_evicted(void)
{
	struct uexec v = { .arg0 = "/bin/true", .nthreads = 1, .uid = MARK_UID };
	struct uexec a = { .arg0 = "/bin/true", .nthreads = 80, .uid = NOBODY,
			   .go = -1 };
	struct sagafs_config c;
	struct execrec e = { 0 };
	char exe[4096], argv[64], b;
	int gp[2], vr, ar, st;
	pid_t vp, ap;

	CHECK(realpath("/bin/true", exe), "realpath: %s", strerror(errno));
	CHECK(!pipe(gp), "pipe");
	v.go = gp[0];
	drain();
	cfg_default(&c);
	cfg_only(&c, SYS_execve);
	vp = uexec_start(&v, &vr);
	CHECK(vp > 0, "fork victim");
	close(gp[0]);
	EXPECT_OK(enable_only(&c, vp));
	if (read(vr, &b, 1) != 1) {
		waitpid(vp, &st, 0);
		FAIL("victim did not block (status %#x)", st);
	}
	ap = uexec_start(&a, &ar);
	CHECK(ap > 0, "fork attacker");
	if (read(ar, &b, 1) != 1) {
		kill(vp, SIGKILL);
		waitpid(ap, &st, 0);
		waitpid(vp, NULL, 0);
		FAIL("attacker's execs did not block (status %#x)", st);
	}
	CHECK(write(gp[1], "g", 1) == 1, "go");
	CHECK(waitpid(vp, &st, 0) == vp, "wait victim");
	kill(ap, SIGKILL);
	waitpid(ap, NULL, 0);
	EXPECT_OK(restore_base());
	close(gp[1]);
	close(vr);
	close(ar);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "victim status %#x", st);
	e.pid = vp;
	e.nr = SYS_execve;
	e.exe = exe;
	memcpy(argv, "/bin/true\0victim-arg", 21);
	e.argv = argv;
	e.argv_len = 21;
	CHECK(consume(execrec_fn, &e) >= 0, "framing");
	CHECK(e.recs == 1 && e.good == 1, "victim execve records %d good %d: %s",
	      e.recs, e.good, e.why);
	return 0;
}

static int execveat_child(void *arg)
{
	char *argv[] = { "true-at", "x", NULL };
	char *envp[] = { NULL };
	int fd = open(arg, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return 98;
	syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
	return 99;
}

/* fexecve: the record names the program the kernel ran, as execveat. */
static int t_execveat_resolved(void)
{
	struct sagafs_config c;
	struct child ch;
	struct execrec e = { 0 };
	char exe[4096];

	CHECK(realpath("/bin/true", exe), "realpath");
	drain();
	cfg_default(&c);
	cfg_only(&c, SYS_execveat);
	CHECK(!spawn(&ch, execveat_child, "/bin/true", NULL), "spawn");
	EXPECT_OK(enable_only(&c, ch.pid));
	CHECK(finish(&ch) == 0, "child");
	EXPECT_OK(restore_base());
	e.pid = ch.pid;
	e.nr = SYS_execveat;
	e.exe = exe;
	e.argv = "true-at\0x";
	e.argv_len = 10;
	CHECK(consume(execrec_fn, &e) >= 0, "framing");
	CHECK(e.recs == 1 && e.good == 1, "execveat records %d good %d: %s", e.recs,
	      e.good, e.why);
	return 0;
}

/* ==================================================================== */
/* open: the path the kernel opened                                      */

struct fifo_open {
	char buf[256];
	long fd;
};

static void *fifo_reader(void *arg)
{
	struct fifo_open *f = arg;

	f->fd = syscall(SYS_openat, AT_FDCWD, f->buf, O_RDONLY);
	return NULL;
}

/* Wait until thread tid sleeps in system call nr. */
static int wait_in_syscall(pid_t tid, int nr)
{
	char path[64], line[256];
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	for (i = 0; i < 3000; i++) {
		FILE *f = fopen(path, "r");
		int ok = 0;

		if (f) {
			ok = fgets(line, sizeof(line), f) && atoi(line) == nr;
			fclose(f);
		}
		if (ok)
			return 0;
		usleep(10000);
	}
	return -1;
}

static pid_t reader_tid;

static void *fifo_reader_tid(void *arg)
{
	__atomic_store_n(&reader_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	return fifo_reader(arg);
}

/* The decoy is written into the path buffer while openat sleeps. */
static int fifo_child(void *arg)
{
	static struct fifo_open f;
	const char *decoy = arg;
	pthread_t t;
	long w;

	snprintf(f.buf, sizeof(f.buf), "%s/fifo", tmpdir);
	if (pthread_create(&t, NULL, fifo_reader_tid, &f))
		return 10;
	while (!__atomic_load_n(&reader_tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (wait_in_syscall(reader_tid, SYS_openat))
		return 11;
	strcpy(f.buf, decoy);
	{
		char fifo[256];

		snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
		w = open(fifo, O_WRONLY);
	}
	if (w < 0)
		return 12;
	pthread_join(t, NULL);
	return f.fd >= 0 ? 0 : 13;
}

struct openscan {
	pid_t pid;
	const char *want;
	__u32 flag;
	int recs, good;
	char why[300];
};

static void open_fn(const struct sagafs_record *r, const char *p0,
		    const char *p1, void *ctx)
{
	struct openscan *o = ctx;

	(void)p1;
	if ((pid_t)r->pid != o->pid || r->tid == r->pid || r->nr != SYS_openat)
		return;
	o->recs++;
	if (r->ret >= 0 && (r->flags & o->flag) &&
	    r->path_len[0] == strlen(o->want) && !memcmp(p0, o->want, r->path_len[0]))
		o->good++;
	else
		snprintf(o->why, sizeof(o->why), "ret %lld flags %#x path0 '%.*s'",
			 (long long)r->ret, r->flags, r->path_len[0], p0);
}

static int t_open_path_resolved(void)
{
	char fifo[256], decoy[256];
	struct sagafs_config c;
	struct child ch;
	struct openscan o = { 0 };

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	snprintf(decoy, sizeof(decoy), "%s/decoy-%d", tmpdir, getpid());
	unlink(fifo);
	CHECK(!mkfifo(fifo, 0600), "mkfifo: %s", strerror(errno));
	drain();
	cfg_default(&c);
	cfg_only(&c, SYS_openat);
	CHECK(!spawn(&ch, fifo_child, decoy, NULL), "spawn");
	EXPECT_OK(enable_only(&c, ch.pid));
	CHECK(finish(&ch) == 0, "child");
	EXPECT_OK(restore_base());
	unlink(fifo);
	o.pid = ch.pid;
	o.want = fifo;
	o.flag = SAGAFS_RF_PATH0_RESOLVED;
	if (preempt_rt()) {
		/* the module cannot resolve: the user copy, flagged so */
		printf("#   PREEMPT_RT: expecting the rewritten copy, SAGAFS_RF_UNRESOLVED\n");
		o.want = decoy;
		o.flag = SAGAFS_RF_UNRESOLVED;
	}
	CHECK(consume(open_fn, &o) >= 0, "framing");
	CHECK(o.recs == 1 && o.good == 1, "records %d resolved %d: %s", o.recs, o.good,
	      o.why);
	return 0;
}

/* ==================================================================== */
/* counting                                                              */

static int fork_child(void *arg)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	long r;
	int i;

	(void)arg;
	for (i = 0; i < 10; i++) {
		pid_t p = fork();

		if (p == 0)
			_exit(0);
		if (p < 0)
			return 10;
		waitpid(p, NULL, 0);
		p = vfork();
		if (p == 0)
			_exit(0);
		if (p < 0)
			return 11;
		waitpid(p, NULL, 0);
		r = syscall(SYS_clone3, &ca, sizeof(ca));
		if (r == 0)
			_exit(0);
		if (r < 0)
			return 12;
		waitpid(r, NULL, 0);
	}
	return 0;
}

struct forkscan {
	pid_t pid;
	int parent[3], child_ret0, other;
};

static void fork_fn(const struct sagafs_record *r, const char *p0,
		    const char *p1, void *ctx)
{
	struct forkscan *f = ctx;
	int k = r->nr == SYS_clone ? 0 : r->nr == SYS_vfork ? 1 :
		r->nr == SYS_clone3 ? 2 : -1;

	(void)p0;
	(void)p1;
	if (k < 0 || r->abi != SAGAFS_ABI_X86_64)
		return;
	if ((pid_t)r->pid == f->pid && r->ret > 0)
		f->parent[k]++;
	else if ((pid_t)r->ppid == f->pid && r->ret == 0)
		f->child_ret0++;
	else if ((pid_t)r->pid == f->pid)
		f->other++;
}

/* The child's first return from fork is not a second call. */
static int t_fork_child_return(void)
{
	struct sagafs_config c;
	struct child ch;
	struct forkscan f = { 0 };

	drain();
	cfg_default(&c);
	memset(c.syscalls, 0, sizeof(c.syscalls));
	bm_set(c.syscalls[SAGAFS_ABI_X86_64], SYS_clone);
	bm_set(c.syscalls[SAGAFS_ABI_X86_64], SYS_vfork);
	bm_set(c.syscalls[SAGAFS_ABI_X86_64], SYS_clone3);
	c.nr_uids = 1;
	c.uids[0] = MARK_UID;
	c.flags |= SAGAFS_CFG_ENABLED;
	CHECK(!spawn(&ch, fork_child, NULL, prep_mark), "spawn");
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child");
	EXPECT_OK(restore_base());
	f.pid = ch.pid;
	CHECK(consume(fork_fn, &f) >= 0, "framing");
	CHECK(f.parent[0] == 10 && f.parent[1] == 10 && f.parent[2] == 10 && !f.other,
	      "parent records clone %d vfork %d clone3 %d other %d", f.parent[0],
	      f.parent[1], f.parent[2], f.other);
	CHECK(f.child_ret0 == 0, "%d records of a child's first return", f.child_ret0);
	return 0;
}

static volatile int sig_seen;

static void on_usr1(int s)
{
	(void)s;
	sig_seen++;
}

static int sigreturn_child(void *arg)
{
	struct sigaction sa;
	int i;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL))
		return 10;
	for (i = 0; i < 10; i++)
		raise(SIGUSR1);
	return sig_seen == 10 ? 0 : 11;
}

struct sigscan {
	pid_t pid;
	int sigret, sigret_ok, minus1;
};

static void sig_fn(const struct sagafs_record *r, const char *p0,
		   const char *p1, void *ctx)
{
	struct sigscan *s = ctx;

	(void)p0;
	(void)p1;
	if ((pid_t)r->pid != s->pid || r->abi != SAGAFS_ABI_X86_64)
		return;
	if (r->nr == SYS_rt_sigreturn) {
		s->sigret++;
		if (r->flags & SAGAFS_RF_NORETURN)
			s->sigret_ok++;
	}
	if (r->nr == -1)
		s->minus1++;
}

/* rt_sigreturn is one call, logged under its own number. */
static int t_rt_sigreturn_once(void)
{
	struct sagafs_config c;
	struct child ch;
	struct sigscan s = { 0 };
	struct sagafs_counts *sl;

	drain();
	cfg_default(&c);
	CHECK(!spawn(&ch, sigreturn_child, NULL, NULL), "spawn");
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_RESET_STATS));
	EXPECT_OK(enable_only(&c, ch.pid));
	CHECK(finish(&ch) == 0, "child");
	EXPECT_OK(restore_base());
	s.pid = ch.pid;
	CHECK(consume(sig_fn, &s) >= 0, "framing");
	CHECK(s.sigret == 10 && s.sigret_ok == 10,
	      "rt_sigreturn records %d (at entry %d), want 10", s.sigret, s.sigret_ok);
	CHECK(s.minus1 == 0, "%d records with nr -1", s.minus1);
	sl = slot_stats();
	CHECK(sl, "stats");
	CHECK(sl[SAGAFS_ABI_X86_64 * SAGAFS_NR_SLOTS + SYS_rt_sigreturn].calls >= 10,
	      "rt_sigreturn counted %llu",
	      (unsigned long long)sl[SAGAFS_ABI_X86_64 * SAGAFS_NR_SLOTS +
				     SYS_rt_sigreturn].calls);
	return 0;
}

struct skipscan {
	pid_t pid;
	int nr;
	int recs, skipped, plain, plain_skipped;
	char why[120];
};

static void skip_fn(const struct sagafs_record *r, const char *p0,
		    const char *p1, void *ctx)
{
	struct skipscan *s = ctx;

	(void)p0;
	(void)p1;
	if ((pid_t)r->pid != s->pid)
		return;
	if (r->nr == s->nr) {
		s->recs++;
		if (r->flags & SAGAFS_RF_SKIPPED)
			s->skipped++;
		else
			snprintf(s->why, sizeof(s->why), "nr %d ret %lld flags %#x",
				 r->nr, (long long)r->ret, r->flags);
	} else if (r->nr == SYS_getuid) {
		s->plain++;
		if (r->flags & SAGAFS_RF_SKIPPED)
			s->plain_skipped++;
	}
}

static int seccomp_child(void *arg)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };
	int i, bad = 0;

	(void)arg;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 10;
	for (i = 0; i < 5; i++) {
		if (syscall(SYS_getppid) != -1 || errno != EPERM)
			bad++;
		syscall(SYS_getuid);
	}
	return bad ? 11 : 0;
}

/* seccomp's SECCOMP_RET_ERRNO: the call never ran and says so. */
static int t_seccomp_skip_flagged(void)
{
	struct sagafs_config c;
	struct child ch;
	struct skipscan s = { .nr = SYS_getppid };
	struct sagafs_counts *sl, *g;
	struct sagafs_stats st;

	drain();
	cfg_default(&c);
	CHECK(!spawn(&ch, seccomp_child, NULL, NULL), "spawn");
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_RESET_STATS));
	EXPECT_OK(enable_only(&c, ch.pid));
	CHECK(finish(&ch) == 0, "child");
	EXPECT_OK(restore_base());
	s.pid = ch.pid;
	CHECK(consume(skip_fn, &s) >= 0, "framing");
	CHECK(s.recs == 5 && s.skipped == 5, "getppid records %d skipped %d: %s",
	      s.recs, s.skipped, s.why);
	CHECK(s.plain == 5 && !s.plain_skipped, "getuid records %d flagged %d", s.plain,
	      s.plain_skipped);
	/* counted: per slot and in total */
	sl = slot_stats();
	CHECK(sl, "stats");
	g = &sl[SAGAFS_ABI_X86_64 * SAGAFS_NR_SLOTS + SYS_getppid];
	CHECK(g->skipped >= 5 && g->skipped <= g->calls, "getppid skipped %llu calls %llu",
	      (unsigned long long)g->skipped, (unsigned long long)g->calls);
	EXPECT_OK(get_stats(&st, NULL, NULL, 0));
	CHECK(st.total.skipped >= g->skipped, "total skipped %llu",
	      (unsigned long long)st.total.skipped);
	CHECK(st.skip_unflagged == 0, "skip_unflagged %llu",
	      (unsigned long long)st.skip_unflagged);
	return 0;
}

static int traced_child(void *arg)
{
	(void)arg;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		return 10;
	raise(SIGSTOP);
	syscall(SYS_getppid);
	syscall(SYS_getuid);
	return 0;
}

/*
 * Run the traced child.  sysemu: resume with PTRACE_SYSEMU (every call is
 * skipped; the child is killed at its second call); otherwise the tracer
 * cancels getppid at its entry stop by setting orig_rax to -1.
 */
static int trace_run(pid_t pid, int sysemu)
{
	struct user_regs_struct regs;
	int st, stops = 0;
	long req = sysemu ? PTRACE_SYSEMU : PTRACE_SYSCALL;

	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
		return -1;
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, PTRACE_O_TRACESYSGOOD))
		return -1;
	for (;;) {
		if (ptrace(req, pid, NULL, NULL))
			return -1;
		if (waitpid(pid, &st, 0) != pid)
			return -1;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return 0;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
			return -1;
		stops++;
		if (sysemu) {
			if (regs.orig_rax == SYS_getppid)
				continue;
			if (stops > 1) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				return 0;
			}
			continue;
		}
		if (regs.orig_rax == SYS_getppid) {
			regs.orig_rax = -1;
			if (ptrace(PTRACE_SETREGS, pid, NULL, &regs))
				return -1;
		}
	}
}

static int tracer_case(int sysemu, int nr)
{
	struct sagafs_config c;
	struct skipscan s = { .nr = nr };
	pid_t pid;
	int r;

	drain();
	cfg_default(&c);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(traced_child(NULL));
	EXPECT_OK(enable_only(&c, pid));
	r = trace_run(pid, sysemu);
	if (r) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	EXPECT_OK(restore_base());
	CHECK(!r, "tracing failed: %s", strerror(errno));
	s.pid = pid;
	CHECK(consume(skip_fn, &s) >= 0, "framing");
	CHECK(s.recs == 1 && s.skipped == 1, "nr %d records %d skipped %d: %s", nr,
	      s.recs, s.skipped, s.why);
	return 0;
}

/* A tracer cancels the call at its entry stop (orig_rax = -1). */
static int t_tracer_skip_flagged(void)
{
	return tracer_case(0, -1);
}

/* PTRACE_SYSEMU: the tracer emulates the call, the kernel skips it. */
static int t_sysemu_skip_flagged(void)
{
	return tracer_case(1, SYS_getppid);
}

/* ==================================================================== */
/* failed SET_CONFIG (fault injecting build)                             */

static const char *fault_sites[] = {
	"conf", "ring", "tp_enter", "tp_exit", "kretprobe",
};

static int set_fault(unsigned int mask)
{
	FILE *f = fopen("/sys/module/sagafs/parameters/fault_mask", "w");
	int r;

	if (!f)
		return -1;
	r = fprintf(f, "%u", mask) < 0;
	return fclose(f) || r ? -1 : 0;
}

static volatile int poller_stop;

static void *poller(void *arg)
{
	struct pollfd pfd = { .fd = *(int *)arg, .events = POLLIN };

	while (!poller_stop)
		poll(&pfd, 1, 1);
	return NULL;
}

/*
 * Every step of turning capture on with new rings fails in turn: the
 * device stays as it was (config, geometry, capture off) and works after.
 */
static int t_failed_set_config_unchanged(void)
{
	struct sagafs_config c, before, after;
	struct sagafs_info i0, i1;
	unsigned int s;
	pthread_t pt;
	int r, e;

	EXPECT_OK(get_config(&before));
	EXPECT_OK(get_info(dev, &i0));
	poller_stop = 0;
	CHECK(!pthread_create(&pt, NULL, poller, &dev), "poller");
	for (s = 0; s < sizeof(fault_sites) / sizeof(fault_sites[0]); s++) {
		CHECK(!set_fault(1U << s), "fault_mask: %s", strerror(errno));
		c = before;
		c.flags |= SAGAFS_CFG_ENABLED;
		c.ring_kb = before.ring_kb * 2;
		c.snaplen = 77;
		errno = 0;
		r = set_config(&c);
		e = errno;
		CHECK(!set_fault(0), "fault_mask");
		EXPECT_OK(get_config(&after));
		EXPECT_OK(get_info(dev, &i1));
		if (r == 0) {
			c.flags &= ~SAGAFS_CFG_ENABLED;
			set_config(&c);
			set_config(&before);
		}
		if (r != -1)
			FAIL("%s: SET_CONFIG succeeded", fault_sites[s]);
		printf("#   %s: %s\n", fault_sites[s], strerror(e));
		if (memcmp(&before, &after, sizeof(after)))
			FAIL("%s: GET_CONFIG changed (flags %#x ring_kb %u snaplen %u)",
			     fault_sites[s], after.flags, after.ring_kb, after.snaplen);
		if (i1.ring_size != i0.ring_size || i1.data_len != i0.data_len)
			FAIL("%s: GET_INFO ring_size %llu, was %llu", fault_sites[s],
			     (unsigned long long)i1.ring_size,
			     (unsigned long long)i0.ring_size);
		/* and it works: on with new rings, off, old rings */
		EXPECT_OK(set_config(&c));
		EXPECT_OK(get_info(dev, &i1));
		CHECK(i1.ring_size == 2 * i0.ring_size, "%s: resize after", fault_sites[s]);
		c.flags &= ~SAGAFS_CFG_ENABLED;
		EXPECT_OK(set_config(&c));
		EXPECT_OK(set_config(&before));
	}
	poller_stop = 1;
	pthread_join(pt, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int faults = argc > 1 && !strcmp(argv[1], "--faults");

	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sagafs-trust-%d", getpid());
	if (mkdir(tmpdir, 0755) && errno != EEXIST) {
		printf("Bail out! mkdir %s\n", tmpdir);
		return 1;
	}
	printf("TAP version 13\n");
	if (open_dev())
		return 1;
	if (get_info(dev, &info) || get_config(&base)) {
		printf("Bail out! GET_INFO/GET_CONFIG: %s\n", strerror(errno));
		return 1;
	}
	if (faults) {
		run("failed_set_config_leaves_device_unchanged",
		    t_failed_set_config_unchanged);
		goto out;
	}
	run("rejected_set_config_not_logged", t_reject_not_logged);
	run("enable_disable_requests_retired", t_enable_disable_retired);
	run("ioctl_larger_struct_served", t_ioctl_larger_struct);
	run("wakeup_bytes_bound", t_wakeup_bytes_bound);
	run("consumer_rdonly_queries_only", t_consumer_rdonly);
	run("consumer_needs_cap_sys_admin", t_consumer_needs_cap);
	run("exclude_self_recycled_pid", t_exclude_self_recycled_pid);
	run("mmap_pgoff_overflow", t_mmap_pgoff_overflow);
	run("mmap_no_exec", t_mmap_no_exec);
	run("ring_enomem_without_oom", t_ring_enomem_no_oom);
	if (reopen_dev() || map_rings()) {
		printf("Bail out! cannot map the rings: %s\n", strerror(errno));
		return 1;
	}
	run("exec_not_evicted_by_other_user", t_exec_not_evicted);
	run("execveat_resolved", t_execveat_resolved);
	run("open_path_resolved_not_rewritten", t_open_path_resolved);
	run("fork_child_return_not_counted", t_fork_child_return);
	run("rt_sigreturn_once", t_rt_sigreturn_once);
	run("seccomp_skip_flagged", t_seccomp_skip_flagged);
	run("tracer_skip_flagged", t_tracer_skip_flagged);
	run("sysemu_skip_flagged", t_sysemu_skip_flagged);
out:
	printf("1..%d\n", nr_run);
	printf("%d passed, %d failed\n", nr_run - nr_failed, nr_failed);
	return nr_failed ? 1 : 0;
}
